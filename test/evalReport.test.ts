import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readImageFolder } from '../src/data/imageFolder.js';
import { crossEntropy } from '../src/engine/functional.js';
import { adam } from '../src/engine/optim.js';
import { liveTensors, manualSeed } from '../src/engine/runtime.js';
import { tidy } from '../src/engine/scope.js';
import { openClassifier } from '../src/eval/classifier.js';
import { evalSplit } from '../src/eval/evalSplit.js';
import { metricsOf, argmax } from '../src/train/metrics.js';
import { predictDataSet, predictionsToJson, readPredictions } from '../src/eval/predictions.js';
import { buildReport, writeReport } from '../src/eval/report.js';
import { ExpNet } from '../src/nets/expNet.js';
import { saveExpNetModel, type ModelCard } from '../src/nets/modelCard.js';
import { batchOf, loadImageSet } from '../src/train/imageSet.js';
import type { CvSummary } from '../src/train/experiment.js';
import { SYNTHETIC_LABELS, writeSyntheticFaces } from './helpers/syntheticFaces.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [...process.execArgv, main, ...args], { encoding: 'utf8' });

function card(net: ExpNet, labels: readonly string[], name: string): ModelCard {
  return {
    name, task: 'expression', arch: 'expnet', input: { size: 48, channels: 1, range: [0, 1], layout: 'NCHW' }, labels: [...labels], config: net.config,
    method: 'scratch', training: { data: 'synthetic', command: 'test', seed: 0, epochs: {} }, metrics: {}, licence: 'MIT', provenance: 'test', created: new Date(0).toISOString(),
  };
}

const TINY = { widths: [4, 8, 8, 8, 8] as const, fcHidden: 0, dropout: 0, batchNorm: false };

describe('eval: predictions, report, comparison, CLI', () => {
  let root: string;
  let dir: string;
  let trained: string;
  let random4: string;
  let only2: string;
  before(async () => {
    root = (await writeSyntheticFaces(8, 4)).root;
    dir = mkdtempSync(join(tmpdir(), 'expnet-eval-'));
    const ds = await readImageFolder(root);
    assert.deepEqual(ds.labels, [...SYNTHETIC_LABELS]);
    const set = await loadImageSet(ds, ds.samples.map((_, i) => i), { channels: 1, height: 48, width: 48 });
    manualSeed(7);
    const net = new ExpNet({ ...TINY, numClasses: 3 });
    const opt = adam(net.parameters(), { lr: 0.01 });
    const idx = Array.from({ length: set.y.length }, (_, i) => i);
    const log: string[] = [];
    for (let step = 0; step < 40; step++) {
      const loss = tidy(() => {
        const { x, y } = batchOf(set, idx, null, null);
        opt.zeroGrad();
        const l = crossEntropy(net.forward(x), y);
        l.backward();
        opt.step();
        return l.item();
      });
      if (step % 10 === 9) log.push(JSON.stringify({ stage: 'stageB', epoch: (step + 1) / 10, loss, val: 0.5 + step / 100 }));
    }
    trained = join(dir, 'trained', 'model.safetensors');
    mkdirSync(join(dir, 'trained'));
    saveExpNetModel(trained, net.eval(), card(net, ds.labels, 'tiny-trained'));
    writeFileSync(join(dir, 'trained', 'metrics.jsonl'), log.join('\n') + '\n');
    net.dispose();
    // a random 4-class model: 'anger' has no samples in the data (an empty class)
    const r = new ExpNet({ ...TINY, numClasses: 4 }).eval();
    random4 = join(dir, 'random4.safetensors');
    saveExpNetModel(random4, r, card(r, ['anger', ...SYNTHETIC_LABELS], 'random-4'));
    r.dispose();
    // a 2-class model: the data's 'surprise' images are left out for it
    const t = new ExpNet({ ...TINY, numClasses: 2 }).eval();
    only2 = join(dir, 'only2.safetensors');
    saveExpNetModel(only2, t, card(t, ['happy', 'sadness'], 'two-class'));
    t.dispose();
  });

  test('predictions follow the model’s label order; samples of classes it lacks are dropped and counted', async () => {
    const ds = await readImageFolder(root);
    const split = evalSplit(ds);
    assert.match(split.description, /all samples \(24 samples; the data set has no test split\)/);
    const c4 = await openClassifier(random4);
    const p4 = await predictDataSet(c4, ds, split.indices);
    await c4.dispose();
    assert.deepEqual(p4.predictions.labels, ['anger', 'happy', 'sadness', 'surprise']);
    assert.deepEqual([...new Set(p4.predictions.truth)].sort(), [1, 2, 3]);
    assert.deepEqual(p4.dropped, {});
    const c2 = await openClassifier(only2);
    const p2 = await predictDataSet(c2, ds, split.indices);
    await c2.dispose();
    assert.deepEqual(p2.dropped, { surprise: 8 });
    assert.equal(p2.predictions.probs.length, 16);
    // JSON round trip (the form peers can write too)
    const f = join(dir, 'p2.json');
    writeFileSync(f, JSON.stringify(predictionsToJson(p2.predictions)));
    const back = readPredictions(f);
    assert.deepEqual(back.paths, p2.predictions.paths);
    assert.deepEqual(Array.from(back.truth), Array.from(p2.predictions.truth));
    writeFileSync(f, JSON.stringify({ labels: ['a'], rows: [{ path: 'x', truth: 'b', probs: [1] }] }));
    assert.throws(() => readPredictions(f), /row 1/);
  });

  test('the ONNX back end (expnet export) gives the libtorch probabilities; no tensors leak', async () => {
    const { exportCommand } = await import('../src/cli/export.js');
    const onnx = join(dir, 'random4.onnx');
    assert.equal(await exportCommand([random4, onnx]), 0);
    const ds = await readImageFolder(root);
    const idx = evalSplit(ds).indices;
    const before = liveTensors();
    const torch = await openClassifier(random4);
    const a = await predictDataSet(torch, ds, idx);
    await torch.dispose();
    assert.equal(liveTensors(), before, 'the libtorch classifier releases its tensors');
    const ort = await openClassifier(onnx);
    const b = await predictDataSet(ort, ds, idx);
    await ort.dispose();
    assert.equal(ort.name, 'random-4');
    assert.deepEqual(b.predictions.labels, a.predictions.labels);
    a.predictions.probs.forEach((p, i) => p.forEach((v, c) => assert.ok(Math.abs(v - (b.predictions.probs[i]?.[c] ?? NaN)) < 1e-4, `row ${i} class ${c}`)));
    await assert.rejects(openClassifier(join(dir, 'model.bin')), /not found/);
  });

  test('report: self-contained HTML with charts, gallery, comparison; JSON metrics agree with metricsOf', async () => {
    const ds = await readImageFolder(root);
    const models = [];
    for (const path of [trained, random4]) {
      const clf = await openClassifier(path);
      const r = await predictDataSet(clf, ds, evalSplit(ds).indices);
      await clf.dispose();
      models.push({ predictions: r.predictions, images: r.images, dropped: r.dropped, split: 'all' });
    }
    const built = await buildReport(models, { title: 'test report', command: 'test', mistakes: 5 });
    const p = models[0]!.predictions;
    const m = metricsOf(p.truth, p.probs.map(argmax), p.labels);
    assert.deepEqual(built.json.models[0]?.metrics, m);
    assert.ok(m.accuracy > 0.9, `the tiny net learned the blobs: accuracy ${m.accuracy}`);
    const empty = built.json.models[1]?.metrics.perClass[0];
    assert.equal(empty?.support, 0);
    assert.equal(built.json.comparison?.n, 24);
    assert.equal(built.json.comparison?.pairs.length, 1);
    const html = built.html;
    assert.ok(!/<script/i.test(html) && !/(src|href)="http/i.test(html), 'no scripts, nothing fetched');
    assert.equal((html.match(/src="data:image\/svg\+xml;base64,/g) ?? []).length, 7, '3 charts per model + the comparison');
    assert.ok((html.match(/src="data:image\/png;base64,/g) ?? []).length >= 1, 'mistake thumbnails embedded');
    assert.match(html, /McNemar/);
    assert.match(html, /<td>–<\/td>/, 'the empty class shows – for recall');
    const files = await writeReport(join(dir, 'report'), built, true);
    for (const f of files) assert.ok(existsSync(f), f);
    assert.ok(files.some((f) => f.endsWith('comparison.png')));
    const png = readFileSync(files.find((f) => f.endsWith('1-tiny-trained-confusion.png')) as string);
    assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  });

  test('cross-validation results: per-fold table, pooled confusions, paired tests', async () => {
    const mk = (acc: number) => ({ n: 10, accuracy: acc, balancedAccuracy: acc, perClass: [], confusion: [[5, 0], [1, 4]], labels: ['a', 'b'] });
    const cv: CvSummary = {
      dataSet: 'toy', folds: 2, labels: ['a', 'b'],
      methods: { fn2en: { accuracy: { mean: 0.85, std: 0.07 }, balancedAccuracy: { mean: 0.85, std: 0.07 }, confusion: [[9, 1], [2, 8]], seconds: 1 }, scratch: { accuracy: { mean: 0.7, std: 0 }, balancedAccuracy: { mean: 0.7, std: 0 }, confusion: [[7, 3], [3, 7]], seconds: 1 } },
      results: [
        { method: 'fn2en', fold: 1, valAccuracy: null, test: mk(0.8), seconds: 1 },
        { method: 'scratch', fold: 1, valAccuracy: null, test: mk(0.7), seconds: 1 },
        { method: 'fn2en', fold: 2, valAccuracy: null, test: mk(0.9), seconds: 1 },
        { method: 'scratch', fold: 2, valAccuracy: null, test: mk(0.7), seconds: 1 },
      ],
    };
    const built = await buildReport([], { title: 'cv', command: 'test', cv });
    assert.match(built.html, /fold 1<\/th><th>fold 2/);
    assert.match(built.html, /85\.0 % ± 7\.1/);
    assert.ok(built.charts['cv-confusion-fn2en'] && built.charts['folds']);
    assert.equal(built.json.cv?.pairs[0]?.test.n, 2);
    // The CLI merges runs of the same protocol given as several --cv (methods run separately).
    const [a, b] = ['fn2en', 'scratch'].map((m) => {
      const d = join(dir, `cv-${m}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'results.json'), JSON.stringify({ ...cv, methods: {}, results: cv.results.filter((r) => r.method === m) }));
      return d;
    }) as [string, string];
    const r = cli('eval', '--cv', a, '--cv', b, '--json');
    assert.equal(r.status, 0, r.stderr);
    const merged = (JSON.parse(r.stdout) as { cv: { methods: { name: string; accuracy: { mean: number } }[] } }).cv.methods;
    assert.deepEqual(merged.map((m) => [m.name, Math.round(100 * m.accuracy.mean)]), [['fn2en', 85], ['scratch', 70]]);
    assert.match(cli('eval', '--cv', a, '--cv', a).stderr, /fn2en fold 1 is in two runs/);
  });

  test('CLI: JSON metrics, report folder with training curves, comparison, CSV layout, errors', () => {
    const out = join(dir, 'cli');
    const r = cli('eval', root, '--model', trained, '--json', '--out', out, '--mistakes', '3');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { accuracy: number; balancedAccuracy: number; perClass: unknown[]; confusion: number[][]; labels: string[] };
    assert.deepEqual(j.labels, [...SYNTHETIC_LABELS]);
    assert.equal(j.confusion.flat().reduce((a, b) => a + b, 0), 24);
    assert.equal(j.perClass.length, 3);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /Training curves/, 'metrics.jsonl next to the model is picked up');
    assert.ok(existsSync(join(out, 'charts', 'training-curves.svg')));
    assert.ok(existsSync(join(out, 'predictions-1.json')));

    const c = cli('eval', join(root, 'manifest.csv'), '--model', trained, '--model', only2);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /tiny-trained − two-class: .* McNemar p = /);
    // the summary says what each number is computed on
    assert.match(c.stdout, /^tiny-trained on .*: 24 scored; accuracy/m);
    assert.match(c.stdout, /^two-class on .*: 16 scored, 8 surprise dropped \(a class the model lacks\); accuracy/m);

    const p = cli('eval', root, '--predictions', join(out, 'predictions-1.json'), '--model', trained, '--json');
    assert.equal(p.status, 0, p.stderr);
    const pj = JSON.parse(p.stdout) as { comparison: { pairs: { accuracyDiff: number; mcnemar: { pValue: number } }[] } };
    assert.equal(pj.comparison.pairs[0]?.accuracyDiff, 0, 'the saved predictions equal the model’s');
    assert.equal(pj.comparison.pairs[0]?.mcnemar.pValue, 1);

    const bad = cli('eval', root, '--model', trained, '--split', 'Nope');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /has no such split/);
    const missing = cli('eval', root, '--model', join(dir, 'none.safetensors'));
    assert.equal(missing.status, 3);
  });
});
