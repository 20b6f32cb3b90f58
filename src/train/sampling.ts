/**
 * Sampling over several data sets in one training set: the set is the concatenation of blocks (one per data
 * set, in order), and an epoch draws as many images as the set holds, from each block in proportion to
 * weight × size. A block drawn more often than its size repeats whole passes; one drawn less gets a random
 * subset; every draw comes from the epoch's seeded rng, so a seed gives the same epochs.
 */
import { ExpnetError } from '../errors.js';
import type { Rng } from '../data/rng.js';

export interface SetBlock {
  /** The data set's name (for logs and errors). */
  name: string;
  /** Images of the block in the concatenated set. */
  size: number;
  /** Sampling weight (1 = in proportion to size, as one pooled set). */
  weight: number;
}

/** True when every block is drawn in proportion to its size alone (the epoch is a plain permutation). */
export function isUniform(blocks: readonly SetBlock[]): boolean {
  return blocks.every((b) => b.weight === blocks[0]?.weight || b.size === 0);
}

/**
 * Draws per block for an epoch of Σ size images: round(total × weight·size / Σ weight·size) by largest
 * remainder (the counts sum to the total exactly).
 */
export function drawCounts(blocks: readonly SetBlock[]): number[] {
  for (const b of blocks) {
    if (!(b.weight >= 0) || !Number.isFinite(b.weight)) throw new ExpnetError('BAD_CONFIG', `data set ${b.name}: weight must be a number ≥ 0, got ${b.weight}`);
  }
  const total = blocks.reduce((a, b) => a + b.size, 0);
  const mass = blocks.reduce((a, b) => a + b.weight * b.size, 0);
  if (mass <= 0) throw new ExpnetError('BAD_CONFIG', `data sets ${blocks.map((b) => b.name).join(', ')}: every weight is 0`);
  const exact = blocks.map((b) => (total * b.weight * b.size) / mass);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    counts[i] = (counts[i] ?? 0) + 1;
    left--;
  }
  return counts;
}

/** One epoch's order: indices into the concatenated blocks, drawn by `drawCounts`, shuffled. */
export function weightedOrder(blocks: readonly SetBlock[], rng: Rng): number[] {
  const counts = drawCounts(blocks);
  const order: number[] = [];
  let start = 0;
  blocks.forEach((b, k) => {
    const want = counts[k] ?? 0;
    const all = Array.from({ length: b.size }, (_, i) => start + i);
    for (let n = want; n > 0; n -= b.size) {
      if (n >= b.size) order.push(...all);
      else order.push(...rng.shuffle(all.slice()).slice(0, n));
    }
    start += b.size;
  });
  return rng.shuffle(order);
}

/** The epoch order for `blocks`, or undefined when the plain permutation already draws in proportion to size. */
export function orderFor(blocks: readonly SetBlock[] | undefined): ((rng: Rng) => number[]) | undefined {
  if (!blocks || blocks.length === 0) return undefined;
  drawCounts(blocks); // weights are checked before training starts
  if (blocks.length < 2 || isUniform(blocks)) return undefined;
  return (rng) => weightedOrder(blocks, rng);
}
