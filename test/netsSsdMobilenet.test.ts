import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { cat, liveTensors, noGrad, Program, type Tensor } from '../src/engine/index.js';
import { loadFaceApiWeights } from '../src/formats/tfjs/tfjsManifest.js';
import { detectFacesSsd } from '../src/faces/detectFaces.js';
import { decodeSsdBoxes } from '../src/faces/decodeSsdFaces.js';
import { toNetInput } from '../src/faces/netInput.js';
import { rgbToTensor, type RgbImage } from '../src/faces/rgbImage.js';
import type { SsdMobilenet } from '../src/nets/ssdMobilenet.js';
import { createPretrainedSsdMobilenet, ssdMobilenetStateFromTfjs } from '../src/nets/ssdMobilenetWeights.js';
import { detectReference, faceApiNets, readRgb } from './helpers/faceApiReference.js';
import { assertSameFaces, maxAbsDiff, median, noPhotos, photos, synthetic } from './helpers/facePhotos.js';

/** Same number of faces; each face-api box has one of ours within `px` on x, y, width, height and 1e-3 on score. */

/** Our decoded corners [5118·4] and face scores [5118] for an image (face-api's `forwardInput` outputs). */
function rawOutputs(net: SsdMobilenet, img: RgbImage): { corners: Float32Array; scores: Float32Array } {
  return noGrad(() => {
    const x = rgbToTensor(img);
    const input = toNetInput(x, 512, false);
    const { encodings, scores } = net.outputs(input.tensor);
    const out = { corners: decodeSsdBoxes(encodings.floats(), net.anchors.floats()), scores: scores.floats() };
    for (const t of [x, input.tensor, encodings, scores]) t.dispose();
    return out;
  });
}

describe('SSD MobileNetV1: port vs face-api (tfjs-wasm)', () => {
  let net: SsdMobilenet;
  before(async () => {
    net = await createPretrainedSsdMobilenet();
    await faceApiNets();
  });
  after(() => net.dispose());

  test('weights: all 151 used once (graph constants checked); missing, extra or changed weights are errors', async () => {
    const map = await loadFaceApiWeights('ssd_mobilenetv1_model');
    assert.equal(map.size, 151);
    assert.equal(ssdMobilenetStateFromTfjs(map).size, net.stateDict().size);
    const extra = new Map(map).set('Prediction/BoxPredictor_6/biases', { shape: [1], data: new Float32Array(1) });
    assert.throws(() => ssdMobilenetStateFromTfjs(extra), /unused weights Prediction\/BoxPredictor_6\/biases/);
    const missing = new Map(map);
    missing.delete('MobilenetV1/Conv2d_7_depthwise/BatchNorm/gamma');
    assert.throws(() => ssdMobilenetStateFromTfjs(missing), /'MobilenetV1\/Conv2d_7_depthwise\/BatchNorm\/gamma' is missing/);
    const changed = new Map(map).set('Postprocessor/stack/1', { shape: [], data: Int32Array.from([5000]) });
    assert.throws(() => ssdMobilenetStateFromTfjs(changed), /constant 'Postprocessor\/stack\/1' is \[5000\], expected \[5118\]/);
  });

  for (const [w, h] of [[512, 512], [200, 160], [130, 300]] as const) {
    test(`raw boxes and scores on a synthetic ${w}×${h} image: max abs diff ≤ 1e-4`, async (t) => {
      const img = synthetic(w, h, w);
      const ref = (await detectReference(img)).ssd.raw;
      assert.ok(ref);
      const ours = rawOutputs(net, img);
      const dBoxes = maxAbsDiff(ours.corners, ref.boxes.data);
      const dScores = maxAbsDiff(ours.scores, ref.scores.data);
      t.diagnostic(`max abs diff: boxes ${dBoxes.toExponential(2)}, scores ${dScores.toExponential(2)}`);
      assert.ok(dBoxes <= 1e-4 && dScores <= 1e-4, `boxes ${dBoxes}, scores ${dScores}`);
    });
  }

  test('batch-agnostic and traceable: a program traced at batch 1 runs a batch of 2', () => {
    noGrad(() => {
      const a = toNetInput(rgbToTensor(synthetic(512, 512, 1)), 512, false).tensor;
      const b = toNetInput(rgbToTensor(synthetic(512, 512, 2)), 512, false).tensor;
      const program = Program.trace((x: Tensor) => net.forward(x), [a]);
      const [y] = program.run([cat([a, b], 0)]);
      assert.ok(y);
      assert.deepEqual(y.shape, [2, 5118, 5]);
      const y0 = net.forward(a).floats();
      const all = y.floats();
      assert.ok(maxAbsDiff(all.subarray(0, y0.length), y0) <= 1e-5);
      assert.ok(maxAbsDiff(all.subarray(y0.length), net.forward(b).floats()) <= 1e-5);
      program.dispose();
    });
  });

  test('input must be [N, 3, 512, 512]; detectFacesSsd leaks nothing', () => {
    noGrad(() => {
      const x = toNetInput(rgbToTensor(synthetic(100, 100)), 416, false);
      assert.throws(() => net.forward(x.tensor), /expected \[N, 3, 512, 512\]/);
      x.tensor.dispose();
    });
    const image = rgbToTensor(synthetic(120, 90));
    const live = liveTensors();
    detectFacesSsd(net, image);
    assert.equal(liveTensors(), live);
    image.dispose();
  });

  describe('on the face-api.js sample photos', { skip: noPhotos }, () => {
    test('group and expression photos: same faces as face-api, boxes within 1 px, scores within 1e-3; timings', async (t) => {
      const ours: number[] = [];
      const theirs: number[] = [];
      const files = (await readdir(path.join(photos, 'group'))).sort().map((f) => path.join(photos, 'group', f));
      for (const cls of (await readdir(path.join(photos, 'expression'))).sort()) {
        const dir = path.join(photos, 'expression', cls);
        files.push(...(await readdir(dir)).sort().map((f) => path.join(dir, f)));
      }
      for (const file of files) {
        const img = await readRgb(file);
        const ref = await detectReference(img, { raw: false });
        const image = rgbToTensor(img);
        const t0 = performance.now();
        const faces = detectFacesSsd(net, image);
        ours.push(performance.now() - t0);
        theirs.push(ref.ssd.ms);
        image.dispose();
        const worst = assertSameFaces(faces, ref.ssd.detections, file);
        t.diagnostic(`${path.basename(file)}: ${faces.length} faces, worst box error ${worst.toExponential(2)} px`);
      }
      t.diagnostic(`locate faces (512): ours median ${median(ours).toFixed(1)} ms, face-api wasm ${median(theirs).toFixed(1)} ms`);
    });
  });
});
