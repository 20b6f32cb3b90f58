/**
 * Command-line image arguments → files: plain files, folders (recursive, symlinked folders followed), globs
 * (tinyglobby: `*`, `**`, `?`, `{a,b}`, `[12]`) and `-` (an image on stdin). Only regular files are listed;
 * what cannot be read (a folder or file without permission, a symlink loop, a FIFO or device) is reported as a
 * problem and skipped, and the rest is still listed.
 */
import { accessSync, constants, lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { compareNames, isImageFile } from '../data/listDir.js';
import { fsReason } from '../errors.js';
import { isVideoFile } from './videoFiles.js';

/** The argument that stands for an image on stdin. */
export const STDIN = '-';

/** An entry that was found but cannot be read: reported as a row, skipped. */
export interface InputProblem {
  path: string;
  reason: string;
}

export interface ExpandedInputs {
  /** Regular image files (and STDIN where given), in argument order; folders and globs sorted, no duplicates. */
  files: string[];
  /** Arguments naming nothing (no such file, no match). */
  missing: string[];
  /** Folders that hold no image. */
  empty: string[];
  problems: InputProblem[];
}

export interface ExpandOptions {
  /**
   * The --annotate folder: the annotated copies an earlier run wrote there (`*.annotated.png` under it) are left
   * out of folder and glob listings; its other files are inputs like any (it may be the input folder itself).
   */
  exclude?: string;
}

/** The name ending of an annotated copy (`predict --annotate`, src/cli/predictOutput.ts `annotatedPaths`). */
export const ANNOTATED_SUFFIX = '.annotated.png';

/** Why a regular file cannot be opened for reading, or null (a FIFO, a device, a socket are not files). */
export function fileProblem(path: string): string | null {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    return statReason(path, err);
  }
  if (!st.isFile()) return notRegular(st);
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    return fsReason(err);
  }
  return null;
}

function notRegular(st: Stats): string {
  const kind = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a special file';
  return `not a regular file (${kind})`;
}

function statReason(path: string, err: unknown): string {
  const c = (err as { code?: unknown }).code;
  if (c === 'ELOOP') return 'symlink loop';
  if (c === 'ENOENT') {
    try {
      if (lstatSync(path).isSymbolicLink()) return 'broken symlink (its target does not exist)';
    } catch {
      // not there at all
    }
  }
  return fsReason(err);
}

/** The leading folders of a glob that hold no magic characters, and the rest. */
function splitGlob(glob: string): { base: string; pattern: string } {
  const parts = glob.split('/');
  let k = 0;
  while (k < parts.length - 1 && !isDynamicPattern(parts[k] as string)) k++;
  const base = parts.slice(0, k).join('/');
  return { base: base === '' && glob.startsWith('/') ? '/' : base || '.', pattern: parts.slice(k).join('/') };
}

/** Files matching `pattern` under `base` and the folders met on the way that cannot be read. */
function list(base: string, pattern: string, images: boolean, out: ExpandedInputs, exclude: string | null): string[] {
  // tinyglobby lists regular files and symlinks to them, skips FIFOs and sockets, and ignores unreadable folders
  const hits = globSync([pattern], { cwd: base, onlyFiles: true, followSymbolicLinks: true, dot: false, expandDirectories: false });
  const dirs = images ? globSync(['**/'], { cwd: base, onlyDirectories: true, followSymbolicLinks: true, dot: false }) : [];
  for (const d of dirs) {
    const p = join(base, d);
    try {
      accessSync(p, constants.R_OK | constants.X_OK);
    } catch (err) {
      out.problems.push({ path: p.replace(/\/$/, ''), reason: `cannot read folder: ${fsReason(err)}` });
    }
  }
  const files: string[] = [];
  for (const h of hits.sort(compareNames)) {
    const p = base === '.' ? h : join(base, h);
    if (images && !isImageFile(h) && !isVideoFile(h)) continue;
    if (exclude !== null && h.endsWith(ANNOTATED_SUFFIX) && resolve(p).startsWith(exclude)) continue;
    const why = fileProblem(p);
    if (why === null) files.push(p);
    else out.problems.push({ path: p, reason: why });
  }
  return files;
}

/** Expands the arguments; missing paths, empty folders and unreadable entries are returned, not thrown. */
export function expandInputs(args: readonly string[], options: ExpandOptions = {}): ExpandedInputs {
  const out: ExpandedInputs = { files: [], missing: [], empty: [], problems: [] };
  const exclude = options.exclude !== undefined ? resolve(options.exclude) + sep : null;
  const seen = new Set<string>();
  const add = (files: readonly string[]): void => {
    for (const f of files) {
      let key = f;
      try {
        key = realpathSync(f);
      } catch {
        // reported when opened
      }
      if (!seen.has(key)) out.files.push(f);
      seen.add(key);
    }
  };
  for (const a of args) {
    if (a === STDIN) {
      out.files.push(STDIN);
      continue;
    }
    let st: Stats | null = null;
    try {
      st = statSync(a);
    } catch (err) {
      const c = (err as { code?: unknown }).code;
      if (!isDynamicPattern(a) || c !== 'ENOENT') {
        if (c === 'ENOENT' && statReason(a, err) === fsReason(err)) out.missing.push(a);
        else out.problems.push({ path: a, reason: statReason(a, err) });
        continue;
      }
    }
    if (st === null) {
      const { base, pattern } = splitGlob(a.startsWith('./') ? a.slice(2) : a);
      const hits = list(base, pattern, false, out, exclude);
      if (hits.length === 0) out.missing.push(a);
      add(hits);
    } else if (st.isDirectory()) {
      const before = out.problems.length;
      const hits = list(a, '**/*', true, out, exclude);
      if (hits.length === 0 && out.problems.length === before) out.empty.push(a);
      add(hits);
    } else if (st.isFile()) add([a]);
    else out.problems.push({ path: a, reason: notRegular(st) });
  }
  return out;
}

/** `path` relative to the working folder when inside it (shorter rows), else as given. */
export function shortPath(path: string): string {
  const r = relative('.', path);
  return r.startsWith('..') ? path : r;
}
