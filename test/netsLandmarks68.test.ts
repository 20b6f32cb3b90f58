import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { cat, liveTensors, noGrad, Program, type Tensor } from '../src/engine/index.js';
import { loadFaceApiWeights } from '../src/formats/tfjs/tfjsManifest.js';
import { detectLandmarks, type Point } from '../src/faces/landmarks.js';
import { toNetInput } from '../src/faces/netInput.js';
import { rgbToTensor, type RgbImage } from '../src/faces/rgbImage.js';
import type { Landmarks68 } from '../src/nets/landmarks68.js';
import { createPretrainedLandmarks68, landmarks68StateFromTfjs } from '../src/nets/landmarks68Weights.js';
import { cropRgb, detectReference, faceApiNets, landmarksReference, readRgb } from './helpers/faceApiReference.js';
import { maxAbsDiff, median, noPhotos, photos, synthetic } from './helpers/facePhotos.js';

/** Worst |Δx|, |Δy| between our points and face-api's. */
function worstPoint(ours: Point[], ref: Array<[number, number]>): number {
  assert.equal(ours.length, ref.length);
  return ours.reduce((m, p, i) => Math.max(m, Math.abs(p.x - (ref[i]?.[0] ?? NaN)), Math.abs(p.y - (ref[i]?.[1] ?? NaN))), 0);
}

/** Our raw 136 outputs and 256 features for a crop. */
function rawOutputs(net: Landmarks68, img: RgbImage): { raw: Float32Array; features: Float32Array } {
  return noGrad(() => {
    const x = rgbToTensor(img);
    const input = toNetInput(x, 112, true);
    const raw = net.forward(input.tensor);
    const features = net.features(input.tensor);
    const out = { raw: raw.floats(), features: features.floats() };
    for (const t of [x, input.tensor, raw, features]) t.dispose();
    return out;
  });
}

describe('68-point landmarks: port vs face-api (tfjs-wasm)', () => {
  let net: Landmarks68;
  before(async () => {
    net = await createPretrainedLandmarks68();
    await faceApiNets();
  });
  after(() => net.dispose());

  test('weights: all 49 used once; a missing or an extra weight is an error', async () => {
    const map = await loadFaceApiWeights('face_landmark_68_model');
    assert.equal(map.size, 49);
    assert.equal(landmarks68StateFromTfjs(map).size, net.stateDict().size);
    const extra = new Map(map).set('dense4/conv0/bias', { shape: [1], data: new Float32Array(1) });
    assert.throws(() => landmarks68StateFromTfjs(extra), /unused weights dense4\/conv0\/bias/);
    const missing = new Map(map);
    missing.delete('dense2/conv1/depthwise_filter');
    assert.throws(() => landmarks68StateFromTfjs(missing), /'dense2\/conv1\/depthwise_filter' is missing/);
  });

  for (const [w, h] of [[112, 112], [97, 130], [150, 101], [40, 40]] as const) {
    test(`synthetic ${w}×${h} crop: raw output and features ≤ 1e-4, points within 1 px`, async (t) => {
      const img = synthetic(w, h, w + h);
      const ref = await landmarksReference(img);
      const ours = rawOutputs(net, img);
      const dRaw = maxAbsDiff(ours.raw, ref.raw);
      const dFeat = maxAbsDiff(ours.features, ref.features.data);
      const image = rgbToTensor(img);
      const pts = detectLandmarks(net, image);
      image.dispose();
      assert.ok(pts);
      const dPts = worstPoint(pts, ref.positions);
      t.diagnostic(`max abs diff: raw ${dRaw.toExponential(2)}, features ${dFeat.toExponential(2)}, points ${dPts.toExponential(2)} px`);
      assert.ok(dRaw <= 1e-4 && dFeat <= 1e-4 && dPts <= 1, `raw ${dRaw}, features ${dFeat}, points ${dPts}`);
    });
  }

  test('batch-agnostic and traceable: a program traced at batch 1 runs a batch of 2; no leaks', () => {
    noGrad(() => {
      const a = toNetInput(rgbToTensor(synthetic(112, 112, 1)), 112, true).tensor;
      const b = toNetInput(rgbToTensor(synthetic(112, 112, 2)), 112, true).tensor;
      const program = Program.trace((x: Tensor) => net.forward(x), [a]);
      const [y] = program.run([cat([a, b], 0)]);
      assert.ok(y);
      assert.deepEqual(y.shape, [2, 136]);
      const all = y.floats();
      assert.ok(maxAbsDiff(all.subarray(0, 136), net.forward(a).floats()) <= 1e-6);
      assert.ok(maxAbsDiff(all.subarray(136), net.forward(b).floats()) <= 1e-6);
      program.dispose();
    });
    const image = rgbToTensor(synthetic(120, 90));
    const live = liveTensors();
    assert.equal(detectLandmarks(net, image, { x: 500, y: 0, width: 10, height: 10 }), null);
    assert.equal(detectLandmarks(net, image, { x: -10, y: 20, width: 60, height: 80 })?.length, 68);
    assert.equal(liveTensors(), live);
    image.dispose();
  });

  describe('on the face-api.js sample photos', { skip: noPhotos }, () => {
    test('face-api test images (whole image = crop): points within 1 px', async (t) => {
      for (const file of ['face1.png', 'face2.png', 'face_rectangular.png']) {
        const img = await readRgb(path.join(photos, 'test-images', file));
        const ref = await landmarksReference(img);
        const image = rgbToTensor(img);
        const pts = detectLandmarks(net, image);
        image.dispose();
        assert.ok(pts);
        const worst = worstPoint(pts, ref.positions);
        t.diagnostic(`${file} ${img.width}×${img.height}: worst point error ${worst.toExponential(2)} px`);
        assert.ok(worst <= 1, `${file}: ${worst} px`);
      }
    });

    test('detect → crop → landmarks on the group photos (face-api SSD boxes): points within 1 px; timings', async (t) => {
      const ours: number[] = [];
      const theirs: number[] = [];
      let worst = 0;
      let faces = 0;
      for (const file of (await readdir(path.join(photos, 'group'))).sort()) {
        const img = await readRgb(path.join(photos, 'group', file));
        const image = rgbToTensor(img);
        for (const box of (await detectReference(img, { raw: false })).ssd.detections) {
          const ref = await landmarksReference(cropRgb(img, box));
          const t0 = performance.now();
          const pts = detectLandmarks(net, image, box);
          ours.push(performance.now() - t0);
          theirs.push(ref.ms);
          assert.ok(pts);
          // face-api shifts the crop's points by the unclipped, unfloored box corner (withFaceLandmarks).
          worst = Math.max(worst, worstPoint(pts, ref.positions.map(([x, y]) => [x + box.x, y + box.y])));
          faces++;
        }
        image.dispose();
      }
      t.diagnostic(`${faces} faces: worst point error ${worst.toExponential(2)} px`);
      t.diagnostic(`landmarks per face: ours median ${median(ours).toFixed(1)} ms (crop + resize + net), face-api wasm ${median(theirs).toFixed(1)} ms`);
      assert.ok(worst <= 1, `${worst} px`);
    });
  });
});
