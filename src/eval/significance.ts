/**
 * Paired significance tests for comparing two classifiers: McNemar's test on the same test samples (the
 * discordant pairs), and an exact sign-flip permutation test on per-fold scores (cross-validation).
 */
import { Rng } from '../data/rng.js';
import { ExpnetError } from '../errors.js';

export interface McNemarResult {
  n: number;
  bothRight: number;
  bothWrong: number;
  /** A right, B wrong. */
  onlyA: number;
  /** A wrong, B right. */
  onlyB: number;
  /** χ² with continuity correction, (|b − c| − 1)² / (b + c) (0 when b + c = 0). */
  statistic: number;
  /** Two-sided p-value. */
  pValue: number;
  /** 'exact': binomial test on the discordant pairs (b + c < 25); 'chi2': χ²(1) with continuity correction. */
  method: 'exact' | 'chi2';
}

/** erfc(x) for x ≥ 0 (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Upper tail P(χ²₁ ≥ x). */
export function chi2Df1Sf(x: number): number {
  return x <= 0 ? 1 : erfc(Math.sqrt(x / 2));
}

/** Two-sided exact binomial p-value of k successes in n trials with p = ½: min(1, 2·P(X ≤ min(k, n−k))). */
export function binomialTwoSided(k: number, n: number): number {
  if (n === 0) return 1;
  const m = Math.min(k, n - k);
  let logC = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= m; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

/** McNemar's test from the discordant counts b (only A right) and c (only B right). */
export function mcnemarFromCounts(b: number, c: number, method?: 'exact' | 'chi2'): Pick<McNemarResult, 'statistic' | 'pValue' | 'method'> {
  const d = b + c;
  const statistic = d > 0 ? (Math.abs(b - c) - 1) ** 2 / d : 0;
  const m = method ?? (d < 25 ? 'exact' : 'chi2');
  return { statistic, method: m, pValue: m === 'exact' ? binomialTwoSided(b, d) : d > 0 ? chi2Df1Sf(statistic) : 1 };
}

/** McNemar's test of two classifiers' per-sample correctness on the same samples, in the same order. */
export function mcnemar(correctA: ArrayLike<boolean>, correctB: ArrayLike<boolean>, method?: 'exact' | 'chi2'): McNemarResult {
  if (correctA.length !== correctB.length) {
    throw new ExpnetError('BAD_INPUT', `McNemar's test needs paired samples: got ${correctA.length} and ${correctB.length} predictions`);
  }
  const cell = [0, 0, 0, 0];
  for (let i = 0; i < correctA.length; i++) {
    const k = (correctA[i] ? 2 : 0) + (correctB[i] ? 1 : 0);
    cell[k] = (cell[k] ?? 0) + 1;
  }
  const [bothWrong = 0, onlyB = 0, onlyA = 0, bothRight = 0] = cell;
  return { n: correctA.length, bothRight, bothWrong, onlyA, onlyB, ...mcnemarFromCounts(onlyA, onlyB, method) };
}

export interface PairedTestResult {
  n: number;
  /** Mean of a − b. */
  meanDiff: number;
  /** Two-sided p-value of the sign-flip permutation test (exact for n ≤ 16, else 20,000 seeded draws). */
  pValue: number;
  exact: boolean;
}

/**
 * Paired sign-flip permutation test on per-fold scores: under H0 each difference a_i − b_i is as likely
 * negative as positive; p = share of sign patterns whose |mean| reaches the observed one.
 */
export function pairedPermutationTest(a: readonly number[], b: readonly number[], seed = 1): PairedTestResult {
  if (a.length !== b.length) throw new ExpnetError('BAD_INPUT', `paired test: ${a.length} vs ${b.length} scores (one per fold each expected)`);
  const d = a.map((x, i) => x - (b[i] ?? 0));
  const n = d.length;
  if (n === 0) return { n, meanDiff: Number.NaN, pValue: Number.NaN, exact: true };
  const observed = Math.abs(d.reduce((s, x) => s + x, 0)) - 1e-12;
  const exact = n <= 16;
  let hits = 0;
  let total = 0;
  const pattern = (bits: (i: number) => boolean): void => {
    let s = 0;
    for (let i = 0; i < n; i++) s += bits(i) ? -(d[i] ?? 0) : (d[i] ?? 0);
    if (Math.abs(s) >= observed) hits++;
    total++;
  };
  if (exact) for (let m = 0; m < 1 << n; m++) pattern((i) => ((m >> i) & 1) === 1);
  else {
    const rng = new Rng(seed);
    for (let r = 0; r < 20000; r++) pattern(() => rng.next() < 0.5);
  }
  return { n, meanDiff: d.reduce((s, x) => s + x, 0) / n, pValue: hits / total, exact };
}
