import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readImageFolder } from '../src/data/imageFolder.js';
import { packageRoot } from '../src/engine/native.js';
import { tensor } from '../src/engine/creation.js';
import { manualSeed, noGrad } from '../src/engine/runtime.js';
import { explainCrop } from '../src/eval/explain.js';
import { ExpNet } from '../src/nets/expNet.js';
import { saveExpNetModel } from '../src/nets/modelCard.js';
import { writeSyntheticFaces } from './helpers/syntheticFaces.js';
import { DEFAULT_EXPRESSION_MODEL } from '../src/infer/bundleFiles.js';

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [...process.execArgv, main, 'explain', ...args], { encoding: 'utf8' });

describe('explain (Grad-CAM on faces)', () => {
  let root: string;
  let dir: string;
  let modelPath: string;
  before(async () => {
    root = (await writeSyntheticFaces(8, 4)).root;
    dir = mkdtempSync(join(tmpdir(), 'expnet-explain-'));
    const ds = await readImageFolder(root);
    manualSeed(11);
    const net = new ExpNet({ widths: [4, 8, 8, 8, 8], fcHidden: 0, dropout: 0, batchNorm: false, numClasses: 3 }).eval();
    modelPath = join(dir, 'model.safetensors');
    saveExpNetModel(modelPath, net, {
      name: 'random', task: 'expression', arch: 'expnet', input: { size: 48, channels: 1, range: [0, 1], layout: 'NCHW' }, labels: [...ds.labels], config: net.config,
      method: 'scratch', training: { data: 'none (random weights)', command: 'test', seed: 11, epochs: {} }, metrics: {}, licence: 'MIT', provenance: 'test', created: new Date(0).toISOString(),
    });
    net.dispose();
  });

  test('a hand-set ExpNet with a known answer: identity convs, so the map is the pooled input, signed by the head', () => {
    // 1-channel blocks whose 3×3 convs pass the centre pixel through (ReLU keeps the non-negative input), so
    // block k's output is the input max-pooled 2^(k−1)×; the head sees the one remaining value with weights [2, −1].
    const n = new ExpNet({ inputSize: 32, widths: [1, 1, 1, 1, 1], batchNorm: false, fcHidden: 0, dropout: 0, numClasses: 2 });
    const centre = Float32Array.from({ length: 9 }, (_, i) => (i === 4 ? 1 : 0));
    noGrad(() => {
      for (const [name, p] of n.namedParameters()) {
        if (/^block\d\.0\.weight$/.test(name)) p.assign(tensor(centre, [1, 1, 3, 3]));
        else if (name === 'head.1.weight') p.assign(tensor([2, -1], [2, 1]));
        else p.assign(tensor(new Float32Array(p.size), [...p.shape]));
      }
    });
    const crop = new Float32Array(32 * 32);
    crop[6 * 32 + 21] = 0.8; // one bright pixel at x 21, y 6
    const e5 = explainCrop(n.eval(), ['a', 'b'], crop, { chosen: 'b' });
    assert.equal(e5.predicted.label, 'a');
    assert.deepEqual([e5.height, e5.width], [2, 2]);
    assert.deepEqual(Array.from(e5.predicted.map), [0, 1, 0, 0]); // the 16-px cell holding the pixel
    assert.deepEqual(Array.from(e5.chosen?.map ?? []), [0, 0, 0, 0]); // negative evidence: ReLU leaves nothing
    const e4 = explainCrop(n, ['a', 'b'], crop, { block: 4 });
    assert.deepEqual([e4.height, e4.width], [4, 4]);
    assert.deepEqual(Array.from(e4.predicted.map), [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const logits = e5.probs;
    assert.ok(Math.abs((logits['a'] ?? 0) - 1 / (1 + Math.exp(-2.4))) < 1e-5, 'p(a) = σ(2·0.8 − (−1·0.8))');
    // a calibrated card: probabilities softmax(z / T), as the exported graph gives them; the maps do not move
    const t2 = explainCrop(n, ['a', 'b'], crop, { chosen: 'b', temperature: 2 });
    assert.ok(Math.abs((t2.probs['a'] ?? 0) - 1 / (1 + Math.exp(-1.2))) < 1e-5, 'p(a) = σ(2.4 / 2)');
    assert.equal(t2.predicted.probability, t2.probs['a']);
    assert.deepEqual(Array.from(t2.predicted.map), Array.from(e5.predicted.map));
    n.dispose();
  });

  test('CLI --crop: PNG with crop and maps, JSON with probabilities and a 3×3 map (block 5)', async () => {
    const img = join(root, 'happy', 'img0.png');
    const out = join(dir, 'x.gradcam.png');
    const r = cli(img, '--crop', '--model', modelPath, '--class', 'surprise', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { faces: { probs: Record<string, number>; predicted: { label: string; map: number[] }; chosen: { label: string }; mapSize: number[] }[] };
    assert.equal(j.faces.length, 1);
    const f = j.faces[0]!;
    assert.deepEqual(f.mapSize, [3, 3]);
    assert.equal(f.predicted.map.length, 9);
    assert.ok(Math.abs(Object.values(f.probs).reduce((a, b) => a + b, 0) - 1) < 1e-4);
    assert.equal(f.chosen.label, 'surprise');
    assert.ok([0, 1].includes(Math.max(...f.predicted.map)), 'maps are scaled to [0, 1] (all 0 when no evidence survives the ReLU)');
    const meta = await sharp(readFileSync(out)).metadata();
    assert.ok(meta.format === 'png' && (meta.width ?? 0) >= 3 * 192);
    const bad = cli(img, '--crop', '--model', modelPath, '--class', 'contempt', '--out', out);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /labels are happy, sadness, surprise/);
    assert.equal(cli(img, '--crop', '--model', join(dir, 'missing.safetensors')).status, 3);
  });

  test('CLI on a photo: the face is detected, aligned and explained (ORT detector + landmarks)', async (t) => {
    const bundle = join(dir, 'bundle');
    const { bundleCommand } = await import('../src/cli/export.js');
    assert.equal(await bundleCommand(['--model', modelPath, '--out', bundle, '--name', DEFAULT_EXPRESSION_MODEL]), 0);
    const out = join(dir, 'astronaut.gradcam.png');
    const astronaut = join(packageRoot(), 'examples', 'astronaut.png');
    const r = cli(astronaut, '--model', modelPath, '--models', bundle, '--layer', 'block4', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { faces: { box: { x: number; width: number }; mapSize: number[] }[] };
    assert.equal(j.faces.length, 1);
    assert.deepEqual(j.faces[0]?.mapSize, [6, 6]);
    assert.ok(existsSync(out));
    const meta = await sharp(readFileSync(out)).metadata();
    assert.ok((meta.width ?? 0) >= 512 && (meta.height ?? 0) > 512 + 192, `${meta.width}×${meta.height}`);
    t.diagnostic(`face box x ${j.faces[0]?.box.x.toFixed(1)}, width ${j.faces[0]?.box.width.toFixed(1)}`);
  });

  test(
    'the Recognizer’s landmarks put the mouth below the eyes (needed for a sensible aligned crop)',
    async () => {
      const { createRecognizer } = await import('../src/infer/recognizer.js');
      const { alignmentPoints } = await import('../src/faces/align.js');
      const rec = await createRecognizer({ modelDir: join(dir, 'bundle') });
      try {
        const r = await rec.detect(join(packageRoot(), 'examples', 'astronaut.png'));
        const [l, rt, m] = alignmentPoints(r.faces[0]?.landmarks ?? []);
        assert.ok(m.y > Math.max(l.y, rt.y) + 20 && rt.x - l.x > 25, JSON.stringify({ l, rt, m }));
      } finally {
        await rec.dispose();
      }
    },
  );
});
