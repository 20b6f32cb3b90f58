/**
 * FER+ (Barsoum et al., ICMI 2016): ten crowd votes per FER2013 image, read from a `ferplus.csv` joined onto a
 * FER2013 image folder (columns `path`, `ferplus` = the majority label or '' when tied or unknown/NF, and the vote
 * counts `neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF`).
 * Each sample's label is the majority; its `votes` (unknown/NF left out) are the soft target of distribution
 * training (TrainConfig.labelTargets). Images without a majority are dropped, counted in the data set's `dropped`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ExpnetError } from '../errors.js';
import type { DataSet, Sample } from './dataSet.js';
import { BASIC7_LABELS, canonicalLabel, type ExpressionLabel } from './labels.js';
import { columnIndex, parseCsv } from './parseCsv.js';
import { isFile } from './listDir.js';

/** FER+'s eight classes, in canonical label order (contempt included). */
export const FERPLUS_LABELS: readonly ExpressionLabel[] = ['anger', 'contempt', 'disgust', 'fear', 'happy', 'neutral', 'sadness', 'surprise'];
/** The vote columns that name an expression, with their canonical label. */
const VOTE_COLUMNS: readonly (readonly [string, ExpressionLabel])[] = [
  ['neutral', 'neutral'], ['happiness', 'happy'], ['surprise', 'surprise'], ['sadness', 'sadness'],
  ['anger', 'anger'], ['disgust', 'disgust'], ['fear', 'fear'], ['contempt', 'contempt'],
];
export const FERPLUS_FILE = 'ferplus.csv';

export interface FerPlusOptions {
  /** Keep contempt as an 8th class (default true); without it, contempt-majority images are dropped and contempt votes ignored. */
  contempt?: boolean;
}

/** Where `root` (the FER2013 folder holding ferplus.csv, or the CSV itself) keeps its vote file. */
async function csvOf(root: string): Promise<string> {
  const abs = path.resolve(root);
  if (abs.toLowerCase().endsWith('.csv')) return abs;
  const inside = path.join(abs, FERPLUS_FILE);
  if (await isFile(inside)) return inside;
  throw new ExpnetError('NOT_FOUND', `${abs}: expected ${FERPLUS_FILE} (FER+ votes joined onto FER2013's train/ and test/ images) in this folder, or the CSV file itself`);
}

/** The FER2013 split of a row's image: its file-name prefix, else its folder (train/ → Training, test/ → PublicTest). */
function splitOf(rel: string): string {
  const m = /^(Training|PublicTest|PrivateTest)_/.exec(path.posix.basename(rel));
  if (m?.[1] !== undefined) return m[1];
  return rel.startsWith('test/') ? 'PublicTest' : 'Training';
}

/**
 * Reads FER+ labels onto FER2013's images (FERPLUS_LABELS, or BASIC7_LABELS without contempt).
 * @throws ExpnetError('NOT_FOUND') without the CSV; ExpnetError('BAD_LABEL_FILE') naming file:line for a missing
 * column, a vote that is not a count ≥ 0, a majority that names no class, or a path that leaves the folder.
 */
export async function readFerPlus(root: string, options: FerPlusOptions = {}): Promise<DataSet & { dropped: Record<string, number> }> {
  const file = await csvOf(root);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    throw new ExpnetError('NOT_FOUND', `cannot read ${file}: expected FER+ votes (${FERPLUS_FILE})`, { cause });
  }
  const table = parseCsv(text, file);
  const pathCol = columnIndex(table.header, 'path', file, true) as number;
  const majorityCol = columnIndex(table.header, 'ferplus', file, true) as number;
  const votes = VOTE_COLUMNS.map(([name, label]) => [columnIndex(table.header, name, file, true) as number, label] as const);
  const contempt = options.contempt ?? true;
  const labels = contempt ? FERPLUS_LABELS : BASIC7_LABELS;
  const dataRoot = path.dirname(file);
  const samples: Sample[] = [];
  const dropped: Record<string, number> = {};
  for (const row of table.rows) {
    const where = `${file}:${row.line}`;
    const rel = (row.fields[pathCol] ?? '').trim();
    if (rel === '' || path.isAbsolute(rel) || path.posix.normalize(rel).startsWith('..')) {
      throw new ExpnetError('BAD_LABEL_FILE', `${where}: path ${JSON.stringify(rel)} must be a file inside ${dataRoot}`);
    }
    const v: Partial<Record<ExpressionLabel, number>> = {};
    for (const [col, label] of votes) {
      const raw = (row.fields[col] ?? '').trim();
      const n = Number(raw);
      if (raw === '' || !Number.isInteger(n) || n < 0) throw new ExpnetError('BAD_LABEL_FILE', `${where}: vote count for ${label} must be an integer ≥ 0, got ${JSON.stringify(raw)}`);
      if (contempt || label !== 'contempt') v[label] = n;
    }
    const majority = (row.fields[majorityCol] ?? '').trim();
    if (majority === '') {
      dropped['no majority'] = (dropped['no majority'] ?? 0) + 1;
      continue;
    }
    const label = canonicalLabel(majority, where);
    if (!labels.includes(label)) {
      dropped[label] = (dropped[label] ?? 0) + 1;
      continue;
    }
    samples.push({ path: rel, label, split: splitOf(rel), votes: v });
  }
  return { name: contempt ? 'ferplus' : 'ferplus7', root: dataRoot, labels, samples, dropped };
}

/**
 * The soft target of a sample over `labels`: its votes normalised to sum 1 (votes for other labels ignored), or
 * one-hot on its label when it has no votes (or none for these labels).
 */
export function softTarget(sample: Pick<Sample, 'label' | 'votes'>, labels: readonly ExpressionLabel[], out: Float32Array, offset: number): void {
  let total = 0;
  if (sample.votes) for (const l of labels) total += sample.votes[l] ?? 0;
  labels.forEach((l, c) => {
    out[offset + c] = total > 0 ? (sample.votes?.[l] ?? 0) / total : l === sample.label ? 1 : 0;
  });
}
