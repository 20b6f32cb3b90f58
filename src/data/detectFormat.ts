/**
 * Which reader a data set needs, told from what is there: a folder's layout and file names, a CSV's header;
 * the name is looked at last, only when the content matches no layout.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { ExpnetError } from '../errors.js';
import { parseCkPlusName } from './ckplus48.js';
import { FER2013_CSV_NAMES } from './fer2013.js';
import { parseJaffeName } from './jaffe.js';
import { tryCanonicalLabel } from './labels.js';
import { isImageFile, listDirSync } from './listDir.js';
import { OULU_VARIANTS } from './ouluCasia.js';
import { parseCsvLine } from './parseCsv.js';

/** The data set formats, one per reader (`expnet train|eval|cv --format`). */
export const DATA_FORMATS = ['ckplus48', 'ckplus', 'fer2013', 'ferplus', 'ferplus7', 'jaffe', 'oulu', 'sfew', 'tfd', 'folder', 'csv'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** A detected format and what it was told from (for the user: "sfew (Train/ and Val/ hold expression folders)"). */
export interface Detection {
  format: DataFormat;
  reason: string;
}

const HINT = `pass --format with one of ${DATA_FORMATS.join(', ')}`;
/** Names that decide only when the content matched no layout; folders never become tfd/csv (those are files). */
const NAME_RULES: readonly (readonly [RegExp, DataFormat])[] = [
  [/sfew/, 'sfew'], [/jaffe/, 'jaffe'], [/oulu/, 'oulu'], [/ck(plus|\+)48/, 'ckplus48'], [/ck(plus|\+)/, 'ckplus'],
  [/fer[-_]?2013/, 'fer2013'], [/tfd/, 'tfd'],
];
const OULU_ILLUMINATIONS: readonly string[] = ['Strong', 'Weak', 'Dark'];
/** Image names sampled per class folder to recognise CK+48 / JAFFE naming. */
const NAMES_PER_FOLDER = 3;

/**
 * The format of a data set folder or CSV file, from its content:
 * - a file: its CSV header — `emotion`+`pixels` → fer2013; `label` with `pixels` or `fold1`..`fold5`, or
 *   `path,label` with numeric label codes → tfd; `path,label` → csv;
 * - a folder: `cohn-kanade-images/` → ckplus; `VL|NI/<illumination>/` (also under OriginalImg/, Cropped/) → oulu;
 *   `Val/` (any case) beside `Train/` holding expression folders → sfew; `train/`, `test/` holding class folders
 *   → fer2013; `fer2013.csv` → fer2013; expression folders of `S###_###_########.png` → ckplus48, of JAFFE
 *   names → jaffe, of other images → folder; JAFFE-named images (`KA.AN1.39.tiff`) → jaffe;
 * - otherwise the name (`…sfew…`, `…jaffe…`, `…fer2013…`, …).
 * @throws ExpnetError('NOT_FOUND') when the path does not exist; ExpnetError('BAD_INPUT') listing what was found
 * (folders, files, CSV header) and naming `--format` when nothing matches.
 */
export function detectFormat(input: string): Detection {
  const stat = statSync(input, { throwIfNoEntry: false });
  if (stat === undefined) throw new ExpnetError('NOT_FOUND', `${input}: no such file or folder; expected a data set folder or CSV file`);
  if (stat.isFile() && isImageFile(input)) throw new ExpnetError('BAD_INPUT', `${input}: an image; expected a data set folder or CSV file`);
  const detected = stat.isDirectory() ? fromFolder(input) : fromCsv(input);
  if (detected !== undefined) return detected;
  const name = path.basename(path.resolve(input)).toLowerCase();
  const rule = NAME_RULES.find(([re, format]) => re.test(name) && (stat.isFile() || (format !== 'tfd' && format !== 'csv')));
  if (rule !== undefined) return { format: rule[1], reason: `its name; its content matched no known layout` };
  const expected = stat.isDirectory()
    ? 'expected Train/ and Val/ expression folders (sfew), train/ and test/ class folders or fer2013.csv (fer2013), ' +
      'cohn-kanade-images/ (ckplus), VL|NI/<illumination>/ (oulu), <class>/<image> folders (folder; ckplus48 for ' +
      'S###_###_########.png names), JAFFE names like KA.AN1.39.tiff (jaffe)'
    : 'expected a CSV with header emotion,pixels[,Usage] (fer2013), path,label[,subject,sequence,frame,split] (csv) ' +
      'or label[,subject],pixels|path[,fold1..fold5] (tfd)';
  throw new ExpnetError('BAD_INPUT', `${input}: cannot tell the data set format; found ${stat.isDirectory() ? describeFolder(input) : `CSV header "${shownHeader(input)}"`}; ${expected}; ${HINT}`);
}

/** The first `n` non-blank lines of a text file (reads at most 256 KiB: enough for a header and a FER2013 row). */
function headLines(file: string, n: number): string[] {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 18);
    const got = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, got).toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '').slice(0, n);
  } finally {
    closeSync(fd);
  }
}

/** A file's first line as an error message shows it: printable ASCII, at most 160 characters. */
function shownHeader(file: string): string {
  return (headLines(file, 1)[0] ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 160);
}

function fromCsv(file: string): Detection | undefined {
  const [head = '', row = ''] = headLines(file, 2);
  const header = parseCsvLine(head).map((h) => h.trim().toLowerCase());
  const has = (c: string): boolean => header.includes(c);
  const cols = `CSV header ${header.join(',')}`;
  if (has('emotion') && has('pixels')) return { format: 'fer2013', reason: `${cols}, the FER2013 CSV` };
  if (has('label') && (has('pixels') || header.some((h) => /^fold[1-5]$/.test(h)))) return { format: 'tfd', reason: `${cols}, a TFD export` };
  if (!(has('path') && has('label'))) return undefined;
  const label = parseCsvLine(row)[header.indexOf('label')]?.trim() ?? '';
  if (/^-?\d+$/.test(label)) return { format: 'tfd', reason: `${cols} with label codes like ${label}, a TFD export` };
  if (/tfd/i.test(path.basename(file))) return { format: 'tfd', reason: `${cols} and its name, a TFD export` };
  return { format: 'csv', reason: `${cols}, a manifest` };
}

function isDirSync(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** True when `dir` holds expression folders, directly or below one single subfolder (`Train/Train_Aligned_Faces/`). */
function holdsExpressions(dir: string, depth = 2): boolean {
  const { dirs } = listDirSync(dir);
  if (dirs.some((d) => tryCanonicalLabel(d) !== undefined)) return true;
  const only = dirs.length === 1 ? dirs[0] : undefined;
  return only !== undefined && depth > 0 && holdsExpressions(path.join(dir, only), depth - 1);
}

/** Up to `limit` image file names under `dir` (sorted walk, 3 levels deep at most). */
function someImages(dir: string, limit: number, depth = 3): string[] {
  const { dirs, files } = listDirSync(dir);
  const out = files.filter(isImageFile).slice(0, limit);
  for (const d of dirs) {
    if (out.length >= limit || depth === 0) break;
    out.push(...someImages(path.join(dir, d), limit - out.length, depth - 1));
  }
  return out;
}

const isJaffe = (name: string): boolean => parseJaffeName(name) !== undefined;
const isCkPlus = (name: string): boolean => parseCkPlusName(name).subject !== undefined;

function fromFolder(dir: string): Detection | undefined {
  const { dirs, files } = listDirSync(dir);
  const ck = dirs.find((d) => d === 'cohn-kanade-images' || d === 'extended-cohn-kanade-images');
  if (ck !== undefined) return { format: 'ckplus', reason: `${ck}/, the CK+ layout` };
  for (const variant of OULU_VARIANTS) {
    for (const spectrum of ['VL', 'NI']) {
      const sub = path.join(dir, variant, spectrum);
      if (isDirSync(sub) && listDirSync(sub).dirs.some((d) => OULU_ILLUMINATIONS.includes(d))) {
        return { format: 'oulu', reason: `${path.posix.join(variant, spectrum)}/<illumination>/, the Oulu-CASIA layout` };
      }
    }
  }
  const named = (n: string): string | undefined => dirs.find((d) => d.toLowerCase() === n);
  const [train, val] = [named('train'), named('val')];
  const sfew = [train, val].filter((d): d is string => d !== undefined && holdsExpressions(path.join(dir, d)));
  if (val !== undefined && sfew.length > 0) return { format: 'sfew', reason: `${[train, val].filter(Boolean).join('/ and ')}/ with expression folders, the SFEW 2.0 layout` };
  const fer = ['train', 'test'].filter((d) => dirs.includes(d) && listDirSync(path.join(dir, d)).dirs.some((c) => tryCanonicalLabel(c) !== undefined));
  if (fer.length > 0) return { format: 'fer2013', reason: `${fer.join('/ and ')}/ with class folders, the FER2013 folder form` };
  if (sfew.length > 0) return { format: 'sfew', reason: `${sfew.join('/')}/ with expression folders, the SFEW 2.0 layout` };
  const ferCsv = files.find((f) => FER2013_CSV_NAMES.includes(f));
  if (ferCsv !== undefined) return { format: 'fer2013', reason: `${ferCsv}, the FER2013 CSV` };
  const classes = dirs.filter((d) => tryCanonicalLabel(d) !== undefined);
  if (classes.length > 0) {
    const names = classes.flatMap((c) => someImages(path.join(dir, c), NAMES_PER_FOLDER));
    const shown = `class folders ${classes.slice(0, 3).join(', ')}${classes.length > 3 ? ', …' : ''}`;
    if (names.length > 0 && names.every(isCkPlus)) return { format: 'ckplus48', reason: `${shown} of S###_###_########.png frames, CK+48` };
    if (names.length > 0 && names.every(isJaffe)) return { format: 'jaffe', reason: `${shown} of JAFFE-named images` };
    return { format: 'folder', reason: shown };
  }
  const images = someImages(dir, 4 * NAMES_PER_FOLDER);
  if (images.length > 0 && images.every(isJaffe)) return { format: 'jaffe', reason: `JAFFE-named images like ${images[0] ?? ''}` };
  return undefined;
}

/** A few of a folder's entries, and the header of its first CSV, for an error message. */
function describeFolder(dir: string): string {
  const { dirs, files } = listDirSync(dir);
  const few = (xs: readonly string[], suffix = ''): string => xs.slice(0, 6).map((x) => x + suffix).join(', ') + (xs.length > 6 ? ` (+${xs.length - 6} more)` : '');
  const parts: string[] = [];
  if (dirs.length > 0) parts.push(`folders ${few(dirs, '/')}`);
  if (files.length > 0) parts.push(`files ${few(files)}`);
  const csv = files.find((f) => f.toLowerCase().endsWith('.csv'));
  if (csv !== undefined) parts.push(`${csv} header "${shownHeader(path.join(dir, csv))}"`);
  return parts.length > 0 ? parts.join('; ') : 'an empty folder';
}
