import { ExpnetError } from '../errors.js';
import { augment as augmentImage, type AugmentOptions, type ImageShape } from './augment.js';
import { labelIndex, samplePath, type DataSet } from './dataSet.js';
import { bytesToFloat, decodeSampleBytes, type DecodeOptions } from './decode.js';
import { FER_CROP_TEMPLATE } from '../faces/similarity.js';
import type { Rng } from './rng.js';

/** One mini-batch: images N×C×H×W in [0, 1] (augmented when asked), class indices, and the samples' indices. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  indices: number[];
}

export interface LoaderOptions {
  dataSet: DataSet;
  /** Sample indices to iterate over (e.g. a fold's train set). */
  indices: readonly number[];
  decode: DecodeOptions;
  batchSize: number;
  /** Augmentation applied to every image (training); omit for evaluation. */
  augment?: AugmentOptions;
  /** Source of randomness for shuffling and augmentation; needed when either is on. */
  rng?: Rng;
  /** Shuffle the order at the start of each epoch (default: true when `rng` is given). */
  shuffle?: boolean;
  /** Drop a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Batches decoded ahead of the consumer (default 2). */
  prefetchBatches?: number;
  /** Keep decoded (not augmented) images in memory as bytes across epochs (default true; 48×48 gray × 30k ≈ 70 MB). */
  cache?: boolean;
  /** Called once per file that cannot be decoded; the file is skipped (and counted) from then on. */
  onWarn?: (message: string, file: string) => void;
}

interface Pending {
  index: number;
  bytes: Promise<Uint8Array | null>;
}

/**
 * Batches from a data set: decodes with sharp ahead of the consumer (several images concurrently on libuv's
 * thread pool), caches decoded bytes, shuffles and augments with the given rng in consumption order (so a
 * seed gives the same batches whatever the decode timing), skips undecodable files with a warning.
 * Iterate `epoch()` (or the loader itself) once per epoch.
 */
export class BatchLoader implements AsyncIterable<Batch> {
  private readonly options: LoaderOptions;
  private readonly classOf: Map<number, number>;
  private readonly cache = new Map<number, Uint8Array>();
  private readonly bad = new Map<number, string>();
  private readonly shape: ImageShape;

  constructor(options: LoaderOptions) {
    const { dataSet, indices, batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ExpnetError('BAD_CONFIG', `batchSize: expected a positive integer, got ${batchSize}`);
    if ((options.augment !== undefined || options.shuffle === true) && options.rng === undefined) {
      throw new ExpnetError('BAD_CONFIG', 'loader: shuffling or augmentation needs an rng (expected options.rng)');
    }
    this.options = options;
    this.classOf = new Map();
    for (const i of indices) {
      const sample = dataSet.samples[i];
      if (sample === undefined) throw new ExpnetError('BAD_INPUT', `loader: sample index ${i} is out of range 0..${dataSet.samples.length - 1}`);
      this.classOf.set(i, dataSet.unlabelled ? -1 : labelIndex(dataSet, sample));
    }
    const [height, width] = options.decode.size;
    this.shape = { channels: options.decode.channels, height, width };
  }

  /** Number of distinct files skipped as undecodable so far. */
  get skipped(): number {
    return this.bad.size;
  }

  /** The skipped files with the reason for each. */
  get skippedFiles(): { file: string; reason: string }[] {
    return [...this.bad].map(([i, reason]) => ({ file: this.file(i), reason }));
  }

  /** Number of decoded images held in the cache. */
  get cached(): number {
    return this.cache.size;
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.epoch();
  }

  private file(index: number): string {
    const sample = this.options.dataSet.samples[index];
    return sample === undefined ? `#${index}` : samplePath(this.options.dataSet, sample);
  }

  private async load(index: number): Promise<Uint8Array | null> {
    const hit = this.cache.get(index);
    if (hit !== undefined) return hit;
    if (this.bad.has(index)) return null;
    const { dataSet, decode } = this.options;
    const sample = dataSet.samples[index];
    if (sample === undefined) return null;
    try {
      const bytes = await decodeSampleBytes(dataSet, sample, dataSet.framing && !decode.reframe ? { ...decode, reframe: { from: dataSet.framing, to: FER_CROP_TEMPLATE } } : decode);
      if (this.options.cache !== false) this.cache.set(index, bytes);
      return bytes;
    } catch (error) {
      if (!(error instanceof ExpnetError) || error.code !== 'BAD_IMAGE') throw error;
      if (!this.bad.has(index)) {
        this.bad.set(index, error.message);
        this.options.onWarn?.(`skipping undecodable image: ${error.message}`, this.file(index));
      }
      return null;
    }
  }

  /** One pass over the indices, in a fresh shuffled order when shuffling. */
  async *epoch(): AsyncGenerator<Batch> {
    const { batchSize, rng } = this.options;
    const order = [...this.options.indices];
    if (rng !== undefined && this.options.shuffle !== false) rng.shuffle(order);
    const window = Math.max(1, batchSize * Math.max(1, this.options.prefetchBatches ?? 2));
    const size = this.shape.channels * this.shape.height * this.shape.width;
    const pending: Pending[] = [];
    let next = 0;
    const launch = (): void => {
      while (pending.length < window && next < order.length) {
        const index = order[next++] ?? 0;
        const bytes = this.load(index);
        bytes.catch(() => undefined); // awaited below; keeps an early-abandoned epoch from leaking a rejection
        pending.push({ index, bytes });
      }
    };
    let batch = this.emptyBatch(batchSize, size);
    const scratch = new Float32Array(size);
    launch();
    while (pending.length > 0) {
      const item = pending.shift();
      launch();
      if (item === undefined) break;
      const bytes = await item.bytes;
      if (bytes === null) continue;
      const n = batch.indices.length;
      if (this.options.augment !== undefined && rng !== undefined) {
        bytesToFloat(bytes, scratch);
        augmentImage(scratch, this.shape, this.options.augment, rng, batch.x, n * size);
      } else {
        bytesToFloat(bytes, batch.x, n * size);
      }
      batch.y[n] = this.classOf.get(item.index) ?? 0;
      batch.indices.push(item.index);
      if (batch.indices.length === batchSize) {
        yield batch;
        batch = this.emptyBatch(batchSize, size);
      }
    }
    const n = batch.indices.length;
    if (n > 0 && this.options.dropLast !== true) {
      yield { x: batch.x.slice(0, n * size), y: batch.y.slice(0, n), indices: batch.indices };
    }
  }

  private emptyBatch(batchSize: number, size: number): Batch {
    return { x: new Float32Array(batchSize * size), y: new Int32Array(batchSize), indices: [] };
  }
}
