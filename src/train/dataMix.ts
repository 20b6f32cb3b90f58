/**
 * Several data sets in one training run: each entry is read, its labels mapped onto the 7 basic classes
 * (BASIC7_LABELS; CK+ contempt has none and is dropped, said in the log), its official test split set aside
 * (FER2013 PublicTest/`test/`, SFEW `Val/`; PrivateTest is never read), and a validation part carved from the
 * rest of each labelled set — by subject where the set has subjects (CK+ people, SFEW movies), else stratified
 * by label. Unlabelled entries give faces for stage (a) only: all their non-test faces, no validation.
 */
import { restrictLabels, type DataSet } from '../data/dataSet.js';
import { BASIC7_LABELS } from '../data/labels.js';
import { ExpnetError } from '../errors.js';
import type { TrainConfig } from './config.js';
import { readUnlabelledFolder } from '../data/unlabelledFolder.js';
import { DATA_FORMATS, officialSplit, readDataSet, validationSplit, type DataFormat } from './experiment.js';

/** A data set reader's format, or 'unlabelled': a plain folder of face images (src/data/unlabelledFolder.ts). */
export type EntryFormat = DataFormat | 'unlabelled';
export const ENTRY_FORMATS: readonly EntryFormat[] = [...DATA_FORMATS, 'unlabelled'];

/** One data set of a mix, as given (CLI `--data`/`--format`/`--weight`, or a `data` list in the config file). */
export interface DataEntry {
  path: string;
  /** Default: detected from the content by the caller. */
  format?: EntryFormat;
  /** Sampling weight: an epoch draws from the set in proportion to weight × size (default 1). */
  weight?: number;
  /** False: the faces are used without their labels, by stage (a) only (default: true, false for format 'unlabelled'). */
  labelled?: boolean;
}

export type ResolvedEntry = DataEntry & { format: EntryFormat };

/** Reads an entry's data set. */
export function readEntry(format: EntryFormat, root: string, warn?: (text: string) => void): Promise<DataSet> {
  return format === 'unlabelled' ? readUnlabelledFolder(root) : readDataSet(format, root, warn);
}

export const DATA_ENTRY_KEYS: readonly string[] = ['path', 'format', 'weight', 'labelled'];

export interface MixPart {
  name: string;
  path: string;
  format: EntryFormat;
  weight: number;
  labelled: boolean;
  /** Labelled: mapped onto BASIC7_LABELS (other labels dropped); unlabelled: as read. */
  ds: DataSet;
  /** Samples dropped because their label is none of the 7 basic classes, per label. */
  dropped: Record<string, number>;
  /** Sample indices into `ds.samples`. */
  train: number[];
  validation: number[];
  test: number[];
  testName: string | null;
}

/** Checks an entry of a config file's `data` list (unknown keys and wrong types are errors naming the entry). */
export function checkDataEntry(raw: unknown, where: string): DataEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ExpnetError('BAD_CONFIG', `${where}: expected { path, format?, weight?, labelled? }, got ${JSON.stringify(raw)}`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!DATA_ENTRY_KEYS.includes(k)) throw new ExpnetError('BAD_CONFIG', `${where}.${k}: unknown option (known: ${DATA_ENTRY_KEYS.join(', ')})`);
  if (typeof o['path'] !== 'string' || o['path'] === '') throw new ExpnetError('BAD_CONFIG', `${where}.path: expected a folder or file, got ${JSON.stringify(o['path'])}`);
  if (o['format'] !== undefined && typeof o['format'] !== 'string') throw new ExpnetError('BAD_CONFIG', `${where}.format: expected a string, got ${JSON.stringify(o['format'])}`);
  if (o['weight'] !== undefined && !(typeof o['weight'] === 'number' && o['weight'] >= 0)) throw new ExpnetError('BAD_CONFIG', `${where}.weight: expected a number ≥ 0, got ${JSON.stringify(o['weight'])}`);
  if (o['labelled'] !== undefined && typeof o['labelled'] !== 'boolean') throw new ExpnetError('BAD_CONFIG', `${where}.labelled: expected true or false, got ${JSON.stringify(o['labelled'])}`);
  return o as unknown as DataEntry;
}

/** Reads, maps and splits every entry (formats resolved by the caller); names are made unique (`sfew`, `sfew#2`). */
export async function readMix(entries: readonly ResolvedEntry[], cfg: TrainConfig, warn?: (text: string) => void): Promise<MixPart[]> {
  if (entries.length === 0) throw new ExpnetError('BAD_CONFIG', 'no data set given (--data or a data list in the config)');
  const parts: MixPart[] = [];
  const names = new Set<string>();
  for (const e of entries) {
    const read = await readEntry(e.format, e.path, warn);
    const labelled = e.labelled ?? !read.unlabelled;
    if (labelled && read.unlabelled) throw new ExpnetError('BAD_CONFIG', `${e.path}: format 'unlabelled' has no labels (labelled: true is not possible)`);
    let name = read.name;
    for (let k = 2; names.has(name); k++) name = `${read.name}#${k}`;
    names.add(name);
    const dropped: Record<string, number> = {};
    if (labelled) for (const s of read.samples) if (!BASIC7_LABELS.includes(s.label)) dropped[s.label] = (dropped[s.label] ?? 0) + 1;
    const ds = labelled ? restrictLabels(read, BASIC7_LABELS) : read;
    const { train, test, testName } = officialSplit(ds);
    if (train.length === 0) throw new ExpnetError('BAD_INPUT', `${e.path}: no training samples (only test splits)`);
    let v: { train: number[]; validation: number[] } = { train, validation: [] };
    try {
      if (labelled) v = validationSplit(ds, train, cfg, cfg.seed);
    } catch (err) {
      throw new ExpnetError('BAD_INPUT', `${e.path}: ${(err as Error).message}`, { cause: err });
    }
    parts.push({ name, path: e.path, format: e.format, weight: e.weight ?? 1, labelled, ds, dropped, train: v.train, validation: v.validation, test: labelled ? test : [], testName: labelled ? testName : null });
  }
  if (!parts.some((p) => p.labelled)) throw new ExpnetError('BAD_CONFIG', `no labelled data set among ${parts.map((p) => p.path).join(', ')}: teacher fine-tuning and stage (b) need labels`);
  return parts;
}

/** One line per part for the log: sizes, weight, dropped labels. */
export function describePart(p: MixPart): string {
  const dropped = Object.entries(p.dropped).map(([l, n]) => `${n} ${l} dropped (no basic-7 class)`);
  const sizes = p.labelled
    ? `train ${p.train.length}, validation ${p.validation.length}${p.testName ? `, ${p.testName} ${p.test.length} (test only)` : ''}`
    : `${p.train.length} unlabelled faces (stage (a) only)`;
  return `${p.name} (${p.format}, weight ${p.weight}): ${sizes}${dropped.length ? `; ${dropped.join(', ')}` : ''}`;
}
