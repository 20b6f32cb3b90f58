import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Rng } from '../src/data/rng.js';
import { resolveConfig } from '../src/train/config.js';
import { buildCache } from '../src/train/featureCache.js';
import { batchOf, pickViews, viewBatch, type ImageSet } from '../src/train/imageSet.js';
import { createRunContext } from '../src/train/runContext.js';
import { classWeights, trainMethod } from '../src/train/trainMethod.js';
import { Module } from '../src/engine/module.js';
import type { Tensor } from '../src/engine/tensor.js';

/** n random 1×8×8 images. */
function randomSet(n: number): ImageSet {
  const rng = new Rng(7);
  const x = Float32Array.from({ length: n * 64 }, () => rng.next());
  return { x, y: Int32Array.from({ length: n }, (_, i) => i % 3), sampleIndex: Array.from({ length: n }, (_, i) => i), shape: { channels: 1, height: 8, width: 8 }, skipped: [] };
}

/** A tensor's values; the tensor is disposed. */
function take(t: Tensor): Float32Array {
  const v = t.floats();
  t.dispose();
  return v;
}

class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

describe('cached views (teacher.views)', () => {
  test('views 0 and 1 are the image and its mirror; views ≥ 2 are augmentations fixed per (seed, image, view)', () => {
    const set = randomSet(6);
    const { x: plain, y: labels } = batchOf(set, [2, 4], null, null, [0, 1]);
    labels.dispose();
    const v = viewBatch(set, [2, 4], [0, 1], 1);
    assert.deepEqual(v.floats(), plain.floats());
    // View 3 of image 4 does not depend on what else is in the batch, nor on its position.
    const a = take(viewBatch(set, [4, 1], [3, 2], 1)).slice(0, 64);
    const b = take(viewBatch(set, [0, 5, 4], [0, 0, 3], 1)).slice(128, 192);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, set.x.slice(4 * 64, 5 * 64), 'view 3 is augmented');
    assert.notDeepEqual(take(viewBatch(set, [4], [3], 2)), Float32Array.from(a), 'another seed, another augmentation');
    [plain, v].forEach((t) => t.dispose());
  });

  test('the cache holds exactly the pixels viewBatch gives the student', () => {
    const set = randomSet(5);
    const c = buildCache(set, 4, 9, new Identity(), (x) => x.mul(1), 2);
    assert.equal(c.views, 4);
    for (const [img, view] of [[3, 2], [0, 1], [4, 3]] as const) {
      const want = viewBatch(set, [img], [view], 9);
      assert.deepEqual(c.data.slice((img * 4 + view) * 64, (img * 4 + view + 1) * 64), want.floats());
      want.dispose();
    }
  });

  test('pickViews draws every view, and for 2 views the historical mirror draws', () => {
    const drawn = pickViews(400, 5, new Rng(3));
    for (let v = 0; v < 5; v++) assert.ok(drawn.includes(v), `view ${v} drawn`);
    const r = new Rng(11);
    const old = Array.from({ length: 50 }, () => (r.next() < 0.5 ? 1 : 0));
    assert.deepEqual(pickViews(50, 2, new Rng(11)), old);
  });

  test('config: teacher.views must be an integer ≥ 1', () => {
    assert.throws(() => resolveConfig({ teacher: { views: 0 } }), /config\.teacher\.views: expected an integer ≥ 1/);
    assert.throws(() => resolveConfig({ teacher: { views: 2.5 } }), /config\.teacher\.views/);
    assert.equal(resolveConfig({ teacher: { views: 6 } }).teacher.views, 6);
  });

  test('fn2en with 4 cached views: stage (a) regression loss goes down', async () => {
    const set = randomSet(24);
    // 48×48 student input: upsample the 8×8 images by repetition.
    const big = new Float32Array(24 * 48 * 48);
    for (let i = 0; i < 24; i++)
      for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) big[i * 2304 + y * 48 + x] = set.x[i * 64 + Math.floor(y / 6) * 8 + Math.floor(x / 6)] as number;
    const train: ImageSet = { ...set, x: big, shape: { channels: 1, height: 48, width: 48 } };
    const dir = mkdtempSync(join(tmpdir(), 'expnet-views-'));
    const cfg = resolveConfig({
      method: 'fn2en',
      teacher: { fineTune: false, views: 4 },
      stageA: { epochs: 4, batchSize: 8, warmupEpochs: 0 },
      stageB: { epochs: 1, batchSize: 8, warmupEpochs: 0, augment: false },
    });
    const t = await trainMethod(cfg, { train, val: { ...train, x: big.slice(0, 0), y: new Int32Array(0), sampleIndex: [] } }, createRunContext(dir, { seed: 1 }), 3);
    const la = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage?: string; loss?: number }).filter((r) => r.stage === 'stageA' && r.loss !== undefined).map((r) => r.loss as number);
    assert.equal(la.length, 4);
    assert.ok((la.at(-1) ?? 9) < (la[0] ?? 0), `stage (a) loss ${la.join(' → ')}`);
    t.dispose();
  });
});

describe('class-balanced cross-entropy (classBalance)', () => {
  test('weights (n̄/n_c)^p average 1 over the training images; none gives no weights', () => {
    const y = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 2]);
    assert.deepEqual(classWeights('none', y, 3, 'cpu'), {});
    for (const [balance, p] of [['sqrt', 0.5], ['inverse', 1]] as const) {
      const { weight } = classWeights(balance, y, 3, 'cpu');
      const w = weight?.floats() ?? new Float32Array();
      weight?.dispose();
      const mean = Array.from(y, (c) => w[c] ?? 0).reduce((a, b) => a + b, 0) / y.length;
      assert.ok(Math.abs(mean - 1) < 1e-6, `${balance}: mean weight ${mean}`);
      assert.ok(Math.abs((w[1] ?? 0) / (w[0] ?? 1) - 3 ** p) < 1e-5, `${balance}: ratio of class 1 to class 0`);
    }
    const absent = classWeights('inverse', Int32Array.from([0, 1]), 3, 'cpu');
    assert.equal(absent.weight?.floats()[2], 0, 'a class without training images gets weight 0');
    absent.weight?.dispose();
    assert.throws(() => resolveConfig({ stageB: { classBalance: 'square' } }), /config\.stageB\.classBalance: expected none, sqrt, inverse/);
  });

  test('a weighted stage trains (scratch, classBalance inverse): its loss is the weighted one', async () => {
    const set = randomSet(12);
    const big = new Float32Array(12 * 48 * 48).map((_, k) => set.x[Math.floor(k / 36) % set.x.length] as number);
    const train: ImageSet = { ...set, y: Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2]), x: big, shape: { channels: 1, height: 48, width: 48 } };
    const run = async (classBalance: string): Promise<number> => {
      const dir = mkdtempSync(join(tmpdir(), 'expnet-cb-'));
      const cfg = resolveConfig({ method: 'scratch', seed: 3, stageB: { epochs: 1, batchSize: 12, warmupEpochs: 0, augment: false, classBalance } });
      const t = await trainMethod(cfg, { train, val: { ...train, y: new Int32Array(0), sampleIndex: [] } }, createRunContext(dir, { seed: 3 }), 3);
      t.dispose();
      const l = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x) as { loss?: number }).find((r) => r.loss !== undefined);
      return l?.loss ?? NaN;
    };
    const plain = await run('none');
    const weighted = await run('inverse');
    assert.ok(Number.isFinite(weighted));
    // Same seed, same first step: only the class weights differ, so the logged loss must too.
    assert.notEqual(weighted, plain);
  });
});
