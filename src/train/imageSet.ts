/**
 * A split of a data set decoded once into memory (face crops are small: 48×48 gray × 30k ≈ 70 MB as bytes),
 * from which training batches are cut and augmented. Undecodable files are skipped with a warning.
 */
import { tensor } from '../engine/creation.js';
import { interpolate } from '../engine/functional.js';
import { tidy } from '../engine/scope.js';
import type { Device, Tensor } from '../engine/tensor.js';
import { augment, DEFAULT_AUGMENT, type AugmentOptions, type ImageShape } from '../data/augment.js';
import type { DataSet } from '../data/dataSet.js';
import { BatchLoader } from '../data/loader.js';
import { Rng } from '../data/rng.js';
import { softTarget } from '../data/ferplus.js';

export interface ImageSet {
  /** N×C×H×W values in [0, 1]. */
  x: Float32Array;
  /** Class index per image. */
  y: Int32Array;
  /** Index of each image in the data set's samples. */
  sampleIndex: number[];
  shape: ImageShape;
  /** Files that could not be decoded (skipped). */
  skipped: { file: string; reason: string }[];
  /**
   * N×K soft targets (rows sum to 1; all 0 for unlabelled faces), when some image has crowd votes (FER+): the
   * votes normalised over the set's classes, one-hot rows for images without votes. Absent: hard labels only.
   */
  soft?: Float32Array;
}

export const setSize = (s: ImageSet): number => s.y.length;

/** The images of several sets of one shape, in order (sample indices are kept as they are: they refer to each set's own data set). */
export function concatImageSets(sets: readonly ImageSet[]): ImageSet {
  const first = sets[0];
  if (!first) throw new Error('concatImageSets: no sets');
  const x = new Float32Array(sets.reduce((a, s) => a + s.x.length, 0));
  const soft = concatSoft(sets);
  const y = new Int32Array(sets.reduce((a, s) => a + s.y.length, 0));
  let o = 0;
  let k = 0;
  for (const s of sets) {
    x.set(s.x, o);
    y.set(s.y, k);
    o += s.x.length;
    k += s.y.length;
  }
  return { x, y, sampleIndex: sets.flatMap((s) => s.sampleIndex), shape: first.shape, skipped: sets.flatMap((s) => s.skipped), ...(soft ? { soft } : {}) };
}

/**
 * Soft targets of concatenated sets (one class list): each set's own, or one-hot rows from its labels (zeros for
 * unlabelled faces, y < 0); undefined when no set has any.
 */
function concatSoft(sets: readonly ImageSet[]): Float32Array | undefined {
  const withSoft = sets.find((s) => s.soft);
  if (!withSoft?.soft) return undefined;
  const k = withSoft.soft.length / Math.max(withSoft.y.length, 1);
  const out = new Float32Array(sets.reduce((a, s) => a + s.y.length, 0) * k);
  let o = 0;
  for (const s of sets) {
    if (s.soft) out.set(s.soft, o * k);
    else s.y.forEach((c, i) => {
      if (c >= 0) out[(o + i) * k + c] = 1;
    });
    o += s.y.length;
  }
  return out;
}

/** Decodes the given samples at the student's input size. */
export async function loadImageSet(
  dataSet: DataSet,
  indices: readonly number[],
  shape: ImageShape,
  onWarn?: (message: string, file: string) => void,
): Promise<ImageSet> {
  const loader = new BatchLoader({
    dataSet,
    indices,
    decode: { channels: shape.channels as 1 | 3, size: [shape.height, shape.width] },
    batchSize: 256,
    shuffle: false,
    cache: false,
    prefetchBatches: 4,
    ...(onWarn ? { onWarn } : {}),
  });
  const per = shape.channels * shape.height * shape.width;
  const xs: Float32Array[] = [];
  const ys: number[] = [];
  const idx: number[] = [];
  for await (const b of loader.epoch()) {
    xs.push(b.x.subarray(0, b.y.length * per));
    ys.push(...b.y);
    idx.push(...b.indices);
  }
  const x = new Float32Array(ys.length * per);
  let o = 0;
  for (const part of xs) {
    x.set(part, o);
    o += part.length;
  }
  const soft = softTargets(dataSet, idx);
  return { x, y: Int32Array.from(ys), sampleIndex: idx, shape, skipped: loader.skippedFiles, ...(soft ? { soft } : {}) };
}

/** The soft targets of samples `idx` (ImageSet.soft), or undefined when none of them has votes. */
function softTargets(dataSet: DataSet, idx: readonly number[]): Float32Array | undefined {
  if (dataSet.unlabelled || !idx.some((i) => dataSet.samples[i]?.votes !== undefined)) return undefined;
  const k = dataSet.labels.length;
  const out = new Float32Array(idx.length * k);
  idx.forEach((i, n) => {
    const s = dataSet.samples[i];
    if (s) softTarget(s, dataSet.labels, out, n * k);
  });
  return out;
}

/**
 * The training targets of images `idx`: with `soft` and the set's soft targets, an [n, K] float tensor of
 * probabilities (cross-entropy against the vote distribution); otherwise int64 class indices.
 */
export function targetsOf(set: ImageSet, idx: readonly number[], soft: boolean, device: Device = 'cpu'): Tensor {
  if (!soft || !set.soft) return labelsOf(set, idx, device);
  const k = set.soft.length / Math.max(set.y.length, 1);
  const out = new Float32Array(idx.length * k);
  idx.forEach((i, n) => out.set(set.soft?.subarray(i * k, (i + 1) * k) ?? [], n * k));
  return tensor(out, [idx.length, k], { device });
}

/**
 * Images `idx` of the set as a [n, C, H, W] tensor and their labels, on `device`: augmented when `aug` is given,
 * else mirrored where `mirror[k]` is 1 (the cached views of featureCache.ts).
 */
export function batchOf(set: ImageSet, idx: readonly number[], aug: AugmentOptions | null, rng: Rng | null, mirror?: readonly number[], device: Device = 'cpu'): { x: Tensor; y: Tensor } {
  const x = aug && rng ? pixels(set, idx, device, (img, out, off) => augment(img, set.shape, aug, rng, out, off)) : viewBatch(set, idx, mirror ?? [], 0, device);
  return { x, y: labelsOf(set, idx, device) };
}

/**
 * The fixed views of images `idx` (the cached views of featureCache.ts), view `views[k]` for the k-th image:
 * 0 the image, 1 its mirror image, v ≥ 2 a random augmentation (DEFAULT_AUGMENT) seeded by (seed, image, v), so
 * the teacher (once, when caching) and the student (every epoch) see the same pixels for an (image, view) pair.
 */
export function viewBatch(set: ImageSet, idx: readonly number[], views: readonly number[], seed: number, device: Device = 'cpu'): Tensor {
  return pixels(set, idx, device, (img, out, off, i, k) => {
    const v = views[k] ?? 0;
    if (v === 0) out.set(img, off);
    else if (v === 1) mirrorInto(img, set.shape, out, off);
    else augment(img, set.shape, DEFAULT_AUGMENT, new Rng(viewSeed(seed, i, v)), out, off);
  });
}

/** A [n, C, H, W] tensor whose k-th image `fill` writes at `off` from image `i` = idx[k] of the set. */
function pixels(set: ImageSet, idx: readonly number[], device: Device, fill: (img: Float32Array, out: Float32Array, off: number, i: number, k: number) => void): Tensor {
  const { channels, height, width } = set.shape;
  const per = channels * height * width;
  const out = new Float32Array(idx.length * per);
  idx.forEach((i, k) => fill(set.x.subarray(i * per, (i + 1) * per), out, k * per, i, k));
  return tensor(out, [idx.length, channels, height, width], { device });
}

function mirrorInto(img: Float32Array, { channels, height, width }: ImageShape, out: Float32Array, off: number): void {
  for (let r = 0; r < channels * height; r++)
    for (let c = 0; c < width; c++) out[off + r * width + c] = img[r * width + (width - 1 - c)] as number;
}

/** The seed of view `v` of image `i` (a 32-bit mix, independent of batch composition). */
function viewSeed(seed: number, i: number, v: number): number {
  let h = (seed ^ 0x2545f491) >>> 0;
  h = Math.imul(h ^ (i + 0x632be5ab), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (v + 0x9e3779b9), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A view index per image, uniform over `views` cached views (for 2 views: 1 = mirror with probability ½, the
 * same draws as before views were configurable).
 */
export function pickViews(n: number, views: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => views - 1 - Math.min(views - 1, Math.floor(rng.next() * views)));
}

/** Student images [N, C, h, w] → the face net's input [N, 3, 150, 150] (bilinear; gray replicated to RGB). */
export function toTeacherInput(x: Tensor, size = 150): Tensor {
  return tidy(() => {
    const r = interpolate(x, { size, mode: 'bilinear', alignCorners: false });
    return (x.shape[1] ?? 1) === 1 ? r.repeat([1, 3, 1, 1]) : r;
  });
}

/** The data order of one epoch: indices 0..n-1 shuffled, cut into batches (a last batch < 2 is dropped). */
export function epochBatches(n: number, batchSize: number, rng: Rng): number[][] {
  const order = Array.from({ length: n }, (_, i) => i);
  rng.shuffle(order);
  return cutBatches(order, batchSize);
}

/** An epoch's data order cut into batches of `batchSize` (a last batch < 2 is dropped). */
export function cutBatches(order: readonly number[], batchSize: number): number[][] {
  const n = order.length;
  const out: number[][] = [];
  for (let i = 0; i < n; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (b.length >= 2) out.push(b);
  }
  return out;
}

/** Labels of images `idx` as an int64 tensor on `device`. */
export function labelsOf(set: ImageSet, idx: readonly number[], device: Device = 'cpu'): Tensor {
  return tensor(BigInt64Array.from(idx, (i) => BigInt(set.y[i] ?? 0)), [idx.length], { dtype: 'int64', device });
}
