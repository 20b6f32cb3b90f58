/** Model selection of a multi-data run: the mean of the per-set accuracies, or the pooled accuracy. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../src/train/config.js';
import { scoreBySet } from '../src/train/validation.js';

/** One-hot-ish probabilities: row i predicts class pred[i]. */
const probsOf = (pred: readonly number[]): Float32Array[] => pred.map((c) => Float32Array.from([0, 1, 2], (k) => (k === c ? 0.9 : 0.05)));

// set "big": 8 images, 6 right; set "small": 2 images, 0 right
const y = Int32Array.from([0, 0, 1, 1, 2, 2, 0, 1, 2, 2]);
const pred = [0, 0, 1, 1, 2, 2, 1, 0, 0, 0];
const sets = [{ name: 'big', size: 8 }, { name: 'small', size: 2 }];

test('selection mean: each set counts the same; pooled: each image counts the same', () => {
  const mean = scoreBySet(probsOf(pred), y, sets, 'mean');
  const pooled = scoreBySet(probsOf(pred), y, sets, 'pooled');
  assert.ok(typeof mean === 'object' && typeof pooled === 'object');
  assert.deepEqual(mean.detail, { big: 0.75, small: 0 });
  assert.deepEqual(pooled.detail, mean.detail);
  assert.equal(mean.score, 0.375);
  assert.equal(pooled.score, 0.6);
});

test('selection: one set (or one non-empty set) scores plain accuracy either way', () => {
  const one = scoreBySet(probsOf(pred), y, [{ name: 'all', size: 10 }], 'mean');
  const oneEmpty = scoreBySet(probsOf(pred), y, [{ name: 'all', size: 10 }, { name: 'none', size: 0 }], 'pooled');
  assert.equal(one, 0.6);
  assert.equal(oneEmpty, 0.6);
});

test('config.selection: default mean, pooled accepted, anything else a clear error', () => {
  assert.equal(resolveConfig().selection, 'mean');
  assert.equal(resolveConfig({ selection: 'pooled' }).selection, 'pooled');
  assert.throws(() => resolveConfig({ selection: 'median' }), /config\.selection: expected mean or pooled, got "median"/);
});
