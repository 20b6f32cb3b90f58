import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clipBox, iou } from '../src/faces/box.js';
import { decodeSsdBoxes, decodeSsdFaces } from '../src/faces/decodeSsdFaces.js';
import { decodeTinyFaces } from '../src/faces/decodeTinyFaces.js';
import { nonMaxSuppression, ssdNonMaxSuppression } from '../src/faces/nonMaxSuppression.js';
import { TINY_FACE_ANCHORS } from '../src/nets/tinyFaceDetector.js';

const near = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe('boxes', () => {
  test('iou and clipping', () => {
    assert.equal(iou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 0, width: 2, height: 2 }), 2 / 6);
    assert.equal(iou({ x: 0, y: 0, width: 1, height: 1 }, { x: 5, y: 5, width: 1, height: 1 }), 0);
    assert.deepEqual(clipBox({ x: -3.5, y: 2.7, width: 20, height: 5.9 }, 10, 8), { x: 0, y: 2, width: 10, height: 5 });
  });
});

describe('non-max suppression (face-api variants)', () => {
  const box = (x: number, width = 10): { x: number; y: number; width: number; height: number } => ({ x, y: 0, width, height: 10 });
  const cases: { name: string; boxes: ReturnType<typeof box>[]; scores: number[]; threshold: number; expected: number[] }[] = [
    { name: 'disjoint boxes all survive, best first', boxes: [box(0), box(20), box(40)], scores: [0.6, 0.9, 0.7], threshold: 0.4, expected: [1, 2, 0] },
    { name: 'a duplicate is dropped', boxes: [box(0), box(1)], scores: [0.8, 0.9], threshold: 0.4, expected: [1] },
    // box(0) vs box(0, 4): IoU 0.4 exactly — "IoU ≤ threshold survives".
    { name: 'IoU equal to the threshold survives', boxes: [box(0), box(0, 4)], scores: [0.9, 0.8], threshold: 0.4, expected: [0, 1] },
    { name: 'ties: the later index first (stable ascending sort + pop)', boxes: [box(0), box(30)], scores: [0.5, 0.5], threshold: 0.4, expected: [1, 0] },
  ];
  for (const c of cases) test(`tiny: ${c.name}`, () => assert.deepEqual(nonMaxSuppression(c.boxes, c.scores, c.threshold), c.expected));

  const corners = (boxes: ReturnType<typeof box>[]): number[] => boxes.flatMap((b) => [b.y, b.x, b.y + b.height, b.x + b.width]);
  test('ssd: score threshold, IoU 0.5 boundary, max results, zero-area boxes never suppress', () => {
    const boxes = [box(0), box(0, 5), box(1), box(50), box(80, 0)];
    const scores = [0.9, 0.8, 0.85, 0.4, 0.95];
    // box(0, 5) has IoU 0.5 with box(0): survives; box(1) overlaps box(0) by 9/11 > 0.5: dropped; 0.4 ≤ 0.5 threshold.
    assert.deepEqual(ssdNonMaxSuppression(corners(boxes), scores, 100, 0.5, 0.5), [4, 0, 1]);
    assert.deepEqual(ssdNonMaxSuppression(corners(boxes), scores, 2, 0.5, 0.5), [4, 0]);
    assert.deepEqual(ssdNonMaxSuppression(corners(boxes), scores, 100, 0.5, 0.3), [4, 0, 1, 3]);
  });
});

describe('decoders', () => {
  test('ssd: zero encodings give the anchors; scales 10, 10, 5, 5', () => {
    const anchors = [0.1, 0.2, 0.3, 0.6, 0.5, 0.5, 0.7, 0.9];
    decodeSsdBoxes([0, 0, 0, 0, 0, 0, 0, 0], anchors).forEach((v, i) => near(v, anchors[i] ?? NaN, 1e-6, `corner ${i}`));
    const [ymin, xmin, ymax, xmax] = decodeSsdBoxes([1, -2, 5 * Math.log(2), 0], anchors.slice(0, 4)) as unknown as number[];
    // ha 0.2, wa 0.4, centre (0.2, 0.4): cy = 0.2 + 0.1·0.2, cx = 0.4 − 0.2·0.4, h = 0.4, w = 0.4.
    near(ymin ?? NaN, 0.22 - 0.2, 1e-6, 'ymin');
    near(xmin ?? NaN, 0.32 - 0.2, 1e-6, 'xmin');
    near(ymax ?? NaN, 0.22 + 0.2, 1e-6, 'ymax');
    near(xmax ?? NaN, 0.32 + 0.2, 1e-6, 'xmax');
    assert.throws(() => decodeSsdBoxes([0, 0, 0], [0, 0, 0]), /K×4/);
  });

  test('ssd: boxes are clipped to the padded square and scaled back to the image', () => {
    // A 200×100 image: reshaped 512×256 inside the 512 square, so padY = 2.
    const faces = decodeSsdFaces([-0.1, 0.25, 0.25, 0.5], [0.9], { width: 512, height: 256 }, { width: 200, height: 100 }, 512);
    assert.equal(faces.length, 1);
    const f = faces[0];
    assert.ok(f);
    assert.deepEqual([f.x, f.y, f.width, f.height, f.score], [0.25 * 200, 0, 0.25 * 200, 0.5 * 100, 0.9]);
  });

  test('tiny: one confident cell decodes to the expected box', () => {
    const S = 13;
    const grid = new Float32Array(25 * S * S).fill(-10);
    const [row, col, a] = [4, 7, 2];
    const set = (k: number, v: number): void => void (grid[((a * 5 + k) * S + row) * S + col] = v);
    [0, 0, Math.log(2), 0, 3].forEach((v, k) => set(k, v));
    const faces = decodeTinyFaces({ data: grid, cells: S }, { width: 416, height: 208 }, { width: 400, height: 200 });
    assert.equal(faces.length, 1);
    const f = faces[0];
    assert.ok(f);
    const [aw, ah] = TINY_FACE_ANCHORS[a] as readonly [number, number];
    const w = ((2 * aw) / S) * 400;
    const h = (ah / S) * 2 * 200;
    near(f.x, ((col + 0.5) / S) * 400 - w / 2, 1e-5, 'x');
    near(f.y, ((row + 0.5) / S) * 2 * 200 - h / 2, 1e-5, 'y');
    near(f.width, w, 1e-5, 'width');
    near(f.height, h, 1e-5, 'height');
    near(f.score, 1 / (1 + Math.exp(-3)), 1e-12, 'score');
    assert.throws(() => decodeTinyFaces({ data: grid.subarray(1), cells: S }, { width: 416, height: 416 }, { width: 1, height: 1 }), /grid values/);
  });
});
