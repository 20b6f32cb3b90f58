import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import {
  RECOGNITION_LAYERS, cropRgb, detectReference, expressionReference, faceApiNets, landmarksReference, liveTensors,
  readRgb, recognitionReference,
} from './helpers/faceApiReference.js';
import type { RgbImage } from './helpers/faceApiReference.js';
import { median, noPhotos, photos } from './helpers/facePhotos.js';

/** The repo root: the nearest folder above this file holding package.json (works from test/ and dist/test/). */

/** A deterministic colour pattern, HWC 0..255. */
function synthetic(width: number, height: number): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = 128 + 100 * Math.sin(0.11 * x + 2 * c) * Math.cos(0.07 * y - c);
    }
  }
  return { data, width, height };
}

const argmax = (xs: number[]): number => xs.indexOf(Math.max(...xs));

describe('face-api.js reference (wasm backend)', () => {
  let weights = 0;
  before(async () => {
    await faceApiNets();
    weights = liveTensors();
  });

  test('recognition: descriptor, every block output, replay equals face-api, no leak', async () => {
    const r = await recognitionReference(synthetic(150, 150).data as Float32Array);
    assert.equal(r.descriptor.length, 128);
    assert.ok(r.descriptor.every(Number.isFinite));
    assert.ok(r.replayMaxAbsDiff <= 1e-6, `replay differs from face-api by ${r.replayMaxAbsDiff}`);
    assert.deepEqual(Object.keys(r.activations), [...RECOGNITION_LAYERS]);
    const shape = (name: (typeof RECOGNITION_LAYERS)[number]): number[] => r.activations[name].shape;
    assert.deepEqual(shape('conv32_down'), [1, 72, 72, 32]);
    assert.deepEqual(shape('conv32_3'), [1, 35, 35, 32]);
    assert.deepEqual(shape('conv64_3'), [1, 17, 17, 64]);
    assert.deepEqual(shape('conv128_2'), [1, 8, 8, 128]);
    assert.deepEqual(shape('conv256_2'), [1, 4, 4, 256]);
    assert.deepEqual(shape('conv256_down_out'), [1, 2, 2, 256]);
    assert.deepEqual(shape('global_avg'), [1, 256]);
    assert.equal(liveTensors(), weights);
    await assert.rejects(recognitionReference(new Float32Array(10)), /expected 150×150×3/);
  });

  test('detectors, landmarks and expressions run on a synthetic image and return plain arrays', async () => {
    const img = synthetic(200, 160);
    const d = await detectReference(img);
    assert.deepEqual([d.width, d.height], [200, 160]);
    assert.deepEqual(d.ssd.raw?.boxes.shape, [5118, 4]);
    assert.deepEqual(d.ssd.raw.scores.shape, [5118]);
    assert.ok(d.ssd.raw.scores.data.every((s) => s >= 0 && s <= 1));
    assert.deepEqual(d.tiny.raw?.grid.shape, [1, 13, 13, 25]);
    for (const det of [...d.ssd.detections, ...d.tiny.detections]) assert.ok(det.score > 0.5);
    const l = await landmarksReference(img);
    assert.equal(l.positions.length, 68);
    assert.equal(l.raw.length, 136);
    assert.deepEqual(l.features.shape, [1, 1, 1, 256]);
    const e = await expressionReference(img);
    assert.deepEqual([...e.labels], ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised']);
    assert.ok(Math.abs(e.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.equal(e.logits.length, 7);
    assert.equal(liveTensors(), weights);
  });

  describe('on the face-api.js sample photos', { skip: noPhotos }, () => {
    const ms: Record<string, number[]> = { recognition: [], ssd: [], tiny: [], landmarks: [], expression: [] };
    const note = (net: string, v: number): void => void ms[net]?.push(v);

    test('SSD and tiny detector find the faces of the group photos', async (t) => {
      for (const file of (await readdir(path.join(photos, 'group'))).sort()) {
        const d = await detectReference(path.join(photos, 'group', file), { raw: false });
        note('ssd', d.ssd.ms);
        note('tiny', d.tiny.ms);
        t.diagnostic(`${file} ${d.width}x${d.height}: ssd ${d.ssd.detections.length} faces, tiny ${d.tiny.detections.length}`);
        assert.ok(d.ssd.detections.length >= 3, `${file}: ssd found ${d.ssd.detections.length}`);
        assert.ok(d.tiny.detections.length >= 2, `${file}: tiny found ${d.tiny.detections.length}`);
      }
    });

    test('landmarks match the positions face-api.js recorded in its own tests (within 4 px)', async () => {
      for (const [image, json] of [['face1.png', 'faceLandmarkPositions1.json'], ['face2.png', 'faceLandmarkPositions2.json'], ['face_rectangular.png', 'faceLandmarkPositionsRect.json']]) {
        const l = await landmarksReference(path.join(photos, 'test-images', image ?? ''));
        note('landmarks', l.ms);
        const expected = JSON.parse(await readFile(path.join(photos, 'test-data', json ?? ''), 'utf8')) as Array<{ x: number; y: number }>;
        const worst = l.positions.reduce((m, [x, y], i) => Math.max(m, Math.abs(x - (expected[i]?.x ?? NaN)), Math.abs(y - (expected[i]?.y ?? NaN))), 0);
        assert.ok(worst < 4, `${image}: worst landmark off by ${worst} px`);
      }
    });

    test('detect → crop → expression gives the folder label on all 7 expression photos', async () => {
      const label: Record<string, string> = { angry: 'angry', disgust: 'disgusted', fear: 'fearful', happy: 'happy', neutral: 'neutral', sad: 'sad', surprise: 'surprised' };
      for (const cls of Object.keys(label)) {
        const dir = path.join(photos, 'expression', cls);
        const img = await readRgb(path.join(dir, (await readdir(dir))[0] ?? ''));
        const best = (await detectReference(img, { raw: false })).ssd.detections.sort((a, b) => b.score - a.score)[0];
        assert.ok(best, `${cls}: no face`);
        const e = await expressionReference(cropRgb(img, best));
        note('expression', e.ms);
        assert.equal(e.labels[argmax(e.probabilities)], label[cls], `${cls}: ${e.probabilities.map((p) => p.toFixed(2)).join(' ')}`);
      }
    });

    test('descriptors of the 8 identities: nearest neighbour is always the same person', async (t) => {
      const all: Array<{ who: string; d: number[] }> = [];
      for (const who of (await readdir(path.join(photos, 'identities'))).sort()) {
        for (const file of (await readdir(path.join(photos, 'identities', who))).sort()) {
          const img = await readRgb(path.join(photos, 'identities', who, file));
          assert.deepEqual([img.width, img.height], [150, 150]);
          const r = await recognitionReference(Float32Array.from(img.data));
          note('recognition', r.ms);
          all.push({ who, d: r.descriptor });
        }
      }
      const dist = (a: number[], b: number[]): number => Math.hypot(...a.map((v, i) => v - (b[i] ?? NaN)));
      const same: number[] = [];
      const other: number[] = [];
      let hits = 0;
      for (const [i, a] of all.entries()) {
        const ranked = all.filter((_, j) => j !== i).map((b) => ({ who: b.who, dist: dist(a.d, b.d) })).sort((x, y) => x.dist - y.dist);
        for (const r of ranked) (r.who === a.who ? same : other).push(r.dist);
        if (ranked[0]?.who === a.who) hits++;
      }
      t.diagnostic(`median distance same person ${median(same).toFixed(3)}, different ${median(other).toFixed(3)}; nearest neighbour ${hits}/${all.length}`);
      assert.equal(hits, all.length);
      assert.ok(median(same) < median(other));
      assert.equal(liveTensors(), weights);
    });

    test('timings (wasm backend, this machine)', (t) => {
      for (const [net, xs] of Object.entries(ms)) t.diagnostic(`${net}: median ${median(xs).toFixed(1)} ms over ${xs.length} calls`);
    });
  });
});
