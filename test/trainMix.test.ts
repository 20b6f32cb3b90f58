import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { exportCommand } from '../src/cli/export.js';
import { detectEntryFormats, resolveDataEntries } from '../src/cli/dataArgs.js';
import { BASIC7_LABELS } from '../src/data/labels.js';
import { Rng } from '../src/data/rng.js';
import { tensor } from '../src/engine/creation.js';
import { packageRoot } from '../src/engine/native.js';
import { softmaxAt } from '../src/eval/temperature.js';
import { reweightProbs, uniformPriorWeights } from '../src/infer/classPrior.js';
import { ANCHORS_FILE, bundledModelDir, DETECTOR_FILE, LANDMARKS_FILE } from '../src/infer/modelBundle.js';
import { createRecognizer } from '../src/infer/recognizer.js';
import { loadExpNetModel, readModelCard } from '../src/nets/modelCard.js';
import { resolveConfig } from '../src/train/config.js';
import { checkDataEntry, readMix } from '../src/train/dataMix.js';
import { stepsPerEpoch } from '../src/train/distributedSampler.js';
import { createRunContext, type Progress } from '../src/train/runContext.js';
import { drawCounts, orderFor, weightedOrder } from '../src/train/sampling.js';
import { trainOnMix } from '../src/train/trainMix.js';
import { writeMixFixture, type MixFixture } from './helpers/mixFixtures.js';

const TEST_SPLITS = new Set(['PublicTest', 'Val', 'PrivateTest']);

/** Paths of a manifest's rows whose split is a test split. */
function testPaths(manifest: string): Set<string> {
  const rows = readFileSync(manifest, 'utf8').trim().split('\n').slice(1).map((r) => r.split(','));
  return new Set(rows.filter((r) => TEST_SPLITS.has(r[3] ?? '')).map((r) => r[0] ?? ''));
}

const quick = (over: Record<string, unknown> = {}) =>
  resolveConfig({ valFraction: 0.25, precision: 'fp32', teacher: { stage: { epochs: 1, batchSize: 8 } }, stageA: { epochs: 1, batchSize: 8, warmupEpochs: 0 }, stageB: { epochs: 1, batchSize: 8, warmupEpochs: 0, augment: false } }, over);

describe('multi-data training', () => {
  let fx: MixFixture;
  before(async () => {
    fx = await writeMixFixture();
  });

  test('readMix maps labels onto the basic 7, drops contempt, and never puts a test split in training or validation', async () => {
    const parts = await readMix([{ path: fx.alpha, format: 'csv' }, { path: fx.beta, format: 'csv', weight: 2 }, { path: fx.faces, format: 'unlabelled' }], quick());
    assert.deepEqual(parts.map((p) => [p.labelled, p.weight]), [[true, 1], [true, 2], [false, 1]]);
    for (const p of parts.slice(0, 2)) assert.deepEqual(p.ds.labels, BASIC7_LABELS);
    assert.ok((parts[1]?.dropped['contempt'] ?? 0) > 0, 'contempt rows are dropped and counted');
    assert.ok(parts[1]?.ds.samples.every((s) => s.label !== 'contempt'));
    assert.deepEqual(parts.map((p) => p.testName), ['PublicTest', 'Val', null]);
    for (const [p, manifest] of [[parts[0], fx.alpha], [parts[1], fx.beta]] as const) {
      const held = testPaths(manifest);
      const ids = (idx: number[]) => idx.map((i) => p?.ds.samples[i]?.path ?? '');
      for (const id of [...ids(p?.train ?? []), ...ids(p?.validation ?? [])]) assert.ok(!held.has(id), `${id} is a test-split sample but trains or validates`);
      assert.ok(ids(p?.test ?? []).every((id) => held.has(id)) && (p?.test.length ?? 0) > 0);
      assert.ok(ids(p?.test ?? []).every((id) => !id.includes('PrivateTest')));
      assert.ok((p?.validation.length ?? 0) > 0, 'each labelled set has its own validation carve');
      // The validation carve is grouped by subject: no subject both trains and validates.
      const subjects = (idx: number[]) => new Set(idx.map((i) => p?.ds.samples[i]?.subject));
      for (const s of subjects(p?.validation ?? [])) assert.ok(!subjects(p?.train ?? []).has(s), `subject ${s} in train and validation`);
    }
    assert.equal(parts[2]?.train.length, fx.facesCount);
    assert.deepEqual([parts[2]?.validation.length, parts[2]?.test.length], [0, 0]);
  });

  test('weighted sampling draws each set in proportion to weight × size, the same for a seed', () => {
    const blocks = [{ name: 'big', size: 100, weight: 1 }, { name: 'small', size: 10, weight: 5 }];
    assert.deepEqual(drawCounts(blocks), [73, 37]);
    const order = weightedOrder(blocks, new Rng(7));
    assert.equal(order.length, 110);
    assert.equal(order.filter((i) => i >= 100).length, 37);
    assert.equal(new Set(order.filter((i) => i >= 100)).size, 10, 'an oversampled set repeats whole passes');
    assert.equal(new Set(order.filter((i) => i < 100)).size, 73, 'an undersampled set draws without repeats');
    assert.deepEqual(weightedOrder(blocks, new Rng(7)), order);
    assert.notDeepEqual(weightedOrder(blocks, new Rng(8)), order);
    assert.equal(orderFor([{ name: 'a', size: 5, weight: 2 }, { name: 'b', size: 9, weight: 2 }]), undefined, 'equal weights keep the plain permutation');
    assert.throws(() => orderFor([{ name: 'a', size: 5, weight: 0 }, { name: 'b', size: 9, weight: 0 }]), /every weight is 0/);
  });

  test('data entries: --format/--weight pair with --data, a config list is checked entry by entry', () => {
    assert.equal(resolveDataEntries({ data: ['a'] }, undefined)?.mix, false, 'one --data trains as before');
    assert.equal(resolveDataEntries({}, undefined), null);
    const r = resolveDataEntries({ data: ['a', 'b'], format: ['auto', 'unlabelled'], weight: ['1', '0.5'] }, undefined);
    assert.deepEqual(r?.entries, [{ path: 'a', weight: 1 }, { path: 'b', format: 'unlabelled', weight: 0.5 }]);
    const detected = detectEntryFormats(r?.entries ?? [], (path) => ({ format: 'csv', reason: `test ${path}` }));
    assert.deepEqual(detected.entries.map((e) => e.format), ['csv', 'unlabelled']);
    assert.deepEqual(detected.detected.map((d) => d.path), ['a'], 'only formats not given are detected');
    assert.throws(() => resolveDataEntries({ data: ['a', 'b'], format: ['csv'] }, undefined), /--format given 1 time\(s\) for 2 --data/);
    assert.throws(() => resolveDataEntries({ data: ['a'], format: ['nope'] }, undefined), /--format: expected one of .*unlabelled, got nope/);
    assert.throws(() => resolveDataEntries({ data: ['a'], weight: ['-1'] }, undefined), /--weight: expected a number ≥ 0/);
    assert.equal(resolveDataEntries({}, [{ path: 'a', weight: 2 }])?.mix, true);
    assert.throws(() => checkDataEntry({ path: 'a', weigth: 2 }, 'config.data[0]'), /config\.data\[0\]\.weigth: unknown option/);
    assert.throws(() => checkDataEntry({ path: 'a', labelled: 'no' }, 'config.data[1]'), /config\.data\[1\]\.labelled: expected true or false/);
    assert.throws(() => resolveConfig({ stageA: { data: 'some' } }), /config\.stageA\.data: expected labelled or all/);
  });

  test('stage (a) regresses the unlabelled faces too; teacher fine-tuning and stage (b) see only labelled ones', async () => {
    const steps: Record<string, number> = {};
    const reporter = { progress: (p: Progress) => (steps[p.stage] = p.steps), message: () => {}, warn: () => {} };
    const entries = [{ path: fx.alpha, format: 'csv' as const }, { path: fx.beta, format: 'csv' as const }, { path: fx.faces, format: 'unlabelled' as const }];
    const cfg = quick({ method: 'fn2en' });
    const parts = await readMix(entries, cfg);
    const labelled = (parts[0]?.train.length ?? 0) + (parts[1]?.train.length ?? 0);
    const run = await trainOnMix(entries, cfg, createRunContext(mkdtempSync(join(tmpdir(), 'expnet-mixa-')), { seed: 1, reporter }));
    run.trained.dispose();
    assert.equal(steps['teacher'], stepsPerEpoch(labelled, 8, 1));
    assert.equal(steps['stageB'], stepsPerEpoch(labelled, 8, 1));
    assert.equal(steps['stageA'], stepsPerEpoch(labelled + fx.facesCount, 8, 1), 'stage (a) batches cover labelled + unlabelled faces');
    assert.equal(run.sets[2]?.validation, null);
    // stageA.data 'labelled': the paper's stage (a), labelled faces only.
    const warned: string[] = [];
    const only = await trainOnMix(entries, quick({ method: 'fn2en', teacher: { fineTune: false }, stageA: { data: 'labelled' } }), createRunContext(mkdtempSync(join(tmpdir(), 'expnet-mixl-')), { seed: 1, reporter: { ...reporter, warn: (m: string) => warned.push(m) } }));
    only.trained.dispose();
    assert.equal(steps['stageA'], stepsPerEpoch(labelled, 8, 1));
    assert.ok(warned.some((w) => /unlabelled face\(s\) not used: config\.stageA\.data is 'labelled'/.test(w)), warned.join('\n'));
  });

  describe('CLI: two --data with weights, then export and predict', () => {
    const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    const cli = (args: string[]) => spawnSync(process.execPath, [...process.execArgv, main, ...args], { encoding: 'utf8' });
    let dir = '';
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'expnet-mixcli-'));
      const r = cli(['train', '--data', fx.alpha, '--data', fx.beta, '--format', 'csv', '--format', 'csv', '--weight', '1', '--weight', '3',
        '--method', 'scratch', '--precision', 'fp32', '--threads', '1', '--quiet', '--out', dir,
        '--set', 'valFraction=0.25', '--set', 'stageB.epochs=3', '--set', 'stageB.batchSize=8', '--set', 'stageB.augment=false', '--set', 'stageB.classBalance=sqrt']);
      assert.equal(r.status, 0, r.stderr);
    });
    after(() => (dir = ''));
    const res0 = () => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { sets: { name: string; testName: string | null }[] };

    test('per-set validation accuracy in metrics.jsonl and results.json; test splits scored per set, never trained on', () => {
      const res = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
        labels: string[]; sets: { name: string; weight: number; validation: { accuracy: number } | null; testName: string | null; test: { n: number } | null; dropped: Record<string, number> }[]; calibration: { temperature: number } | null;
      };
      assert.deepEqual(res.labels, BASIC7_LABELS);
      assert.deepEqual(res.sets.map((s) => [s.weight, s.testName]), [[1, 'PublicTest'], [3, 'Val']]);
      for (const s of res.sets) assert.ok(s.validation && s.validation.accuracy >= 0 && s.test && s.test.n > 0, JSON.stringify(s));
      assert.ok((res.sets[1]?.dropped['contempt'] ?? 0) > 0);
      assert.ok((res.calibration?.temperature ?? 0) > 0);
      const epochs = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage?: string; valBySet?: Record<string, number> }).filter((r) => r.stage === 'stageB');
      assert.equal(epochs.length, 3);
      for (const e of epochs) assert.deepEqual(Object.keys(e.valBySet ?? {}).sort(), res.sets.map((s) => s.name).sort());
      const splits = JSON.parse(readFileSync(join(dir, 'splits.json'), 'utf8')) as { train: string[]; validation: string[]; test: string[] }[];
      for (const [k, manifest] of [fx.alpha, fx.beta].entries()) {
        const held = testPaths(manifest);
        const s = splits[k];
        assert.ok(s && s.test.length > 0);
        for (const id of [...(s?.train ?? []), ...(s?.validation ?? [])]) assert.ok(!held.has(id), `test sample ${id} used for training or selection`);
      }
    });

    test('the card holds calibration and the learnt class prior; the export divides logits by T; predict applies it and --prior uniform', async () => {
      const modelPath = join(dir, 'model.safetensors');
      const card = readModelCard(modelPath);
      const t = card.calibration?.temperature ?? Number.NaN;
      assert.ok(t > 0 && card.calibration && card.calibration.eceAfter >= 0, JSON.stringify(card.calibration));
      // which splits were never trained on, per set, for `expnet eval`'s overlap warning
      assert.deepEqual(card.training.sets?.map((e) => e.name), res0().sets.map((e) => e.name));
      res0().sets.forEach((r, k) => assert.ok(r.testName && card.training.sets?.[k]?.heldOutSplits?.includes(r.testName), JSON.stringify(card.training.sets?.[k])));
      assert.deepEqual(card.training.sets?.[1]?.heldOutSplits, ['PrivateTest', 'Val']);
      const freq = card.classFrequencies ?? [];
      assert.equal(freq.length, 7);
      assert.ok(Math.abs(freq.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      assert.equal(freq[BASIC7_LABELS.indexOf('anger')], 0, 'no anger in the synthetic sets');
      // The frequencies as training drew them: set 2 (weight 3) counts drawCounts/size per image.
      const splits = JSON.parse(readFileSync(join(dir, 'splits.json'), 'utf8')) as { train: string[] }[];
      const labelOf = (manifest: string) => new Map(readFileSync(manifest, 'utf8').trim().split('\n').slice(1).map((r) => [r.split(',')[0] ?? '', r.split(',')[1] ?? '']));
      const sizes = splits.map((sp) => sp.train.length);
      const draws = drawCounts([{ name: 'a', size: sizes[0] ?? 0, weight: 1 }, { name: 'b', size: sizes[1] ?? 0, weight: 3 }]);
      const expectedFreq = BASIC7_LABELS.map(() => 0);
      [fx.alpha, fx.beta].forEach((manifest, k) => {
        const labels = labelOf(manifest);
        for (const id of splits[k]?.train ?? []) {
          const c = BASIC7_LABELS.indexOf(labels.get(id) as (typeof BASIC7_LABELS)[number]);
          expectedFreq[c] = (expectedFreq[c] ?? 0) + (draws[k] ?? 0) / (sizes[k] ?? 1);
        }
      });
      const total = expectedFreq.reduce((a, b) => a + b, 0);
      freq.forEach((f, c) => assert.ok(Math.abs(f - (expectedFreq[c] ?? 0) / total) < 1e-9, `class frequencies ${freq} vs the weighted draws ${expectedFreq}`));
      // classBalance sqrt: the loss weighs class c by f_c^(−½), so the model learns a prior ∝ f_c^½.
      const prior = card.classPrior ?? [];
      const root = freq.map(Math.sqrt);
      const sum = root.reduce((a, b) => a + b, 0);
      prior.forEach((v, c) => assert.ok(Math.abs(v - (root[c] ?? 0) / sum) < 1e-9, `prior ${prior} vs sqrt of ${freq}`));
      assert.equal(await exportCommand([modelPath, join(dir, 'mix.onnx')]), 0);
      for (const f of [DETECTOR_FILE, ANCHORS_FILE, LANDMARKS_FILE]) copyFileSync(join(bundledModelDir(), f), join(dir, f));
      // A face crop, and what the libtorch model says about it: softmax(logits / T).
      const px = Buffer.from(Array.from({ length: 48 * 48 }, (_, i) => (i * 37) % 251));
      const crop = Float32Array.from(px, (v) => v / 255);
      const cropFile = join(dir, 'crop.png');
      await sharp(px, { raw: { width: 48, height: 48, channels: 1 } }).png().toFile(cropFile);
      const { model } = loadExpNetModel(modelPath);
      const x = tensor(crop, [1, 1, 48, 48]);
      const z = model.forward(x);
      const expected = softmaxAt(z.floats(), t);
      [x, z].forEach((v) => v.dispose());
      model.dispose();
      const near = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => Array.from(a).forEach((v, i) => assert.ok(Math.abs(v - (b[i] ?? 0)) < 1e-4, `${what}: ${Array.from(a)} vs ${Array.from(b)}`));
      const rec = await createRecognizer({ modelDir: dir, expressionModel: 'mix' });
      const uni = await createRecognizer({ modelDir: dir, expressionModel: 'mix', prior: 'uniform' });
      try {
        near((await rec.classify([crop]))[0] ?? [], expected, 'calibrated probabilities');
        const corrected = reweightProbs(expected, uniformPriorWeights(prior));
        near((await uni.classify([crop]))[0] ?? [], corrected, 'uniform prior');
        const r = cli(['predict', '--crops', '--json', '--models', dir, '--model', 'mix', '--prior', 'uniform', cropFile]);
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { labels: string[]; results: { faces: { expressions: Record<string, number> }[] }[] };
        const viaLibrary = (await uni.classifyCrop(cropFile)).faces[0]?.expressions ?? {};
        const viaCli = out.results[0]?.faces[0]?.expressions ?? {};
        assert.deepEqual(out.labels, [...BASIC7_LABELS]);
        near(out.labels.map((l) => viaCli[l] ?? Number.NaN), out.labels.map((l) => viaLibrary[l] ?? Number.NaN), 'predict --prior uniform');
        const plain = (await rec.classifyCrop(cropFile)).faces[0]?.expressions ?? {};
        assert.ok(out.labels.some((l) => Math.abs((plain[l] ?? 0) - (viaCli[l] ?? 0)) > 1e-3), 'the prior correction changed nothing');
      } finally {
        await rec.dispose();
        await uni.dispose();
      }
    });
  });
});

describe('the named configs in configs/', () => {
  test('each resolves: its data list entries check, the rest is a valid TrainConfig', () => {
    const dir = join(packageRoot(), 'configs');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.ok(files.includes('paper-scale.json') && files.includes('sfew-more-unlabelled.json'), `configs/: ${files.join(', ')}`);
    for (const f of files) {
      const { data, ...rest } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
      const cfg = resolveConfig(rest);
      assert.equal(cfg.student.numClasses, 7, f);
      for (const [i, e] of (Array.isArray(data) ? data : []).entries()) checkDataEntry(e, `${f}: data[${i}]`);
    }
  });
});
