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
}

/**
 * Reads a CSV manifest: required columns `path,label`; optional `subject`, `sequence`, `frame` (integer),
 * `split` (or `usage`). Paths are relative to the CSV's folder, which becomes the data set's root; a path that
 * leads outside it (`../x.png`, `/etc/passwd`) is an error.
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
  }
  return {
    name: options.name ?? path.basename(root),
    root,
    labels: options.labels ?? presentLabels(samples),
    samples,
  };
}
