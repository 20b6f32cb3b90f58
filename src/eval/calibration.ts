/**
 * Calibration of predicted probabilities: a reliability table (confidence vs accuracy in equal-width bins of
 * the top-class probability) and the expected / maximum calibration error.
 */
import { argmax } from '../train/metrics.js';

export interface ReliabilityBin {
  /** The bin covers (lo, hi]; the first bin also holds confidence 0. */
  lo: number;
  hi: number;
  count: number;
  /** Mean top-class probability of the bin's samples (NaN when empty). */
  confidence: number;
  /** Fraction of the bin's samples whose top class is right (NaN when empty). */
  accuracy: number;
}

export interface Calibration {
  n: number;
  bins: ReliabilityBin[];
  /** Σ_b |B_b|/n · |accuracy_b − confidence_b| over non-empty bins. */
  ece: number;
  /** max_b |accuracy_b − confidence_b| over non-empty bins. */
  mce: number;
  /** Mean top-class probability over all samples. */
  meanConfidence: number;
}

/** Bin index of a confidence in [0, 1] with `bins` equal-width bins (lo, hi]. */
export function binOf(confidence: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
}

/** Reliability table and ECE/MCE of probability rows against the true class indices. */
export function calibrationOf(truth: ArrayLike<number>, probs: readonly ArrayLike<number>[], bins = 10): Calibration {
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const right = new Array<number>(bins).fill(0);
  let total = 0;
  probs.forEach((p, i) => {
    const k = argmax(p);
    const c = p[k] ?? 0;
    const b = binOf(c, bins);
    count[b] = (count[b] ?? 0) + 1;
    conf[b] = (conf[b] ?? 0) + c;
    if (k === truth[i]) right[b] = (right[b] ?? 0) + 1;
    total += c;
  });
  const n = probs.length;
  let ece = 0;
  let mce = 0;
  const out: ReliabilityBin[] = count.map((m, b) => {
    const confidence = m > 0 ? (conf[b] ?? 0) / m : Number.NaN;
    const accuracy = m > 0 ? (right[b] ?? 0) / m : Number.NaN;
    if (m > 0) {
      const gap = Math.abs(accuracy - confidence);
      ece += (m / n) * gap;
      mce = Math.max(mce, gap);
    }
    return { lo: b / bins, hi: (b + 1) / bins, count: m, confidence, accuracy };
  });
  return { n, bins: out, ece, mce, meanConfidence: n > 0 ? total / n : Number.NaN };
}
