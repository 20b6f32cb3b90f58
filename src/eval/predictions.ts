/**
 * A classifier's predictions over (part of) a data set, in the classifier's label order; the unit that
 * metrics, calibration, galleries and paired comparisons are computed from, and that `eval` saves as JSON.
 */
import { readFileSync } from 'node:fs';
import type { DataSet } from '../data/dataSet.js';
import { ExpnetError } from '../errors.js';
import { loadImageSet, type ImageSet } from '../train/imageSet.js';
import type { ExpressionClassifier } from './classifier.js';

export interface Predictions {
  model: string;
  dataSet: string;
  /** Class index → label (the model's order). */
  labels: string[];
  /** Per row: true class index in `labels`. */
  truth: Int32Array;
  /** Per row: probability per label. */
  probs: Float32Array[];
  /** Per row: sample path (relative to the data set root); pairs rows across models. */
  paths: string[];
}

export interface DataSetPredictions {
  predictions: Predictions;
  /** The decoded inputs, row-aligned with the predictions (for thumbnails). */
  images: ImageSet;
  /** Samples left out because their class is not one of the model's labels, per label. */
  dropped: Record<string, number>;
}

/** Decodes the chosen samples at the classifier's input size and predicts them; samples of classes the model lacks are dropped. */
export async function predictDataSet(
  clf: ExpressionClassifier,
  ds: DataSet,
  indices: readonly number[],
  onWarn?: (message: string) => void,
): Promise<DataSetPredictions> {
  const dropped: Record<string, number> = {};
  const keep = indices.filter((i) => {
    const label = ds.samples[i]?.label ?? '';
    if (clf.labels.includes(label)) return true;
    dropped[label] = (dropped[label] ?? 0) + 1;
    return false;
  });
  const { size, channels } = clf.input;
  const images = await loadImageSet(ds, keep, { channels: channels as 1 | 3, height: size, width: size }, onWarn ? (m) => onWarn(m) : undefined);
  const probs = await clf.predict(images.x, images.y.length);
  const truth = Int32Array.from(images.y, (y) => clf.labels.indexOf(ds.labels[y] ?? ''));
  const paths = images.sampleIndex.map((i) => ds.samples[i]?.path ?? String(i));
  return { predictions: { model: clf.name, dataSet: ds.name, labels: [...clf.labels], truth, probs, paths }, images, dropped };
}

/** Per row: is the arg-max the true class? */
export function correctness(p: Predictions): boolean[] {
  return p.probs.map((row, i) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) if ((row[c] ?? 0) > (row[best] ?? 0)) best = c;
    return best === p.truth[i];
  });
}

/** The JSON form (`predictions.json`): labels and one {path, truth, probs} row per sample. */
export function predictionsToJson(p: Predictions): object {
  return {
    model: p.model,
    dataSet: p.dataSet,
    labels: p.labels,
    rows: p.paths.map((path, i) => ({ path, truth: p.labels[p.truth[i] ?? 0], probs: Array.from(p.probs[i] ?? [], (v) => Number(v.toFixed(6))) })),
  };
}

interface JsonRow {
  path: string;
  truth: string;
  probs: number[];
}

/** Reads a predictions file (ours, or a peer's written in the same form) and checks every row. */
export function readPredictions(file: string): Predictions {
  let raw: { model?: unknown; dataSet?: unknown; labels?: unknown; rows?: unknown };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw;
  } catch (err) {
    throw new ExpnetError('BAD_INPUT', `${file}: not a readable JSON predictions file (${(err as Error).message})`, { cause: err });
  }
  const labels = raw.labels;
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string') || !Array.isArray(raw.rows)) {
    throw new ExpnetError('BAD_INPUT', `${file}: expected {labels: string[], rows: [{path, truth, probs}]}`);
  }
  const rows = raw.rows as JsonRow[];
  rows.forEach((r, i) => {
    if (typeof r.path !== 'string' || !labels.includes(r.truth) || !Array.isArray(r.probs) || r.probs.length !== labels.length) {
      throw new ExpnetError('BAD_INPUT', `${file}: row ${i + 1} must be {path, truth: one of the labels, probs: ${labels.length} numbers}`);
    }
  });
  return {
    model: typeof raw.model === 'string' ? raw.model : file,
    dataSet: typeof raw.dataSet === 'string' ? raw.dataSet : '',
    labels: labels as string[],
    truth: Int32Array.from(rows, (r) => (labels as string[]).indexOf(r.truth)),
    probs: rows.map((r) => Float32Array.from(r.probs)),
    paths: rows.map((r) => r.path),
  };
}

/**
 * Model names that tell the compared models apart: where several share a name (two runs of one recipe have the
 * same model card name), each of those is suffixed with its source (the model file or predictions file given),
 * and with its position where the source repeats too; names already distinct are kept.
 */
export function distinctModelNames(names: readonly string[], sources: readonly string[]): string[] {
  const counts = (xs: readonly string[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
    return m;
  };
  const byName = counts(names);
  const suffixed = names.map((n, i) => ((byName.get(n) ?? 0) > 1 ? `${n} (${sources[i] ?? `#${i + 1}`})` : n));
  // the same source given twice: its position tells the two apart
  const bySuffixed = counts(suffixed);
  return suffixed.map((n, i) => ((bySuffixed.get(n) ?? 0) > 1 ? `${n} #${i + 1}` : n));
}
