/** Model selection over several data sets: accuracy per set, and their mean (or the pooled accuracy) as the score. */
import type { Selection } from './config.js';
import { accuracyOf } from './featureCache.js';
import type { SetBlock } from './sampling.js';

/** The data sets of a multi-data run, as consecutive blocks of the concatenated train, unlabelled and validation sets. */
export interface MixSets {
  train: SetBlock[];
  unlabelled: SetBlock[];
  val: { name: string; size: number }[];
}

/** Accuracy on each block of consecutive rows (blocks without rows are left out). */
export function accuracyBySet(probs: readonly Float32Array[], y: Int32Array, sets: readonly { name: string; size: number }[]): Record<string, number> {
  const out: Record<string, number> = {};
  let start = 0;
  for (const s of sets) {
    if (s.size > 0) out[s.name] = accuracyOf(probs.slice(start, start + s.size), y.subarray(start, start + s.size));
    start += s.size;
  }
  return out;
}

/**
 * The validation score of a stage: plain accuracy, or with two or more validation sets either the mean of their
 * accuracies ('mean': each data set counts the same, whatever its size) or the accuracy over all of them
 * ('pooled': each image counts the same), with the accuracy per set as detail.
 */
export function scoreBySet(probs: readonly Float32Array[], y: Int32Array, sets?: readonly { name: string; size: number }[], selection: Selection = 'mean'): number | { score: number; detail: Record<string, number> } {
  const used = sets?.filter((s) => s.size > 0) ?? [];
  if (!sets || used.length < 2) return accuracyOf(probs, y);
  const detail = accuracyBySet(probs, y, sets);
  const values = Object.values(detail);
  return { score: selection === 'pooled' ? accuracyOf(probs, y) : values.reduce((a, b) => a + b, 0) / values.length, detail };
}
