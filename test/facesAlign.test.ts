import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { liveTensors, noGrad, tensor, type Tensor } from '../src/engine/index.js';
import {
  alignFace, alignmentPoints, applySimilarity, DEFAULT_ALIGN_TEMPLATE, invertSimilarity, similarityToAffine, similarityTransform,
  warpAffine, type Similarity,
} from '../src/faces/align.js';
import type { Point } from '../src/faces/landmarks.js';

const near = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** The similarity with this scale, angle (radians) and shift. */
const sim = (scale: number, angle: number, tx: number, ty: number): Similarity => ({ a: scale * Math.cos(angle), b: scale * Math.sin(angle), tx, ty });

/** 68 deterministic, irregular points. */
const points68 = (): Point[] => Array.from({ length: 68 }, (_, i) => ({ x: 30 + 40 * Math.sin(i * 1.3) + i * 0.7, y: 50 + 35 * Math.cos(i * 0.9) - i * 0.2 }));

/** An image [1, 1, H, W] holding `value(x, y)` at pixel centres (continuous coordinates). */
function image(width: number, height: number, value: (x: number, y: number) => number): Tensor {
  const data = new Float32Array(width * height);
  for (let j = 0; j < height; j++) for (let i = 0; i < width; i++) data[j * width + i] = value(i + 0.5, j + 0.5);
  return tensor(data, [1, 1, height, width]);
}

/** Intensity-weighted centre (continuous coordinates) of channel 0 of [1, C, H, W]. */
function centroid(t: Tensor): Point {
  const [h, w] = [t.shape[2] ?? 0, t.shape[3] ?? 0];
  const d = t.floats();
  let [s, sx, sy] = [0, 0, 0];
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const v = d[j * w + i] ?? 0;
      [s, sx, sy] = [s + v, sx + v * (i + 0.5), sy + v * (j + 0.5)];
    }
  }
  return { x: sx / s, y: sy / s };
}

function argmax(t: Tensor): { i: number; j: number; value: number } {
  const w = t.shape[3] ?? 0;
  const d = t.floats();
  let best = 0;
  for (let k = 1; k < d.length; k++) if ((d[k] ?? -Infinity) > (d[best] ?? -Infinity)) best = k;
  return { i: best % w, j: Math.floor(best / w), value: d[best] ?? NaN };
}

describe('similarity transform', () => {
  const cases: [string, Similarity][] = [
    ['identity', sim(1, 0, 0, 0)],
    ['rotation 30°, scale 1.7, shift', sim(1.7, Math.PI / 6, 12.5, -40)],
    ['rotation −135°, scale 0.3', sim(0.3, (-3 * Math.PI) / 4, 100, 7)],
    ['rotation 90°, scale 2', sim(2, Math.PI / 2, -3, 3)],
  ];
  for (const [name, s] of cases) {
    test(`recovers ${name} exactly from 3 and from 68 points`, () => {
      for (const pts of [alignmentPoints(points68()), points68()]) {
        const got = similarityTransform(pts, pts.map((p) => applySimilarity(s, p)));
        for (const k of ['a', 'b', 'tx', 'ty'] as const) near(got[k], s[k], 1e-9 * Math.max(1, Math.abs(s[k])), k);
      }
    });
  }

  test('inverse, and least squares: any nudge of the fit increases the squared error', () => {
    const s = sim(1.3, 0.4, 5, -2);
    const p = { x: 3.5, y: -8 };
    const back = applySimilarity(invertSimilarity(s), applySimilarity(s, p));
    near(back.x, p.x, 1e-12, 'x');
    near(back.y, p.y, 1e-12, 'y');
    const from = points68().slice(0, 10);
    const to = from.map((q, i) => applySimilarity(s, { x: q.x + Math.sin(i) * 2, y: q.y + Math.cos(3 * i) * 2 }));
    const fit = similarityTransform(from, to);
    const sse = (f: Similarity): number => from.reduce((e, q, i) => {
      const r = applySimilarity(f, q);
      return e + (r.x - (to[i]?.x ?? NaN)) ** 2 + (r.y - (to[i]?.y ?? NaN)) ** 2;
    }, 0);
    for (const k of ['a', 'b', 'tx', 'ty'] as const) {
      for (const d of [-1e-3, 1e-3]) assert.ok(sse({ ...fit, [k]: fit[k] + d }) > sse(fit), `nudging ${k} by ${d}`);
    }
    assert.throws(() => similarityTransform([{ x: 1, y: 1 }, { x: 1, y: 1 }], [{ x: 0, y: 0 }, { x: 1, y: 0 }]), /coincide/);
  });
});

describe('warping with affineGrid + gridSample (continuous pixel coordinates)', () => {
  test('identity leaves the image unchanged', () => {
    noGrad(() => {
      const img = image(9, 7, (x, y) => x * 10 + y);
      const out = warpAffine(img, [1, 0, 0, 0, 1, 0], 9, 7);
      const [a, b] = [img.floats(), out.floats()];
      a.forEach((v, k) => near(b[k] ?? NaN, v, 1e-4, `pixel ${k}`));
    });
  });

  test('a marked pixel lands where the transform says (rotation 90°, scale 2, shift)', () => {
    const live = liveTensors();
    noGrad(() => {
      // One bright pixel at (7, 5): centre (7.5, 5.5). T(p) = R90·2·p + (20.5, 3.5) puts it at (9.5, 18.5).
      const img = image(40, 30, (x, y) => (x === 7.5 && y === 5.5 ? 1 : 0));
      const T = sim(2, Math.PI / 2, 20.5, 3.5);
      const out = warpAffine(img, similarityToAffine(invertSimilarity(T)), 32, 24);
      assert.deepEqual(out.shape, [1, 1, 24, 32]);
      const peak = argmax(out);
      assert.deepEqual([peak.i, peak.j], [9, 18]);
      near(peak.value, 1, 1e-5, 'peak value');
      img.dispose();
      out.dispose();
    });
    assert.equal(liveTensors(), live);
  });

  test('a blob moves with an arbitrary similarity (30°, scale 1.5): centroid within 0.05 px', () => {
    noGrad(() => {
      const c = { x: 14.3, y: 11.7 };
      const img = image(40, 30, (x, y) => Math.exp(-((x - c.x) ** 2 + (y - c.y) ** 2) / (2 * 2 ** 2)));
      const T = sim(1.5, Math.PI / 6, 4, -3);
      const out = warpAffine(img, similarityToAffine(invertSimilarity(T)), 60, 50);
      const got = centroid(out);
      const want = applySimilarity(T, c);
      near(got.x, want.x, 0.05, 'x');
      near(got.y, want.y, 0.05, 'y');
    });
  });
});

describe('alignFace', () => {
  test('maps the eye and mouth centres onto the template and puts an eye mark there', () => {
    noGrad(() => {
      // Landmarks of a face rotated by 20° and scaled: built from the template through a known similarity.
      const size = 112;
      const T = sim(0.8, (20 * Math.PI) / 180, 35, 10);
      const tpl = [DEFAULT_ALIGN_TEMPLATE.leftEye, DEFAULT_ALIGN_TEMPLATE.rightEye, DEFAULT_ALIGN_TEMPLATE.mouth].map((p) => ({ x: p.x * size, y: p.y * size }));
      const landmarks = points68();
      const groups: [number, number, Point][] = [[36, 42, tpl[0] as Point], [42, 48, tpl[1] as Point], [48, 68, tpl[2] as Point]];
      for (const [from, to, centre] of groups) {
        for (let i = from; i < to; i++) landmarks[i] = applySimilarity(T, { x: centre.x + Math.cos(i) * 3, y: centre.y + Math.sin(i) * 3 });
        // Recentre each group so its mean is exactly T(centre).
        const n = to - from;
        const mean = landmarks.slice(from, to).reduce((m, p) => ({ x: m.x + p.x / n, y: m.y + p.y / n }), { x: 0, y: 0 });
        const want = applySimilarity(T, centre);
        for (let i = from; i < to; i++) landmarks[i] = { x: (landmarks[i]?.x ?? 0) + want.x - mean.x, y: (landmarks[i]?.y ?? 0) + want.y - mean.y };
      }
      const eye = alignmentPoints(landmarks)[0];
      const img = image(160, 140, (x, y) => Math.exp(-((x - eye.x) ** 2 + (y - eye.y) ** 2) / 2));
      const { crop, transform } = alignFace(img, landmarks, size, { padding: 'zeros' });
      alignmentPoints(landmarks).forEach((p, k) => {
        const q = applySimilarity(transform, p);
        near(q.x, tpl[k]?.x ?? NaN, 1e-9, `point ${k} x`);
        near(q.y, tpl[k]?.y ?? NaN, 1e-9, `point ${k} y`);
      });
      assert.deepEqual(crop.shape, [1, 1, size, size]);
      const got = centroid(crop);
      near(got.x, tpl[0]?.x ?? NaN, 0.1, 'eye mark x');
      near(got.y, tpl[0]?.y ?? NaN, 0.1, 'eye mark y');
      assert.throws(() => alignFace(img, landmarks.slice(0, 5), size), /68 landmarks/);
    });
  });
});
