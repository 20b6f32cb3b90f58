/** Classification metrics from predictions: confusion, accuracy, balanced accuracy, per-class P/R/F1. */

export interface ClassMetrics {
  label: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface Metrics {
  n: number;
  accuracy: number;
  /** Mean recall over classes that have samples. */
  balancedAccuracy: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  labels: string[];
}

/** Index of the largest value. */
export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if ((p[i] ?? -Infinity) > (p[best] ?? -Infinity)) best = i;
  return best;
}

export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const row = m[truth[i] ?? 0];
    const p = predicted[i] ?? 0;
    if (row && p >= 0 && p < classes) row[p] = (row[p] ?? 0) + 1;
  }
  return m;
}

/** Metrics of predicted class indices against the truth; classes with no samples and no predictions get 0s. */
export function metricsOf(truth: ArrayLike<number>, predicted: ArrayLike<number>, labels: readonly string[]): Metrics {
  const k = labels.length;
  const confusion = confusionMatrix(truth, predicted, k);
  const n = truth.length;
  let correct = 0;
  const perClass: ClassMetrics[] = labels.map((label, c) => {
    const tp = confusion[c]?.[c] ?? 0;
    correct += tp;
    const support = (confusion[c] ?? []).reduce((a, b) => a + b, 0);
    const predictedC = confusion.reduce((a, row) => a + (row[c] ?? 0), 0);
    const precision = predictedC > 0 ? tp / predictedC : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, support, precision, recall, f1 };
  });
  const present = perClass.filter((c) => c.support > 0);
  return {
    n,
    accuracy: n > 0 ? correct / n : 0,
    balancedAccuracy: present.length > 0 ? present.reduce((a, c) => a + c.recall, 0) / present.length : 0,
    perClass,
    confusion,
    labels: [...labels],
  };
}

/** Metrics of probability rows (arg-max = prediction). */
export function metricsOfProbs(truth: ArrayLike<number>, probs: readonly ArrayLike<number>[], labels: readonly string[]): Metrics {
  return metricsOf(truth, probs.map(argmax), labels);
}

/** Mean and sample standard deviation. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std };
}

/** Element-wise sum of confusion matrices (pooled over folds). */
export function addConfusions(ms: readonly number[][][]): number[][] {
  const first = ms[0];
  if (!first) return [];
  return first.map((row, i) => row.map((_, j) => ms.reduce((a, m) => a + (m[i]?.[j] ?? 0), 0)));
}
