/** Class-prior correction of expression probabilities (no imports: it runs in the browser bundle too). */

/**
 * Class-prior correction: p'(c) ∝ p(c) · weight(c), e.g. weight = 1 / training frequency of c for photos whose
 * class balance is unknown (a uniform prior instead of the training set's). Rows are renormalised.
 */
export function reweightProbs(p: ArrayLike<number>, weights: ArrayLike<number>): Float32Array {
  const q = Float64Array.from({ length: p.length }, (_, c) => (p[c] ?? 0) * (weights[c] ?? 1));
  const s = q.reduce((a, b) => a + b, 0);
  return Float32Array.from(q, (v) => (s > 0 ? v / s : 1 / q.length));
}

/** The weights that swap a learnt class prior for a uniform one: 1 / prior (below 1e-3, e.g. a class absent from training, counts as 1e-3). */
export function uniformPriorWeights(prior: readonly number[]): Float32Array {
  return Float32Array.from(prior, (f) => 1 / Math.max(f, 1e-3));
}
