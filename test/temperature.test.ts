import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../src/data/rng.js';
import { calibrateTemperature, fitTemperature, nllAt, softmaxAt } from '../src/eval/temperature.js';
import { reweightProbs, uniformPriorWeights } from '../src/infer/classPrior.js';

/** Logits of `n` samples over `k` classes and labels drawn from softmax(logits / t). */
function synthetic(n: number, k: number, t: number, seed: number): { logits: Float64Array[]; y: Int32Array } {
  const rng = new Rng(seed);
  const logits: Float64Array[] = [];
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const z = Float64Array.from({ length: k }, () => 6 * (rng.next() - 0.5));
    z[i % k] = (z[i % k] ?? 0) + 4; // a confident net: one class stands out
    const p = softmaxAt(z, t);
    let u = rng.next();
    let c = 0;
    while (c < k - 1 && u > (p[c] ?? 0)) u -= p[c++] ?? 0;
    y[i] = c;
    logits.push(z);
  }
  return { logits, y };
}

test('fitTemperature recovers a known temperature from synthetic logits', () => {
  for (const t of [0.5, 1, 2.5]) {
    const { logits, y } = synthetic(20000, 7, t, 3);
    const fit = fitTemperature(logits, y);
    assert.ok(Math.abs(fit / t - 1) < 0.05, `T = ${t}: fitted ${fit}`);
    assert.ok(nllAt(logits, y, fit) <= nllAt(logits, y, t) + 1e-9, 'the fit minimises the NLL');
  }
});

test('calibrateTemperature softens over-confident probabilities: ECE and NLL go down', () => {
  const { logits, y } = synthetic(5000, 7, 3, 5);
  const probs = logits.map((z) => softmaxAt(z, 1)); // the net reports softmax(z): over-confident by a factor 3
  const c = calibrateTemperature(probs, y);
  assert.ok(Math.abs(c.temperature / 3 - 1) < 0.08, `fitted ${c.temperature}`);
  assert.ok(c.eceAfter < c.eceBefore / 2, `ECE ${c.eceBefore} → ${c.eceAfter}`);
  assert.ok(c.nllAfter < c.nllBefore);
  assert.equal(c.n, 5000);
});

test('the uniform prior divides by the training frequencies and renormalises', () => {
  const freq = [0.5, 0.25, 0.25, 0];
  const w = uniformPriorWeights(freq);
  assert.deepEqual(Array.from(w), [2, 4, 4, 1000]);
  const p = reweightProbs([0.5, 0.25, 0.25, 0], w);
  assert.deepEqual(Array.from(p, (v) => Math.round(v * 1e6) / 1e6), [1 / 3, 1 / 3, 1 / 3, 0].map((v) => Math.round(v * 1e6) / 1e6));
});
