import path from 'node:path';
import { ExpnetError } from '../errors.js';
import type { AlignTemplate } from '../faces/similarity.js';
import type { ExpressionLabel } from './labels.js';

/** One labelled image of a data set. */
export interface Sample {
  /**
   * Image file, relative to the data set's root (POSIX separators; an absolute path is kept as is).
   * For samples whose pixels come from a CSV (FER2013, TFD) it is a locator `file.csv:line`.
   */
  path: string;
  label: ExpressionLabel;
  /** Person id (e.g. CK+ `S005`); person-independent splits group by it. */
  subject?: string;
  /** Sequence id (e.g. CK+ `S005_001`). */
  sequence?: string;
  /** Frame number within the sequence. */
  frame?: number;
  /** The source's own split name (FER2013 `Training`/`PublicTest`/`PrivateTest`, SFEW `Train`/`Val`, ...). */
  split?: string;
  /** 8-bit gray pixels, row-major, for CSV sources like FER2013. */
  pixels?: { width: number; height: number; data: Uint8Array };
  /** Crowd votes per label (FER+, src/data/ferplus.ts): the soft target of distribution training; `label` is their majority. */
  votes?: Partial<Record<ExpressionLabel, number>>;
}

/** A data set: samples plus the class order (label index = position in `labels`). */
export interface DataSet {
  name: string;
  root: string;
  labels: readonly ExpressionLabel[];
  samples: Sample[];
  /** True for faces without labels (src/data/unlabelledFolder.ts): sample labels are placeholders, class index −1. */
  unlabelled?: boolean;
  /**
   * Where this set's crops put the eye and mouth centres (fractions of the image), when they differ from the
   * training template (FER_CROP_TEMPLATE): the loader then re-frames every image onto the template, so all sets of
   * a mix, and the photo pipeline's aligned crops, frame faces alike (src/data/decode.ts `reframe`).
   */
  framing?: FaceFraming;
}

/** Eye and mouth centres as fractions of a face crop (an alignment template's shape). */
export type FaceFraming = AlignTemplate;

/** Absolute file path of a sample. */
export function samplePath(dataSet: Pick<DataSet, 'root'>, sample: Pick<Sample, 'path'>): string {
  return path.resolve(dataSet.root, sample.path);
}

/** Class index of a sample's label in the data set's class order; throws when the label is not a class. */
export function labelIndex(dataSet: Pick<DataSet, 'labels' | 'name'>, sample: Sample): number {
  const index = dataSet.labels.indexOf(sample.label);
  if (index < 0) {
    throw new ExpnetError(
      'BAD_INPUT',
      `${dataSet.name}: sample ${sample.path} has label '${sample.label}', which is not one of the classes ${dataSet.labels.join(', ')}`,
    );
  }
  return index;
}

/** Indices of the samples that satisfy a predicate (e.g. `s => s.split === 'Training'`). */
export function indicesWhere(dataSet: Pick<DataSet, 'samples'>, predicate: (sample: Sample) => boolean): number[] {
  const out: number[] = [];
  dataSet.samples.forEach((sample, i) => {
    if (predicate(sample)) out.push(i);
  });
  return out;
}

/**
 * A copy of the data set restricted to the given classes, in the given order (e.g. CK+ 6-class protocol:
 * `restrictLabels(ckplus, BASIC6_LABELS)` drops contempt and neutral). Samples of other classes are dropped.
 */
export function restrictLabels(dataSet: DataSet, labels: readonly ExpressionLabel[]): DataSet {
  const keep = new Set(labels);
  return { ...dataSet, labels: [...labels], samples: dataSet.samples.filter((s) => keep.has(s.label)) };
}

/** Count of samples per class, in class order. */
export function labelCounts(dataSet: DataSet): number[] {
  const counts = dataSet.labels.map(() => 0);
  for (const sample of dataSet.samples) {
    const i = dataSet.labels.indexOf(sample.label);
    if (i >= 0) counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}
