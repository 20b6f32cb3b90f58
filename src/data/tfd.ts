import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ExpnetError } from '../errors.js';
import type { DataSet, Sample } from './dataSet.js';
import { TFD_LABELS, canonicalLabel, type ExpressionLabel } from './labels.js';
import { columnIndex, parseCsv } from './parseCsv.js';
import { parsePixels } from './parsePixels.js';

export interface TfdOptions {
  /** Official fold 1..5 whose assignment becomes `Sample.split` (default 1). */
  fold?: number;
}

/** TFD fold codes (the `folds` matrix of TFD_48x48.mat): 0 unused, 1 train, 2 valid, 3 test. */
const FOLD_SPLITS: readonly (string | undefined)[] = [undefined, 'train', 'valid', 'test'];

function tfdLabel(raw: string, where: string): ExpressionLabel | undefined {
  if (/^-?\d+$/.test(raw)) {
    const code = Number(raw);
    if (code <= 0) return undefined; // -1 / 0: unlabelled image
    const label = TFD_LABELS[code - 1];
    if (label === undefined) throw new ExpnetError('BAD_LABEL_FILE', `${where}: expected label code 1..7 (or -1 unlabelled), found ${raw}`);
    return label;
  }
  return canonicalLabel(raw, where);
}

/**
 * Reads the Toronto Face Database from a CSV export of its .mat (`images`, `labs_ex`, `labs_id`, `folds`),
 * since the .mat itself is not parsed. Accepted CSV (header names case-insensitive):
 * - `label`: labs_ex code 1..7 = anger, disgust, fear, happy, sad, surprise, neutral (TFD_LABELS), or a label
 *   name; -1/0 = unlabelled → row skipped;
 * - `subject` (optional): labs_id;
 * - either `path` (image file relative to the CSV) or `pixels` (space-separated square 8-bit gray image);
 * - `fold1`..`fold5` (optional): 0 unused, 1 train, 2 valid, 3 test. The chosen fold's value becomes
 *   split 'train'|'valid'|'test'; rows with 0 in it are skipped. Without fold columns, split is unset.
 * Pixel samples get the locator `<csv name>:<line>` as path.
 */
export async function readTfd(csvFile: string, options: TfdOptions = {}): Promise<DataSet> {
  const abs = path.resolve(csvFile);
  const fold = options.fold ?? 1;
  if (!Number.isInteger(fold) || fold < 1 || fold > 5) throw new ExpnetError('BAD_CONFIG', `fold: expected 1..5, got ${fold}`);
  const text = await fs.readFile(abs, 'utf8').catch((cause: unknown) => {
    throw new ExpnetError('NOT_FOUND', `cannot read ${abs}: expected the TFD CSV`, { cause });
  });
  const table = parseCsv(text, abs);
  const h = table.header;
  const col = {
    label: columnIndex(h, 'label', abs, true),
    subject: columnIndex(h, 'subject', abs, false),
    path: columnIndex(h, 'path', abs, false),
    pixels: columnIndex(h, 'pixels', abs, false),
    fold: columnIndex(h, `fold${fold}`, abs, false),
  };
  if (col.path === undefined && col.pixels === undefined) {
    throw new ExpnetError('BAD_LABEL_FILE', `${abs}:1: expected a 'path' or a 'pixels' column, found ${h.join(',')}`);
  }
  const samples: Sample[] = [];
  for (const row of table.rows) {
    const where = `${abs}:${row.line}`;
    const get = (i: number | undefined): string => (i === undefined ? '' : (row.fields[i] ?? '').trim());
    const label = tfdLabel(get(col.label), where);
    if (label === undefined) continue;
    let split: string | undefined;
    if (col.fold !== undefined) {
      const code = get(col.fold);
      if (!/^[0-3]$/.test(code)) throw new ExpnetError('BAD_LABEL_FILE', `${where}: fold${fold} must be 0..3, found ${JSON.stringify(code)}`);
      split = FOLD_SPLITS[Number(code)];
      if (split === undefined) continue;
    }
    const file = get(col.path);
    const sample: Sample = file !== ''
      ? { path: file, label }
      : { path: `${path.basename(abs)}:${row.line}`, label, pixels: parsePixels(get(col.pixels), where) };
    const subject = get(col.subject);
    if (subject !== '') sample.subject = subject;
    if (split !== undefined) sample.split = split;
    samples.push(sample);
  }
  return { name: 'tfd', root: path.dirname(abs), labels: TFD_LABELS, samples };
}
