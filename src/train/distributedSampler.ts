/**
 * The distributed sampler: every rank shuffles the whole training set with the shared seed (so all ranks agree
 * on each epoch's global batches), then takes its own contiguous slice of every global batch. The slices are
 * disjoint and cover the batch, so a step on W ranks sees the same images as one process with the global batch.
 */
import type { Rng } from '../data/rng.js';
import { cutBatches, epochBatches } from './imageSet.js';

/** Rank `rank`'s slice of `items` (sizes differ by at most one). */
export function shardOf<T>(items: readonly T[], rank: number, world: number): T[] {
  const n = items.length;
  return items.slice(Math.floor((rank * n) / world), Math.floor(((rank + 1) * n) / world));
}

/** Global batches that every rank can take part in: at least 2 images per rank (BatchNorm needs 2 in training). */
export function minGlobalBatch(world: number): number {
  return 2 * world;
}

/** Steps per epoch for `size` images in global batches of `batchSize` on `world` ranks (a short last batch counts if usable). */
export function stepsPerEpoch(size: number, batchSize: number, world: number): number {
  return Math.floor(size / batchSize) + (size % batchSize >= minGlobalBatch(world) ? 1 : 0);
}

/**
 * This rank's index lists for one epoch; with world = 1 exactly `epochBatches(size, batchSize, rng)`, or the
 * given epoch order (e.g. a weighted draw over several data sets, src/train/sampling.ts) cut into batches.
 */
export function distributedEpochBatches(size: number, batchSize: number, rng: Rng, rank: number, world: number, order?: readonly number[]): number[][] {
  const global = order ? cutBatches(order, batchSize) : epochBatches(size, batchSize, rng);
  if (world === 1) return global;
  return global.filter((b) => b.length >= minGlobalBatch(world)).map((b) => shardOf(b, rank, world));
}
