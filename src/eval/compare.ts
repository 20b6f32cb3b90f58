/**
 * Side-by-side comparisons: several models' predictions on the same samples (paired by sample path, McNemar
 * per pair), or the methods of a cross-validation run (per-fold table, paired permutation test per pair).
 */
import { ExpnetError } from '../errors.js';
import type { CvSummary } from '../train/experiment.js';
import { meanStd, metricsOfProbs } from '../train/metrics.js';
import { correctness, type Predictions } from './predictions.js';
import { mcnemar, pairedPermutationTest, type McNemarResult, type PairedTestResult } from './significance.js';

export interface ModelComparison {
  /** Samples every model predicted (paired by path). */
  n: number;
  models: { name: string; accuracy: number; balancedAccuracy: number }[];
  /** Every pair i < j: accuracy difference (a − b) and McNemar's test. */
  pairs: { a: string; b: string; accuracyDiff: number; mcnemar: McNemarResult }[];
}

/** Restricts each model's predictions to the paths all of them have, in the first model's order. */
export function pairByPath(preds: readonly Predictions[]): Predictions[] {
  const first = preds[0];
  if (!first) return [];
  const maps = preds.map((p) => new Map(p.paths.map((path, i) => [path, i])));
  const common = first.paths.filter((path) => maps.every((m) => m.has(path)));
  return preds.map((p, k) => {
    const rows = common.map((path) => maps[k]?.get(path) ?? 0);
    return { ...p, truth: Int32Array.from(rows, (r) => p.truth[r] ?? 0), probs: rows.map((r) => p.probs[r] ?? new Float32Array()), paths: common };
  });
}

export function compareModels(preds: readonly Predictions[]): ModelComparison {
  const paired = pairByPath(preds);
  const n = paired[0]?.paths.length ?? 0;
  if (preds.length > 1 && n === 0) throw new ExpnetError('BAD_INPUT', `the models share no samples: nothing to compare (${preds.map((p) => p.model).join(', ')})`);
  paired.forEach((p) => {
    const ref = paired[0] as Predictions;
    p.paths.forEach((path, i) => {
      if (p.labels[p.truth[i] ?? 0] !== ref.labels[ref.truth[i] ?? 0]) {
        throw new ExpnetError('BAD_INPUT', `${path}: ${p.model} and ${ref.model} disagree on the true label; compare predictions of the same data set`);
      }
    });
  });
  const right = paired.map(correctness);
  const models = paired.map((p) => {
    const m = metricsOfProbs(p.truth, p.probs, p.labels);
    return { name: p.model, accuracy: m.accuracy, balancedAccuracy: m.balancedAccuracy };
  });
  const pairs: ModelComparison['pairs'] = [];
  for (let i = 0; i < paired.length; i++)
    for (let j = i + 1; j < paired.length; j++) {
      pairs.push({
        a: models[i]?.name ?? '',
        b: models[j]?.name ?? '',
        accuracyDiff: (models[i]?.accuracy ?? 0) - (models[j]?.accuracy ?? 0),
        mcnemar: mcnemar(right[i] ?? [], right[j] ?? []),
      });
    }
  return { n, models, pairs };
}

export interface CvComparison {
  dataSet: string;
  folds: number[];
  methods: {
    name: string;
    accuracy: { mean: number; std: number };
    balancedAccuracy: { mean: number; std: number };
    /** Test accuracy per fold, aligned with `folds` (NaN where the fold has no result yet). */
    perFold: number[];
  }[];
  /** Every pair over the folds both completed: mean accuracy difference and a paired sign-flip test. */
  pairs: { a: string; b: string; test: PairedTestResult }[];
}

/** Per-fold table and paired tests of a cross-validation results.json (folds still running are left out of the pairs). */
export function compareCv(summary: CvSummary): CvComparison {
  const folds = [...new Set(summary.results.map((r) => r.fold))].sort((a, b) => a - b);
  const names = [...new Set(summary.results.map((r) => r.method))];
  const acc = (m: string, f: number): number => summary.results.find((r) => r.method === m && r.fold === f)?.test.accuracy ?? Number.NaN;
  const methods = names.map((name) => {
    const rs = summary.results.filter((r) => r.method === name);
    return {
      name,
      accuracy: meanStd(rs.map((r) => r.test.accuracy)),
      balancedAccuracy: meanStd(rs.map((r) => r.test.balancedAccuracy)),
      perFold: folds.map((f) => acc(name, f)),
    };
  });
  const pairs: CvComparison['pairs'] = [];
  for (let i = 0; i < names.length; i++)
    for (let j = i + 1; j < names.length; j++) {
      const both = folds.filter((f) => !Number.isNaN(acc(names[i] as string, f)) && !Number.isNaN(acc(names[j] as string, f)));
      pairs.push({
        a: names[i] as string,
        b: names[j] as string,
        test: pairedPermutationTest(both.map((f) => acc(names[i] as string, f)), both.map((f) => acc(names[j] as string, f))),
      });
    }
  return { dataSet: summary.dataSet, folds, methods, pairs };
}
