import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ExpnetError } from '../errors.js';
import type { DataSet, Sample } from './dataSet.js';
import { canonicalLabel, presentLabels, type ExpressionLabel } from './labels.js';
import { columnIndex, parseCsv } from './parseCsv.js';

export interface CsvManifestOptions {
  /** Data set name (default: the CSV's folder name). */
  name?: string;
  /** Class order; default: the labels present, alphabetical. A label outside it is an error. */
  labels?: readonly ExpressionLabel[];
  /** Told about rows dropped as duplicates (the same image as an earlier row). */
  warn?: (text: string) => void;
}

/**
 * Reads a CSV manifest: required columns `path,label`; optional `subject`, `sequence`, `frame` (integer),
 * `split` (or `usage`). Paths are relative to the CSV's folder, which becomes the data set's root; a path that
 * leads outside it (`../x.png`, `/etc/passwd`, or a symlink whose target is outside) is an error.
 * A row naming the same image as an earlier row (by real path) is dropped with a warning: a duplicate could
 * otherwise land on both sides of a training/validation split.
 * Labels go through the synonym map (angry → anger, ...).
 * @throws ExpnetError('BAD_LABEL_FILE') naming file and line for a bad label, frame or field count.
 */
export async function readCsvManifest(csvFile: string, options: CsvManifestOptions = {}): Promise<DataSet> {
  let text: string;
  try {
    text = await fs.readFile(csvFile, 'utf8');
  } catch (cause) {
    throw new ExpnetError('NOT_FOUND', `cannot read manifest ${csvFile}: expected a CSV file`, { cause });
  }
  const table = parseCsv(text, csvFile);
  const h = table.header;
  const col = {
    path: columnIndex(h, 'path', csvFile, true),
    label: columnIndex(h, 'label', csvFile, true),
    subject: columnIndex(h, 'subject', csvFile, false),
    sequence: columnIndex(h, 'sequence', csvFile, false),
    frame: columnIndex(h, 'frame', csvFile, false),
    split: columnIndex(h, 'split', csvFile, false) ?? columnIndex(h, 'usage', csvFile, false),
  };
  const allowed = options.labels === undefined ? undefined : new Set(options.labels);
  const root = path.dirname(path.resolve(csvFile));
  const samples: Sample[] = [];
  const lines: string[] = [];
  for (const row of table.rows) {
    const where = `${csvFile}:${row.line}`;
    const get = (i: number | undefined): string | undefined => {
      const v = i === undefined ? undefined : row.fields[i]?.trim();
      return v === '' ? undefined : v;
    };
    const file = get(col.path);
    if (file === undefined) throw new ExpnetError('BAD_LABEL_FILE', `${where}: empty 'path' field`);
    const label = canonicalLabel(get(col.label) ?? '', where);
    if (allowed !== undefined && !allowed.has(label)) {
      throw new ExpnetError('BAD_LABEL_FILE', `${where}: label '${label}' is not one of ${[...allowed].join(', ')}`);
    }
    const rel = file.split('\\').join('/');
    const inside = path.relative(root, path.resolve(root, rel));
    if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
      throw new ExpnetError('BAD_LABEL_FILE', `${where}: path ${JSON.stringify(file)} is outside the manifest's folder ${root} (image paths are relative to it and stay inside it)`);
    }
    const sample: Sample = { path: rel, label };
    const subject = get(col.subject);
    if (subject !== undefined) sample.subject = subject;
    const sequence = get(col.sequence);
    if (sequence !== undefined) sample.sequence = sequence;
    const split = get(col.split);
    if (split !== undefined) sample.split = split;
    const frame = get(col.frame);
    if (frame !== undefined) {
      if (!/^\d+$/.test(frame)) {
        throw new ExpnetError('BAD_LABEL_FILE', `${where}: 'frame' must be a non-negative integer, found ${JSON.stringify(frame)}`);
      }
      sample.frame = Number(frame);
    }
    samples.push(sample);
    lines.push(where);
  }
  const unique = await uniqueInside(samples, lines, root, options.warn);
  return {
    name: options.name ?? path.basename(root),
    root,
    labels: options.labels ?? presentLabels(unique),
    samples: unique,
  };
}

/** Real path of `p`, or null when it cannot be resolved (missing, a loop: the loader reports those). */
async function real(p: string): Promise<string | null> {
  try {
    return await fs.realpath(p);
  } catch {
    return null;
  }
}

/** The samples with every existing image really inside `root` (symlinks followed) and each image once. */
async function uniqueInside(samples: Sample[], lines: readonly string[], root: string, warn?: (text: string) => void): Promise<Sample[]> {
  const realRoot = (await real(root)) ?? root;
  const reals: (string | null)[] = [];
  for (let i = 0; i < samples.length; i += 256) reals.push(...(await Promise.all(samples.slice(i, i + 256).map((s) => real(path.resolve(root, s.path))))));
  const seen = new Map<string, number>();
  const out: Sample[] = [];
  const dropped: string[] = [];
  let conflicts = 0;
  samples.forEach((s, i) => {
    const r = reals[i] ?? null;
    const inside = r === null ? '' : path.relative(realRoot, r);
    if (r !== null && (inside === '' || inside.startsWith('..') || path.isAbsolute(inside))) {
      throw new ExpnetError('BAD_LABEL_FILE', `${lines[i]}: path ${JSON.stringify(s.path)} is outside the manifest's folder ${root}: a symlink leads to ${r} (image paths stay inside the folder)`);
    }
    const key = r ?? path.resolve(root, s.path);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      out.push(s);
      return;
    }
    dropped.push(`${lines[i]} (as ${lines[first]})`);
    if (samples[first]?.label !== s.label) conflicts++;
  });
  if (dropped.length > 0) {
    warn?.(`${dropped.length} duplicate row(s) dropped, each naming the same image as an earlier row (the first row is kept${conflicts > 0 ? `; ${conflicts} of them had another label` : ''}): ${dropped.slice(0, 3).join(', ')}${dropped.length > 3 ? ', …' : ''}`);
  }
  return out;
}
