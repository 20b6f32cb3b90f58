import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { saveCheckpoint } from '../src/engine/checkpoint.js';
import { liveTensors, manualSeed } from '../src/engine/runtime.js';
import { readCsvManifest } from '../src/data/csvManifest.js';
import { collectActivations, openActivationSource, type LayerActivations } from '../src/eval/layerActivations.js';
import { neuronStudyTable } from '../src/eval/markdown.js';
import { chancePurity, purity, studyUnits, unitPeaks } from '../src/eval/neurons.js';
import { ExpNet } from '../src/nets/expNet.js';
import { saveExpNetModel } from '../src/nets/modelCard.js';
import { loadImageSet } from '../src/train/imageSet.js';
import { writeSyntheticFaces } from './helpers/syntheticFaces.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

describe('neuron study', () => {
  test('purity: share of the most common value; chance purity of random k-subsets', () => {
    assert.deepEqual(purity(['a', 'b', 'a', 'c']), { value: 0.5, label: 'a' });
    assert.deepEqual(purity(['x']), { value: 1, label: 'x' });
    assert.ok(Number.isNaN(purity([]).value));
    assert.equal(chancePurity(['a', 'a', 'a'], 2), 1);
    assert.equal(chancePurity(['a', 'b', 'c'], 1), 1);
    // two of {a, a, b, b}: same pair with probability 1/3 → purity 1/3·1 + 2/3·½ = 2/3
    assert.ok(Math.abs(chancePurity(['a', 'a', 'b', 'b'], 2, 20000) - 2 / 3) < 0.02);
  });

  test('top-k images per unit, ranking, purities and dead units on hand-made activations', () => {
    // 4 images × 3 units × a 1×2 map; unit 2 never fires
    const maps = [
      [[5, 1], [0, 2], [0, 0]],
      [[4, 0], [3, 9], [0, 0]],
      [[0, 1], [0, 8], [0, 0]],
      [[1, 3], [1, 0], [0, 0]],
    ];
    const a: LayerActivations = { images: 4, units: 3, height: 1, width: 2, data: Float32Array.from(maps.flat(2)) };
    const { peak, where } = unitPeaks(a);
    assert.deepEqual(Array.from(peak), [5, 2, 0, 4, 9, 0, 1, 8, 0, 3, 1, 0]);
    assert.deepEqual(Array.from(where), [0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0]);
    const s = studyUnits(a, 'L', ['happy', 'happy', 'sad', 'happy'], ['S1', 'S2', 'S2', 'S3'], 2, 5);
    assert.equal(s.deadUnits, 1);
    assert.deepEqual(s.units.map((u) => u.unit), [1, 0]); // unit 1: mean top-2 peak 8.5 > unit 0: 4.5
    assert.deepEqual(s.units[0]?.top, [1, 2]);
    assert.deepEqual(s.units[0]?.where, [1, 1]);
    assert.deepEqual(s.units[0]?.expression, { value: 0.5, label: 'happy' });
    assert.deepEqual(s.units[0]?.subject, { value: 1, label: 'S2' });
    assert.deepEqual(s.units[1]?.top, [0, 1]);
    assert.deepEqual(s.units[1]?.expression, { value: 1, label: 'happy' });
    assert.equal(s.meanExpressionPurity, 0.75);
    assert.equal(s.meanSubjectPurity, 0.75);
    assert.match(neuronStudyTable([{ model: 'm', layer: 'L', units: 2, k: 2, expression: 0.75, expressionChance: 0.5, subject: 0.75, subjectChance: 0.4 }]), /\| m \| L \| 2 \| 2 \| 75\.0 \(chance 50\.0\) \| 75\.0 \(chance 40\.0\) \|/);
  });

  test('layer activations of an expnet model and of a run checkpoint (config from the run folder); CLI grid + JSON', async () => {
    const { manifest } = await writeSyntheticFaces(4, 3);
    const dir = mkdtempSync(join(tmpdir(), 'expnet-neurons-'));
    manualSeed(5);
    const net = new ExpNet({ widths: [4, 4, 8, 8, 8], fcHidden: 0, numClasses: 3 }).eval();
    const model = join(dir, 'model.safetensors');
    saveExpNetModel(model, net, {
      name: 'n', task: 'expression', arch: 'expnet', input: { size: 48, channels: 1, range: [0, 1], layout: 'NCHW' }, labels: ['happy', 'sadness', 'surprise'], config: net.config,
      method: 'scratch', training: { data: '', command: '', seed: 0, epochs: {} }, metrics: {}, licence: '', provenance: '', created: '',
    });
    // a run's fold folder: checkpoint + the run's config.json one level up
    mkdirSync(join(dir, 'run', 'fold1-fn2en'), { recursive: true });
    writeFileSync(join(dir, 'run', 'config.json'), JSON.stringify({ config: { student: net.config } }));
    const ckpt = join(dir, 'run', 'fold1-fn2en', 'stageB.best.safetensors');
    saveCheckpoint(ckpt, { model: net });
    net.dispose();

    const ds = await readCsvManifest(manifest);
    const set = await loadImageSet(ds, ds.samples.map((_, i) => i), { channels: 1, height: 48, width: 48 });
    const live = liveTensors();
    for (const path of [model, ckpt]) {
      const src = await openActivationSource(path);
      assert.deepEqual(src.layers, ['block1', 'block2', 'block3', 'block4', 'block5']);
      const a5 = collectActivations(src, set, 'block5', 5);
      assert.deepEqual([a5.images, a5.units, a5.height, a5.width], [12, 8, 3, 3]);
      const a3 = collectActivations(src, set, 'block3');
      assert.deepEqual([a3.units, a3.height], [8, 12]);
      assert.throws(() => collectActivations(src, set, 'conv256_1'), /block1, block2/);
      src.model.dispose();
    }
    assert.equal(liveTensors(), live, 'no tensor leaks');
    const out = join(dir, 'out');
    const r = spawnSync(process.execPath, [...process.execArgv, main, 'neurons', model, ckpt, manifest, '--k', '4', '--units', '3', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\| model \| layer \|/);
    const j = JSON.parse(readFileSync(join(out, 'neurons.json'), 'utf8')) as { images: number; studies: { k: number; units: { top: string[] }[]; grid: string }[] };
    assert.equal(j.images, 12);
    assert.equal(j.studies.length, 2);
    assert.equal(j.studies[0]?.k, 4);
    assert.ok((j.studies[0]?.units.length ?? 0) <= 3);
    assert.ok(j.studies[0]?.units[0]?.top[0]?.endsWith('.png'), 'top images are named by their sample path');
    assert.deepEqual(j.studies[0]?.units, j.studies[1]?.units, 'the checkpoint is the same net as the model');
    assert.ok(existsSync(j.studies[0]?.grid ?? ''));
  });
});
