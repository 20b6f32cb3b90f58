import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { calibrationOf } from '../src/eval/calibration.js';
import { confusionCells } from '../src/eval/charts.js';
import { compareCv, compareModels } from '../src/eval/compare.js';
import { confidentMistakes } from '../src/eval/evaluation.js';
import { metricsOf } from '../src/train/metrics.js';
import { distinctModelNames, type Predictions } from '../src/eval/predictions.js';
import { binomialTwoSided, mcnemar, mcnemarFromCounts, pairedPermutationTest } from '../src/eval/significance.js';
import { curvePoints, parseMetricsLog } from '../src/eval/trainingLog.js';
import type { CvSummary } from '../src/train/experiment.js';

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);

describe('metrics against hand-computed tables', () => {
  test('four classes, one of them empty (no samples, never predicted)', () => {
    const m = metricsOf([0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 0, 1, 1, 2, 2, 2, 2, 0], ['a', 'b', 'c', 'd']);
    assert.deepEqual(m.confusion, [[2, 1, 0, 0], [0, 1, 1, 0], [1, 0, 3, 0], [0, 0, 0, 0]]);
    close(m.accuracy, 6 / 9);
    const pc = m.perClass.map((c) => [c.support, c.precision, c.recall, c.f1]);
    [[3, 2 / 3, 2 / 3, 2 / 3], [2, 1 / 2, 1 / 2, 1 / 2], [4, 3 / 4, 3 / 4, 3 / 4], [0, 0, 0, 0]].forEach((want, i) => want.forEach((w, j) => close(pc[i]?.[j] ?? NaN, w)));
    // the empty class does not count towards balanced accuracy
    close(m.balancedAccuracy, (2 / 3 + 1 / 2 + 3 / 4) / 3);
  });

  test('an empty class that is predicted has precision 0 and lowers the others’ recall', () => {
    const m = metricsOf([0, 0, 0, 0, 1], [0, 0, 3, 1, 1], ['a', 'b', 'c', 'd']);
    assert.deepEqual(m.confusion[0], [2, 1, 0, 1]);
    close(m.perClass[0]?.recall ?? NaN, 0.5);
    close(m.perClass[1]?.precision ?? NaN, 0.5);
    assert.equal(m.perClass[3]?.precision, 0);
    assert.equal(m.perClass[3]?.support, 0);
    close(m.balancedAccuracy, (0.5 + 1) / 2);
  });

  test('a single-class split: balanced accuracy is that class’s recall', () => {
    const m = metricsOf([1, 1, 1, 1], [1, 1, 0, 2], ['a', 'b', 'c']);
    assert.deepEqual(m.confusion, [[0, 0, 0], [1, 2, 1], [0, 0, 0]]);
    close(m.accuracy, 0.5);
    close(m.balancedAccuracy, 0.5);
    close(m.perClass[1]?.precision ?? NaN, 1);
    close(m.perClass[1]?.f1 ?? NaN, 2 / 3);
    assert.equal(m.perClass[0]?.precision, 0);
  });

  test('no samples at all', () => {
    const m = metricsOf([], [], ['a', 'b']);
    assert.equal(m.accuracy, 0);
    assert.equal(m.balancedAccuracy, 0);
    assert.equal(m.n, 0);
  });

  test('row-normalised heat map cells: an empty row is all 0, not NaN', () => {
    const cells = confusionCells([[3, 1], [0, 0]], ['a', 'b']);
    assert.deepEqual(cells.map((c) => c.rate), [0.75, 0.25, 0, 0]);
    assert.deepEqual(cells.map((c) => `${c.truth}>${c.predicted}:${c.count}`), ['a>a:3', 'a>b:1', 'b>a:0', 'b>b:0']);
  });
});

describe('calibration', () => {
  test('reliability bins and ECE by hand', () => {
    const probs = [[0.9, 0.1], [0.25, 0.75], [0.3, 0.7], [0.55, 0.45]].map((r) => Float32Array.from(r));
    const c = calibrationOf([0, 0, 1, 0], probs, 5);
    assert.deepEqual(c.bins.map((b) => b.count), [0, 0, 1, 2, 1]);
    close(c.bins[3]?.accuracy ?? NaN, 0.5);
    close(c.bins[3]?.confidence ?? NaN, 0.725, 1e-6);
    assert.ok(Number.isNaN(c.bins[0]?.accuracy ?? 0), 'an empty bin has no accuracy');
    close(c.ece, (0.45 + 2 * 0.225 + 0.1) / 4, 1e-6);
    close(c.mce, 0.45, 1e-6);
    close(c.meanConfidence, 0.725, 1e-6);
  });

  test('perfectly calibrated one-hot predictions have ECE 0; confidence 0 falls in the first bin', () => {
    const c = calibrationOf([0, 1], [Float32Array.from([1, 0]), Float32Array.from([0, 1])]);
    assert.equal(c.ece, 0);
    assert.equal(c.bins[9]?.count, 2);
    const z = calibrationOf([0], [Float32Array.from([0, 0])], 4);
    assert.equal(z.bins[0]?.count, 1);
  });
});

describe('paired significance', () => {
  test('McNemar on a known table (Wikipedia: b = 121, c = 59): χ² with continuity correction 20.67, p 5.45e-6', () => {
    const r = mcnemarFromCounts(121, 59);
    close(r.statistic, 3721 / 180);
    assert.equal(r.method, 'chi2');
    close(r.pValue, 5.450094825427117e-6, 1e-11);
  });

  test('exact McNemar for few discordant pairs: b = 1, c = 5 → p = 2·7/64', () => {
    close(binomialTwoSided(1, 6), 14 / 64);
    close(mcnemarFromCounts(5, 1).pValue, 14 / 64);
    assert.equal(mcnemarFromCounts(3, 3).pValue, 1);
    assert.equal(mcnemarFromCounts(0, 0).pValue, 1);
  });

  test('McNemar from per-sample correctness counts the four cells', () => {
    const a = [true, true, true, false, false, true, false];
    const b = [true, false, false, true, false, false, false];
    const r = mcnemar(a, b);
    assert.deepEqual([r.bothRight, r.onlyA, r.onlyB, r.bothWrong], [1, 3, 1, 2]);
    close(r.pValue, binomialTwoSided(3, 4));
    assert.throws(() => mcnemar([true], []), /paired/);
  });

  test('paired sign-flip test: three equal positive differences → p = 2/8', () => {
    const r = pairedPermutationTest([0.9, 0.8, 0.7], [0.8, 0.7, 0.6]);
    close(r.meanDiff, 0.1);
    close(r.pValue, 0.25);
    assert.equal(r.exact, true);
    assert.equal(pairedPermutationTest([0.5, 0.6], [0.5, 0.6]).pValue, 1);
  });
});

const preds = (model: string, paths: string[], truth: number[], pred: number[]): Predictions => ({
  model,
  dataSet: 'd',
  labels: ['a', 'b'],
  paths,
  truth: Int32Array.from(truth),
  probs: pred.map((p) => Float32Array.from(p === 0 ? [0.8, 0.2] : [0.3, 0.7])),
});

describe('comparisons', () => {
  test('models are paired by sample path, whatever their row order', () => {
    const A = preds('A', ['x', 'y', 'z', 'w'], [0, 1, 0, 1], [0, 1, 1, 1]);
    const B = preds('B', ['w', 'z', 'y', 'x', 'extra'], [1, 0, 1, 0, 0], [0, 0, 0, 0, 0]);
    const c = compareModels([A, B]);
    assert.equal(c.n, 4);
    close(c.models[0]?.accuracy ?? NaN, 0.75);
    close(c.models[1]?.accuracy ?? NaN, 0.5); // x right, y wrong, z right, w wrong
    const p = c.pairs[0];
    assert.deepEqual([p?.mcnemar.onlyA, p?.mcnemar.onlyB, p?.mcnemar.bothRight], [2, 1, 1]);
    close(p?.accuracyDiff ?? NaN, 0.25);
  });

  test('models that disagree on a true label are refused', () => {
    assert.throws(() => compareModels([preds('A', ['x'], [0], [0]), preds('B', ['x'], [1], [0])]), /true label/);
  });

  test('cross-validation results: per-fold table, mean ± std, paired test over common folds', () => {
    const m = (acc: number) => ({ n: 1, accuracy: acc, balancedAccuracy: acc, perClass: [], confusion: [], labels: [] });
    const summary: CvSummary = {
      dataSet: 'ck',
      folds: 3,
      labels: ['a'],
      methods: {},
      results: [
        { method: 'fn2en', fold: 1, valAccuracy: null, test: m(0.9), seconds: 1 },
        { method: 'scratch', fold: 1, valAccuracy: null, test: m(0.8), seconds: 1 },
        { method: 'fn2en', fold: 2, valAccuracy: null, test: m(0.7), seconds: 1 },
        { method: 'scratch', fold: 2, valAccuracy: null, test: m(0.6), seconds: 1 },
        { method: 'fn2en', fold: 3, valAccuracy: null, test: m(0.8), seconds: 1 },
      ],
    };
    const c = compareCv(summary);
    assert.deepEqual(c.folds, [1, 2, 3]);
    assert.deepEqual(c.methods[1]?.perFold.map((x) => Number.isNaN(x)), [false, false, true]);
    close(c.methods[0]?.accuracy.mean ?? NaN, 0.8);
    close(c.methods[0]?.accuracy.std ?? NaN, 0.1);
    assert.equal(c.pairs[0]?.test.n, 2);
    close(c.pairs[0]?.test.pValue ?? NaN, 0.5);
  });

  test('the most confident mistakes come first', () => {
    const p: Predictions = { ...preds('A', ['x', 'y', 'z'], [0, 0, 1], [1, 1, 1]), probs: [[0.4, 0.6], [0.1, 0.9], [0.2, 0.8]].map((r) => Float32Array.from(r)) };
    assert.deepEqual(confidentMistakes(p, 5).map((m) => [m.path, m.predicted, m.truth]), [['y', 'b', 'a'], ['x', 'b', 'a']]);
  });
});

describe('training log', () => {
  test('epoch records become curve points; bookkeeping keys and non-epoch records are skipped', () => {
    const text = [
      '{"time":"t","run":"fold1-fn2en","stage":"stageA","epoch":1,"loss":1.2,"lr":0.001,"sec":7,"dataSec":0.1,"reg":0.5}',
      '{"run":"fold1-fn2en","stage":"stageA","explainedVariance":0.41}',
      '{"stage":"stageB","epoch":2,"loss":0.9,"val":0.6}',
      '',
    ].join('\n');
    const pts = curvePoints(parseMetricsLog(text));
    assert.deepEqual(pts.map((p) => `${p.run}|${p.stage}|${p.epoch}|${p.series}|${p.kind}|${p.value}`), [
      'fold1-fn2en|stageA|1|loss|loss|1.2',
      'fold1-fn2en|stageA|1|reg|loss|0.5',
      '|stageB|2|loss|loss|0.9',
      '|stageB|2|val|accuracy|0.6',
    ]);
  });

  test('a broken line names the file and line', () => {
    assert.throws(() => parseMetricsLog('{"a":1}\n{oops\n', 'run/metrics.jsonl'), /run\/metrics\.jsonl:2/);
  });
});

describe('distinctModelNames', () => {
  test('models sharing a card name are told apart by their source; distinct names are kept', () => {
    const names = distinctModelNames(['expnet-fn2en', 'expnet-fn2en', 'expnet-mix'], ['runs/a/model.safetensors', 'runs/b/model.safetensors', 'expnet-mix']);
    assert.deepEqual(names, ['expnet-fn2en (runs/a/model.safetensors)', 'expnet-fn2en (runs/b/model.safetensors)', 'expnet-mix']);
    assert.deepEqual(distinctModelNames(['a', 'b'], ['x', 'y']), ['a', 'b']);
    assert.deepEqual(distinctModelNames(['a', 'a'], ['m.onnx', 'm.onnx']), ['a (m.onnx) #1', 'a (m.onnx) #2']);
  });
});

describe('bench/compareCvRuns', () => {
  const script = fileURLToPath(new URL(`../bench/compareCvRuns${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [...process.execArgv, script, ...args], { encoding: 'utf8' });
  test('one method across runs: per-fold table, joined files, paired sign-flip test over the common folds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'expnet-cvcmp-'));
    const write = (name: string, rows: [string, number, number][]): string => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify({ labels: ['anger'], results: rows.map(([method, fold, accuracy]) => ({ method, fold, test: { accuracy } })) }));
      return file;
    };
    const a = write('a.json', [1, 2, 3, 4].map((f): [string, number, number] => ['fn2en', f, 1]));
    const b1 = write('b1.json', [['fn2en', 1, 0.9], ['fn2en', 2, 0.9], ['finetune', 1, 0.5]]);
    const b2 = write('b2.json', [['fn2en', 3, 0.9], ['fn2en', 4, 0.9]]);
    const r = run(a, `${b1}+${b2}`, `${b1}:finetune`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /b2\.json: 1: 90\.00, 2: 90\.00, 3: 90\.00, 4: 90\.00 → 90\.00 ± 0\.00 over 4 folds/);
    // all four differences +10: the exact two-sided sign-flip p is 2/16
    assert.match(r.stdout, /10\.00 pt over 4 common folds, paired sign-flip p = 0\.125/);
    assert.match(r.stdout, /50\.00 pt over 1 common folds/);
    const dup = run(a, `${b1}+${b1}`);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /fold 1 is in two files/);
  });
});
