import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { cat, liveTensors, noGrad, Program, type Tensor } from '../src/engine/index.js';
import { loadFaceApiWeights } from '../src/formats/tfjs/tfjsManifest.js';
import { detectFacesTiny } from '../src/faces/detectFaces.js';
import { toNetInput } from '../src/faces/netInput.js';
import { rgbToTensor, type RgbImage } from '../src/faces/rgbImage.js';
import type { TinyFaceDetector } from '../src/nets/tinyFaceDetector.js';
import { createPretrainedTinyFaceDetector, tinyFaceDetectorStateFromTfjs } from '../src/nets/tinyFaceDetectorWeights.js';
import { detectReference, faceApiNets, readRgb } from './helpers/faceApiReference.js';
import { assertSameFaces, maxAbsDiff, median, noPhotos, photos, synthetic } from './helpers/facePhotos.js';

/** Same number of faces; each face-api box has one of ours within `px` on x, y, width, height and 1e-3 on score. */

/** Our raw grid as NHWC (face-api's layout). */
function gridNhwc(net: TinyFaceDetector, img: RgbImage, inputSize = 416): Float32Array {
  return noGrad(() => {
    const x = rgbToTensor(img);
    const input = toNetInput(x, inputSize, false);
    const out = net.forward(input.tensor);
    const nhwc = out.permute([0, 2, 3, 1]).contiguous();
    const data = nhwc.floats();
    for (const t of [x, input.tensor, out, nhwc]) t.dispose();
    return data;
  });
}

describe('tiny face detector: port vs face-api (tfjs-wasm)', () => {
  let net: TinyFaceDetector;
  before(async () => {
    net = await createPretrainedTinyFaceDetector();
    await faceApiNets();
  });
  after(() => net.dispose());

  test('weights: all 19 used once; a missing or an extra weight is an error', async () => {
    const map = await loadFaceApiWeights('tiny_face_detector_model');
    assert.equal(map.size, 19);
    assert.equal(tinyFaceDetectorStateFromTfjs(map).size, net.stateDict().size);
    const extra = new Map(map).set('conv9/bias', { shape: [1], data: new Float32Array(1) });
    assert.throws(() => tinyFaceDetectorStateFromTfjs(extra), /unused weights conv9\/bias/);
    const missing = new Map(map);
    missing.delete('conv3/bias');
    assert.throws(() => tinyFaceDetectorStateFromTfjs(missing), /'conv3\/bias' is missing/);
  });

  for (const [w, h, size] of [[416, 416, 416], [200, 160, 416], [130, 300, 416], [333, 250, 320]] as const) {
    test(`raw grid on a synthetic ${w}×${h} image, input ${size}: max abs diff ≤ 1e-4`, async (t) => {
      const img = synthetic(w, h, w);
      const ref = await detectReference(img, { tinyInputSize: size });
      const grid = ref.tiny.raw?.grid;
      assert.ok(grid);
      assert.deepEqual(grid.shape, [1, size / 32, size / 32, 25]);
      const diff = maxAbsDiff(gridNhwc(net, img, size), grid.data);
      const scale = grid.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      t.diagnostic(`max abs diff ${diff.toExponential(2)} (outputs up to ${scale.toFixed(1)})`);
      assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
    });
  }

  test('batch-agnostic and traceable: a program traced at batch 1 runs a batch of 2', () => {
    noGrad(() => {
      const a = toNetInput(rgbToTensor(synthetic(416, 416, 1)), 416, false).tensor;
      const b = toNetInput(rgbToTensor(synthetic(416, 416, 2)), 416, false).tensor;
      const program = Program.trace((x: Tensor) => net.forward(x), [a]);
      const [y] = program.run([cat([a, b], 0)]);
      assert.ok(y);
      assert.deepEqual(y.shape, [2, 25, 13, 13]);
      const y0 = net.forward(a).floats();
      const all = y.floats();
      assert.ok(maxAbsDiff(all.subarray(0, y0.length), y0) <= 1e-5);
      assert.ok(maxAbsDiff(all.subarray(y0.length), net.forward(b).floats()) <= 1e-5);
      program.dispose();
    });
  });

  test('input size must be a multiple of 32; detectFacesTiny leaks nothing', () => {
    noGrad(() => {
      const x = toNetInput(rgbToTensor(synthetic(100, 100)), 100, false);
      assert.throws(() => net.forward(x.tensor), /multiple of 32/);
      x.tensor.dispose();
    });
    const image = rgbToTensor(synthetic(120, 90));
    const live = liveTensors();
    detectFacesTiny(net, image);
    assert.equal(liveTensors(), live);
    image.dispose();
  });

  describe('on the face-api.js sample photos', { skip: noPhotos }, () => {
    test('group photos: same faces as face-api, boxes within 1 px, scores within 1e-3; timings', async (t) => {
      const ours: number[] = [];
      const theirs: number[] = [];
      for (const file of (await readdir(path.join(photos, 'group'))).sort()) {
        const img = await readRgb(path.join(photos, 'group', file));
        const ref = await detectReference(img, { raw: false });
        const image = rgbToTensor(img);
        const t0 = performance.now();
        const faces = detectFacesTiny(net, image);
        ours.push(performance.now() - t0);
        theirs.push(ref.tiny.ms);
        image.dispose();
        const worst = assertSameFaces(faces, ref.tiny.detections, file);
        t.diagnostic(`${file}: ${faces.length} faces, worst box error ${worst.toExponential(2)} px`);
      }
      t.diagnostic(`detect (416): ours median ${median(ours).toFixed(1)} ms, face-api wasm ${median(theirs).toFixed(1)} ms`);
    });
  });
});
