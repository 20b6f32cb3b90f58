import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { cat, liveTensors, noGrad, Program, tensor, type Tensor } from '../src/engine/index.js';
import type { FaceNet } from '../src/nets/faceNet.js';
import { createPretrainedFaceNet } from '../src/nets/faceNetWeights.js';
import { faceApiNets, readRgb, RECOGNITION_LAYERS, recognitionReference } from './helpers/faceApiReference.js';
import { maxAbsDiff, median, noPhotos, photos } from './helpers/facePhotos.js';

/** A deterministic 150×150 RGB pattern, HWC 0..255 (as the reference takes it). */
function synthetic(seed: number): Float32Array {
  const data = new Float32Array(150 * 150 * 3);
  for (let y = 0; y < 150; y++) {
    for (let x = 0; x < 150; x++) {
      for (let c = 0; c < 3; c++) data[(y * 150 + x) * 3 + c] = Math.round(128 + 100 * Math.sin(0.11 * x + 2 * c + seed) * Math.cos(0.07 * y - c));
    }
  }
  return data;
}

/** HWC 0..255 → our input [1, 3, 150, 150] in [0, 1]. */
function toInput(hwc: Float32Array): Tensor {
  const plane = 150 * 150;
  const chw = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = (hwc[3 * p + c] ?? NaN) / 255;
  return tensor(chw, [1, 3, 150, 150]);
}

/** max |a − b| with a NCHW [1, C, H, W] and b NHWC [1, H, W, C]. */
function maxAbsDiffNchwNhwc(a: Tensor, b: { shape: number[]; data: Float32Array }): number {
  const nhwc = a.permute([0, 2, 3, 1]).contiguous();
  assert.deepEqual(nhwc.shape, b.shape);
  const d = maxAbsDiff(nhwc.floats(), b.data);
  nhwc.dispose();
  return d;
}

describe('face recognition net (teacher): port vs face-api (tfjs-wasm)', () => {
  let net: FaceNet;
  before(async () => {
    net = await createPretrainedFaceNet();
    await faceApiNets();
  });
  after(() => net.dispose());

  for (const seed of [0, 1.7]) {
    test(`synthetic input (seed ${seed}): descriptor and conv256_2 within 1e-4, every block reported`, async (t) => {
      const hwc = synthetic(seed);
      const ref = await recognitionReference(hwc);
      const diffs = noGrad(() => {
        const x = toInput(hwc);
        const f = net.features(x);
        const out = new Map<string, number>([['descriptor', maxAbsDiff((f.get('descriptor') as Tensor).floats(), ref.descriptor)]]);
        for (const layer of RECOGNITION_LAYERS) {
          const mine = f.get(layer === 'global_avg' ? 'avg' : layer);
          assert.ok(mine, layer);
          out.set(layer, layer === 'global_avg' ? maxAbsDiff(mine.floats(), ref.activations[layer].data) : maxAbsDiffNchwNhwc(mine, ref.activations[layer]));
        }
        x.dispose();
        for (const v of f.values()) v.dispose();
        return out;
      });
      t.diagnostic([...diffs].map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
      assert.ok((diffs.get('descriptor') ?? Infinity) <= 1e-4, `descriptor ${diffs.get('descriptor')}`);
      assert.ok((diffs.get('conv256_2') ?? Infinity) <= 1e-4, `conv256_2 ${diffs.get('conv256_2')}`);
      for (const [k, v] of diffs) assert.ok(v <= 1e-4, `${k}: ${v}`);
    });
  }

  test('a traced program gives the same descriptors for a batch of 2; no leaks', () => {
    const live = liveTensors();
    noGrad(() => {
      const a = toInput(synthetic(3));
      const b = toInput(synthetic(4));
      const program = Program.trace((x: Tensor) => net.forward(x), [a]);
      const ab = cat([a, b], 0);
      const both = program.run([ab]);
      const y = both[0];
      assert.ok(y);
      assert.deepEqual(y.shape, [2, 128]);
      const all = y.floats();
      const ya = net.forward(a);
      const yb = net.forward(b);
      assert.ok(maxAbsDiff(all.subarray(0, 128), ya.floats()) <= 1e-5);
      assert.ok(maxAbsDiff(all.subarray(128), yb.floats()) <= 1e-5);
      program.dispose();
      for (const t of [a, b, ab, y, ya, yb]) t.dispose();
    });
    assert.equal(liveTensors(), live);
  });

  describe('on the face-api.js sample photos', { skip: noPhotos }, () => {
    test('identity crops (8 × 5, 150×150): descriptors within 1e-4; timings', async (t) => {
      const ours: number[] = [];
      const theirs: number[] = [];
      let worst = 0;
      for (const who of (await readdir(path.join(photos, 'identities'))).sort()) {
        for (const file of (await readdir(path.join(photos, 'identities', who))).sort()) {
          const img = await readRgb(path.join(photos, 'identities', who, file));
          const hwc = Float32Array.from(img.data);
          const ref = await recognitionReference(hwc);
          theirs.push(ref.ms);
          worst = Math.max(worst, noGrad(() => {
            const x = toInput(hwc);
            const t0 = performance.now();
            const y = net.forward(x);
            ours.push(performance.now() - t0);
            const d = maxAbsDiff(y.floats(), ref.descriptor);
            x.dispose();
            y.dispose();
            return d;
          }));
        }
      }
      t.diagnostic(`${ours.length} crops: worst descriptor diff ${worst.toExponential(2)}`);
      t.diagnostic(`descriptor: ours median ${median(ours).toFixed(1)} ms, face-api wasm ${median(theirs).toFixed(1)} ms`);
      assert.ok(worst <= 1e-4, `${worst}`);
    });
  });
});
