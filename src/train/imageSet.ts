/**
 * A split of a data set decoded once into memory (face crops are small: 48×48 gray × 30k ≈ 70 MB as bytes),
 * from which training batches are cut and augmented. Undecodable files are skipped with a warning.
 */
import { tensor } from '../engine/creation.js';
import { interpolate } from '../engine/functional.js';
import { tidy } from '../engine/scope.js';
import type { Device, Tensor } from '../engine/tensor.js';
import { augment, type AugmentOptions, type ImageShape } from '../data/augment.js';
import type { DataSet } from '../data/dataSet.js';
import { BatchLoader } from '../data/loader.js';
import type { Rng } from '../data/rng.js';

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
}

export const setSize = (s: ImageSet): number => s.y.length;

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
  return { x, y: Int32Array.from(ys), sampleIndex: idx, shape, skipped: loader.skippedFiles };
}

/**
 * Images `idx` of the set as a [n, C, H, W] tensor and their labels, on `device`: augmented when `aug` is given,
 * else mirrored where `mirror[k]` is 1 (the cached views of featureCache.ts).
 */
export function batchOf(set: ImageSet, idx: readonly number[], aug: AugmentOptions | null, rng: Rng | null, mirror?: readonly number[], device: Device = 'cpu'): { x: Tensor; y: Tensor } {
  const { channels, height, width } = set.shape;
  const per = channels * height * width;
  const out = new Float32Array(idx.length * per);
  idx.forEach((i, k) => {
    const img = set.x.subarray(i * per, (i + 1) * per);
    if (aug && rng) augment(img, set.shape, aug, rng, out, k * per);
    else if (mirror?.[k] === 1) {
      for (let r = 0; r < channels * height; r++)
        for (let c = 0; c < width; c++) out[k * per + r * width + c] = img[r * width + (width - 1 - c)] as number;
    } else out.set(img, k * per);
  });
  return {
    x: tensor(out, [idx.length, channels, height, width], { device }),
    y: labelsOf(set, idx, device),
  };
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
