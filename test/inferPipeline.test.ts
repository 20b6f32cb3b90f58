import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { decodeSsdBoxes, decodeSsdFaces } from '../src/faces/decodeSsdFaces.js';
import { ExpnetError } from '../src/errors.js';
import { join } from 'node:path';
import { packageRoot } from '../src/engine/native.js';
import { decodeModel } from '../src/formats/onnx/index.js';
import { iou } from '../src/faces/box.js';
import { DEFAULT_DETECTOR_PRECISION, DEFAULT_DETECTOR_SIZE, detectorModel, ssdDetections } from '../src/infer/facePipeline.js';
import { readRgb } from '../src/infer/readImage.js';
import { loadBundle } from '../src/infer/modelBundle.js';
import { createRecognizer, type RecognizerOptions } from '../src/infer/recognizer.js';
import { createSession } from '../src/infer/session.js';
import { ssdAnchors, ssdGrids } from '../src/infer/ssdAnchors.js';
import { samePadding, ssdModelForSize } from '../src/infer/ssdAtSize.js';
import { clipRegion, squareInput } from '../src/infer/squareInput.js';
import { seededRandom as mulberry32 } from './helpers/gradcheck.js';

const bundle = loadBundle();
const astronaut = join(packageRoot(), 'examples', 'astronaut.png');

describe('SSD at other input sizes', () => {
  test('the anchor generator reproduces the bundled 512 anchors (to float32 rounding)', () => {
    const mine = ssdAnchors(512);
    assert.equal(mine.length, bundle.anchors.length);
    let worst = 0;
    for (let i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs((mine[i] ?? 0) - (bundle.anchors[i] ?? 0)));
    assert.ok(worst <= 1.2e-7, `max |difference| ${worst}`);
  });

  test('grids, anchor counts and pixel-constant anchor sizes per input size', () => {
    assert.deepEqual(ssdGrids(512), [32, 16, 8, 4, 2, 1]);
    assert.deepEqual(ssdGrids(384), [24, 12, 6, 3, 2, 1]);
    assert.deepEqual(ssdGrids(320), [20, 10, 5, 3, 2, 1]);
    assert.equal(ssdAnchors(384).length, 4 * 2892);
    // first anchor of the lowest layer: 0.1 · 512 px wide at any size, centred on the first cell
    const a = ssdAnchors(384);
    assert.ok(Math.abs(((a[3] ?? 0) - (a[1] ?? 0)) * 384 - 51.2) < 1e-4);
    assert.ok(Math.abs(((a[1] ?? 0) + (a[3] ?? 0)) / 2 - 0.5 / 24) < 1e-7);
    for (const bad of [500, 32, 0, 384.5]) assert.throws(() => ssdGrids(bad), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_CONFIG');
  });

  test('TF SAME padding', () => {
    const cases: [number, number, number, [number, number]][] = [[512, 3, 2, [0, 1]], [3, 3, 2, [1, 1]], [5, 3, 2, [1, 1]], [2, 3, 2, [0, 1]], [12, 3, 1, [1, 1]], [7, 1, 1, [0, 0]]];
    for (const [n, k, s, want] of cases) assert.deepEqual(samePadding(n, k, s), want, `${n}, ${k}, ${s}`);
  });

  test('the graph rewritten for 512 computes exactly the bundled graph; at 384 it gives 2892 anchors', async () => {
    const bytes = new Uint8Array(readFileSync(bundle.detector));
    const rnd = mulberry32(7);
    const x = Float32Array.from({ length: 3 * 512 * 512 }, () => rnd());
    const [a, b] = await Promise.all([createSession(bytes), createSession(ssdModelForSize(bytes, 512))]);
    const ya = (await a.runFloat32({ data: x, shape: [1, 3, 512, 512] })).data;
    const yb = (await b.runFloat32({ data: x, shape: [1, 3, 512, 512] })).data;
    assert.deepEqual(yb, ya);
    await Promise.all([a.dispose(), b.dispose()]);
    const det = detectorModel(bytes, bundle.anchors, 384);
    const s = await createSession(det.model);
    const y = await s.runFloat32({ data: x.subarray(0, 3 * 384 * 384), shape: [1, 3, 384, 384] });
    assert.deepEqual(y.shape, [1, 2892, 5]);
    assert.equal(det.anchors.length, 4 * 2892);
    await s.dispose();
    assert.equal(detectorModel(bytes, bundle.anchors, 512).anchors, bundle.anchors, '512 keeps the bundled anchors');
  });

  test('int8 detector: QDQ graph, same output shape, scores close to float32 on a real photo', async () => {
    const bytes = new Uint8Array(readFileSync(bundle.detector));
    const f = detectorModel(bytes, bundle.anchors, 384, 'float32');
    const q = detectorModel(bytes, bundle.anchors, 384, 'int8');
    assert.equal(q.anchors.length, f.anchors.length);
    const ops = new Set(decodeModel(q.model).graph.nodes.map((n) => n.opType));
    assert.ok(ops.has('QuantizeLinear') && ops.has('DequantizeLinear'));
    const img = await readRgb(astronaut);
    const x = squareInput(img, 384, false).data;
    const [a, b] = await Promise.all([createSession(f.model), createSession(q.model)]);
    const ya = (await a.runFloat32({ data: x, shape: [1, 3, 384, 384] })).data;
    const yb = (await b.runFloat32({ data: x, shape: [1, 3, 384, 384] })).data;
    await Promise.all([a.dispose(), b.dispose()]);
    assert.equal(yb.length, ya.length);
    let best = [0, 0];
    let worst = 0;
    for (let i = 4; i < ya.length; i += 5) {
      worst = Math.max(worst, Math.abs((ya[i] ?? 0) - (yb[i] ?? 0)));
      if ((ya[i] ?? 0) > (best[0] ?? 0)) best = [ya[i] ?? 0, yb[i] ?? 0];
    }
    assert.ok((best[0] ?? 0) > 0.7 && Math.abs((best[1] ?? 0) - (best[0] ?? 0)) < 0.05, `best face score float32 ${best[0]}, int8 ${best[1]}`);
    assert.ok(worst < 0.25, `largest score difference ${worst}`);
  });

  test('decoding only the anchors above the threshold gives the same faces as decoding all', () => {
    const rnd = mulberry32(3);
    const k = 2892;
    const out = Float32Array.from({ length: 5 * k }, (_, i) => (i % 5 === 4 ? (rnd() < 0.01 ? 0.5 + rnd() / 2 : rnd() * 0.5) : rnd() * 2 - 1));
    const anchors = ssdAnchors(384);
    const enc = new Float32Array(4 * k);
    const scores = new Float32Array(k);
    for (let i = 0; i < k; i++) {
      enc.set(out.subarray(5 * i, 5 * i + 4), 4 * i);
      scores[i] = out[5 * i + 4] ?? 0;
    }
    const image = { width: 640, height: 480 };
    const reshaped = { width: 384, height: 288 };
    const all = decodeSsdFaces(decodeSsdBoxes(enc, anchors), scores, reshaped, image, 384);
    assert.ok(all.length > 3);
    assert.deepEqual(ssdDetections(out, anchors, reshaped, image, 384), all);
  });

  test('detector options: bad size or precision is BAD_CONFIG; defaults 384 int8, float32 when a size is given', async () => {
    await assert.rejects(createRecognizer({ detectorSize: 500 }), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_CONFIG' && /500/.test(e.message));
    const bad = { detectorPrecision: 'int4' } as unknown as RecognizerOptions;
    await assert.rejects(createRecognizer(bad), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_CONFIG' && /int4/.test(e.message));
    const rec = await createRecognizer();
    assert.deepEqual([rec.detectorSize, rec.detectorPrecision], [DEFAULT_DETECTOR_SIZE, DEFAULT_DETECTOR_PRECISION]);
    const faces = (await rec.detect(astronaut)).faces;
    await rec.dispose();
    const exact = await createRecognizer({ detectorSize: 512 });
    assert.equal(exact.detectorPrecision, 'float32');
    const ref = (await exact.detect(astronaut)).faces;
    await exact.dispose();
    assert.equal(faces.length, 1);
    assert.equal(ref.length, 1);
    assert.ok(iou(faces[0]!.box, ref[0]!.box) > 0.8, `default vs 512 float32 box: ${JSON.stringify(faces[0]!.box)} vs ${JSON.stringify(ref[0]!.box)}`);
  });
});

/** tfjs resizeBilinear (alignCorners false, no half-pixel) of the zero-padded square, written the obvious way. */
function reference(img: { data: Uint8Array; width: number; height: number }, size: number, centred: boolean, r: { x: number; y: number; width: number; height: number }): Float32Array {
  const side = Math.max(r.width, r.height);
  const px = centred ? Math.floor((side - r.width) / 2) : 0;
  const py = centred ? Math.floor((side - r.height) / 2) : 0;
  const at = (x: number, y: number, c: number): number => {
    const u = x - px;
    const v = y - py;
    return u < 0 || v < 0 || u >= r.width || v >= r.height ? 0 : (img.data[3 * ((r.y + v) * img.width + r.x + u) + c] ?? 0);
  };
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let oy = 0; oy < size; oy++) {
      for (let ox = 0; ox < size; ox++) {
        const sy = (oy * side) / size;
        const sx = (ox * side) / size;
        const [y0, x0] = [Math.floor(sy), Math.floor(sx)];
        const [y1, x1] = [Math.min(y0 + 1, side - 1), Math.min(x0 + 1, side - 1)];
        const top = at(x0, y0, c) + (at(x1, y0, c) - at(x0, y0, c)) * (sx - x0);
        const bottom = at(x0, y1, c) + (at(x1, y1, c) - at(x0, y1, c)) * (sx - x0);
        out[(c * size + oy) * size + ox] = (top + (bottom - top) * (sy - y0)) / 255;
      }
    }
  }
  return out;
}

describe('squareInput (plain-JS pad + bilinear resize)', () => {
  const rnd = mulberry32(11);
  const img = { width: 37, height: 23, data: Uint8Array.from({ length: 37 * 23 * 3 }, () => Math.floor(rnd() * 256)) };
  const cases = [
    { size: 16, centred: false, r: { x: 0, y: 0, width: 37, height: 23 } },
    { size: 64, centred: false, r: { x: 0, y: 0, width: 37, height: 23 } },
    { size: 20, centred: true, r: { x: 5, y: 3, width: 15, height: 19 } },
    { size: 28, centred: true, r: { x: 2, y: 4, width: 30, height: 9 } },
  ];
  for (const { size, centred, r } of cases) {
    test(`${r.width}×${r.height} at (${r.x}, ${r.y}) → ${size}² ${centred ? 'centred' : 'bottom/right'}`, () => {
      const got = squareInput(img, size, centred, r);
      const want = reference(img, size, centred, r);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got.data[i] ?? 0) - (want[i] ?? 0)));
      assert.ok(worst < 1e-5, `max |difference| ${worst}`);
      const scale = size / Math.max(r.width, r.height);
      assert.deepEqual(got.reshaped, { width: r.width * scale, height: r.height * scale });
    });
  }

  test('clipRegion floors and clips, null when under 2 pixels', () => {
    assert.deepEqual(clipRegion({ x: -3.5, y: 2.7, width: 20, height: 10 }, 15, 10), { x: 0, y: 2, width: 15, height: 8 });
    assert.equal(clipRegion({ x: 14.2, y: 0, width: 5, height: 5 }, 15, 10), null);
  });
});
