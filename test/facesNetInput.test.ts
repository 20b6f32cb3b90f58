import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import { liveTensors, noGrad, tensor } from '../src/engine/index.js';
import { padToSquare, reshapedDimensions, resizeBilinearLegacy, toNetInput } from '../src/faces/netInput.js';
import { cropImage, rgbToTensor, type RgbImage } from '../src/faces/rgbImage.js';
import { faceApiNets } from './helpers/faceApiReference.js';

const tf = faceapi.tf;

function synthetic(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + Math.floor(i / 7) * 11) % 256;
  return { data, width, height };
}

/** face-api's own tensor path: padToSquare, then resizeBilinear(alignCorners=false) if needed; NHWC 0..255. */
function faceApiInput(img: RgbImage, size: number, centred: boolean): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3]);
    let sq = faceapi.padToSquare(x, centred);
    if (sq.shape[1] !== size) sq = tf.image.resizeBilinear(sq, [size, size], false, false);
    return sq.dataSync() as Float32Array;
  });
}

/** max |ours·scale − ref| with ours NCHW and ref NHWC. */
function maxAbsDiffNhwc(ours: Float32Array, ref: Float32Array, size: number, scale: number): number {
  let m = 0;
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < size * size; p++) m = Math.max(m, Math.abs((ours[c * size * size + p] ?? NaN) * scale - (ref[p * 3 + c] ?? NaN)));
  }
  return m;
}

describe('net input: pad to square + legacy bilinear resize, vs face-api on tfjs-wasm', () => {
  before(async () => {
    await faceApiNets();
  });

  const cases: [number, number, number, boolean][] = [
    [200, 160, 416, false], [160, 200, 512, false], [97, 130, 112, true], [130, 97, 112, true], [300, 300, 150, true], [64, 48, 416, false], [112, 112, 112, true],
  ];
  for (const [w, h, size, centred] of cases) {
    test(`${w}×${h} → ${size} (${centred ? 'centred' : 'bottom/right'})`, (t) => {
      const img = synthetic(w, h);
      const ref = faceApiInput(img, size, centred);
      const before = liveTensors();
      const [exact, scaled] = noGrad(() => {
        const x = rgbToTensor(img);
        const sq = padToSquare(x, centred);
        const resized = w === h && w === size ? sq : resizeBilinearLegacy(sq, size, size);
        const input = toNetInput(x, size, centred);
        const d: [number, number] = [maxAbsDiffNhwc(resized.floats(), ref, size, 1), maxAbsDiffNhwc(input.tensor.floats(), ref, size, 255)];
        assert.deepEqual(input.reshaped, reshapedDimensions(w, h, size));
        for (const u of [x, sq, resized, input.tensor]) u.dispose();
        return d;
      });
      t.diagnostic(`max |ours − face-api| (0..255) = ${exact}; after /255: ${scaled / 255}`);
      assert.ok(exact <= 1e-4 && scaled <= 1e-4, `max diff ${exact}, ${scaled}`);
      assert.equal(liveTensors(), before);
    });
  }

  test('legacy mapping on a tiny example (src = dst·in/out, no half-pixel offset)', () => {
    noGrad(() => {
      const x = tensor([0, 10, 20, 30], [1, 1, 1, 4]);
      assert.deepEqual(Array.from(resizeBilinearLegacy(x, 1, 8).floats()), [0, 5, 10, 15, 20, 25, 30, 30]);
      assert.deepEqual(Array.from(resizeBilinearLegacy(x, 1, 2).floats()), [0, 20]);
    });
  });

  test('crops are clipped and floored like extractFaceTensors; outside → null', () => {
    noGrad(() => {
      const x = rgbToTensor(synthetic(20, 10));
      const c = cropImage(x, { x: -2.5, y: 3.7, width: 10, height: 30 });
      assert.ok(c);
      assert.deepEqual(c.box, { x: 0, y: 3, width: 7, height: 6 });
      assert.deepEqual(c.crop.shape, [1, 3, 6, 7]);
      assert.equal(cropImage(x, { x: 30, y: 0, width: 5, height: 5 }), null);
      assert.throws(() => rgbToTensor({ data: new Uint8Array(5), width: 2, height: 2 }), /expected 2×2×3/);
    });
  });

  test('reshaped dimensions round like face-api', () => {
    assert.deepEqual(reshapedDimensions(1366, 768, 416), { width: 416, height: 234 });
    assert.deepEqual(reshapedDimensions(183, 276, 512), { width: 339, height: 512 });
  });
});
