import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readCkPlus48 } from '../src/data/ckplus48.js';
import { dataRoot } from '../src/data/dataRoot.js';
import type { Sample } from '../src/data/dataSet.js';
import { BASIC7_LABELS } from '../src/data/labels.js';
import { Rng } from '../src/data/rng.js';
import { carveValidation, personIndependentFolds, type Fold } from '../src/data/splits.js';

/** `subjects` people with a random number (1..6) of samples each, random labels; deterministic. */
function synthetic(subjects: number, seed: number, withSubjects = true): Sample[] {
  const rng = new Rng(seed);
  const out: Sample[] = [];
  for (let s = 0; s < subjects; s++) {
    const n = 1 + rng.int(6);
    for (let i = 0; i < n; i++) {
      const sample: Sample = { path: `S${s}_${i}.png`, label: BASIC7_LABELS[rng.int(7)] ?? 'happy' };
      if (withSubjects) sample.subject = `S${s}`;
      out.push(sample);
    }
  }
  return out;
}

function checkFolds(samples: readonly Sample[], folds: Fold[], indices: readonly number[]): void {
  const seen = new Map<number, number>();
  const subjectFold = new Map<string, number>();
  folds.forEach((fold, f) => {
    assert.ok(fold.test.length > 0, `fold ${f} has a test set`);
    for (const i of fold.test) {
      seen.set(i, (seen.get(i) ?? 0) + 1);
      const subject = samples[i]?.subject;
      if (subject === undefined) continue;
      const other = subjectFold.get(subject);
      assert.ok(other === undefined || other === f, `subject ${subject} in folds ${other} and ${f}`);
      subjectFold.set(subject, f);
    }
    const test = new Set(fold.test);
    assert.deepEqual(fold.train, indices.filter((i) => !test.has(i)).sort((a, b) => a - b), `fold ${f} train = complement`);
  });
  assert.equal(seen.size, indices.length);
  assert.ok([...seen.values()].every((c) => c === 1), 'every sample in exactly one test fold');
}

for (const [subjects, k, seed] of [[30, 10, 1], [12, 5, 7], [5, 5, 3], [100, 10, 42]] as const) {
  test(`person-independent ${k}-fold over ${subjects} subjects (seed ${seed})`, () => {
    const samples = synthetic(subjects, seed);
    const all = samples.map((_, i) => i);
    const folds = personIndependentFolds(samples, k, seed);
    assert.equal(folds.length, k);
    checkFolds(samples, folds, all);
    assert.deepEqual(personIndependentFolds(samples, k, seed), folds, 'deterministic for a seed');
  });
}

test('different seeds give different folds; subsets of indices are respected', () => {
  const samples = synthetic(40, 5);
  assert.notDeepEqual(personIndependentFolds(samples, 5, 1), personIndependentFolds(samples, 5, 2));
  const subset = samples.map((_, i) => i).filter((i) => i % 3 !== 0);
  checkFolds(samples, personIndependentFolds(samples, 4, 1, subset), subset);
});

test('without subjects: stratified k-fold, label counts per fold differ by at most 1', () => {
  const samples = synthetic(200, 9, false);
  const folds = personIndependentFolds(samples, 5, 3);
  checkFolds(samples, folds, samples.map((_, i) => i));
  for (const label of BASIC7_LABELS) {
    const counts = folds.map((f) => f.test.filter((i) => samples[i]?.label === label).length);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${label}: ${counts.join(',')}`);
  }
  const sizes = folds.map((f) => f.test.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes.join(',')}`);
});

test('too few subjects or bad k → BAD_INPUT', () => {
  const samples = synthetic(3, 1);
  assert.throws(() => personIndependentFolds(samples, 4, 1), /4 folds need at least 4 subjects, found 3/);
  assert.throws(() => personIndependentFolds(samples, 1, 1), /k ≥ 2/);
});

test('carveValidation holds out whole subjects, about the fraction, deterministically', () => {
  const samples = synthetic(50, 11);
  const indices = samples.map((_, i) => i);
  const { train, validation } = carveValidation(indices, samples, 0.2, 5);
  assert.equal(train.length + validation.length, indices.length);
  const valSubjects = new Set(validation.map((i) => samples[i]?.subject));
  assert.ok(train.every((i) => !valSubjects.has(samples[i]?.subject)), 'no subject on both sides');
  assert.ok(Math.abs(validation.length / indices.length - 0.2) < 0.05, `fraction ${validation.length / indices.length}`);
  assert.deepEqual(carveValidation(indices, samples, 0.2, 5), { train, validation });
  assert.throws(() => carveValidation(indices, samples, 1, 5), /0 < f < 1/);
});

test('carveValidation without subjects: stratified fraction of each label', () => {
  const samples = synthetic(300, 4, false);
  const indices = samples.map((_, i) => i);
  const { train, validation } = carveValidation(indices, samples, 0.25, 1);
  assert.deepEqual([...train, ...validation].sort((a, b) => a - b), indices);
  for (const label of BASIC7_LABELS) {
    const n = indices.filter((i) => samples[i]?.label === label).length;
    assert.equal(validation.filter((i) => samples[i]?.label === label).length, Math.round(n * 0.25));
  }
});

const ck = path.join(dataRoot(), 'ckplus48');
test('CK+48 10-fold: person-independent, balanced', { skip: existsSync(ck) ? false : `${ck} absent (set EXPNET_DATA)` }, async () => {
  const ds = await readCkPlus48(ck);
  const folds = personIndependentFolds(ds.samples, 10, 0);
  checkFolds(ds.samples, folds, ds.samples.map((_, i) => i));
  const sizes = folds.map((f) => f.test.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 6, `fold sizes ${sizes.join(',')}`);
  for (const label of ds.labels) {
    const counts = folds.map((f) => f.test.filter((i) => ds.samples[i]?.label === label).length);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 6, `${label}: ${counts.join(',')}`); // ≤ 2 sequences
  }
});
