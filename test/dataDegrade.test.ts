import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { augment, NO_AUGMENT } from '../src/data/augment.js';
import { decodeImageBytes, reframeRect } from '../src/data/decode.js';
import { degrade, NO_DEGRADE } from '../src/data/degrade.js';
import { Rng } from '../src/data/rng.js';
import { FER_CROP_TEMPLATE } from '../src/faces/similarity.js';
import { resolveConfig } from '../src/train/config.js';

const H = 24;
const W = 24;
/** Sharp-edged checkerboard (4-px squares) in [0, 1]. */
const board = (): Float32Array => Float32Array.from({ length: H * W }, (_, i) => ((Math.floor(i / W / 4) + Math.floor((i % W) / 4)) % 2 === 0 ? 0.9 : 0.1));
/** Sum of squared differences between horizontal neighbours: falls when edges are softened. */
const edges = (a: Float32Array): number => {
  let e = 0;
  for (let y = 0; y < H; y++) for (let x = 1; x < W; x++) e += ((a[y * W + x] ?? 0) - (a[y * W + x - 1] ?? 0)) ** 2;
  return e;
};

test('each degradation changes the image as it should, keeps values in [0, 1], and is deterministic', () => {
  const base = edges(board());
  for (const o of [{ ...NO_DEGRADE, blur: 1 }, { ...NO_DEGRADE, downscale: 1 }]) {
    const a = board();
    degrade(a, 1, H, W, o, new Rng(3));
    assert.ok(edges(a) < 0.8 * base, `${JSON.stringify(o)} softens the edges: ${edges(a)} vs ${base}`);
    assert.ok(a.every((v) => v >= 0 && v <= 1));
    const b = board();
    degrade(b, 1, H, W, o, new Rng(3));
    assert.deepEqual(a, b);
  }
  const j = board();
  degrade(j, 1, H, W, { ...NO_DEGRADE, jpeg: 1 }, new Rng(3));
  const err = j.reduce((s, v, i) => s + Math.abs(v - (board()[i] ?? 0)), 0) / j.length;
  assert.ok(err > 0.002 && err < 0.2, `JPEG changes the image a little (mean abs error ${err})`);
  const none = board();
  degrade(none, 1, H, W, NO_DEGRADE, new Rng(3));
  assert.deepEqual(none, board());
});

test('degradation draws 6 numbers whatever fires; augment draws none for it when it is off', () => {
  const r1 = new Rng(4);
  const r2 = new Rng(4);
  degrade(board(), 1, H, W, NO_DEGRADE, r1);
  degrade(board(), 1, H, W, { blur: 1, downscale: 1, jpeg: 1 }, r2);
  assert.deepEqual(r1.getState(), r2.getState());
  const a = new Rng(5);
  const b = new Rng(5);
  augment(board(), { channels: 1, height: H, width: W }, NO_AUGMENT, a);
  augment(board(), { channels: 1, height: H, width: W }, { ...NO_AUGMENT, degrade: NO_DEGRADE }, b);
  assert.deepEqual(a.getState(), b.getState());
});

test('stage degrade probabilities are configurable and checked', () => {
  assert.deepEqual(resolveConfig({}).stageB.degrade, NO_DEGRADE);
  assert.equal(resolveConfig({ stageB: { degrade: { jpeg: 0.3 } } }).stageB.degrade.jpeg, 0.3);
  assert.throws(() => resolveConfig({ stageB: { degrade: { blur: 2 } } }), /stageB\.degrade\.blur: expected a probability/);
  assert.throws(() => resolveConfig({ stageB: { degrade: { sharpen: 1 } } }), /unknown option/);
});

test('reframing maps the set\'s eye and mouth points onto the template, keeping the aspect ratio', async () => {
  // A 100×200 source whose face points sit at known pixels; the template's points × 48 must land on them.
  const from = { leftEye: { x: 0.3, y: 0.2 }, rightEye: { x: 0.7, y: 0.2 }, mouth: { x: 0.5, y: 0.4 } };
  const r = reframeRect(from, FER_CROP_TEMPLATE, { width: 100, height: 200 }, { width: 48, height: 48 });
  assert.equal(r.width, r.height, 'a square source region for a square output');
  const s = 48 / r.width;
  const eyeX = (0.3 * 100 - r.left) * s;
  assert.ok(Math.abs(eyeX - 0.325 * 48) < 3, `left eye lands near the template: ${eyeX}`);
  // Decoding with reframe: a dot at the source's left-eye point ends up near the template's left eye.
  const raw = Buffer.alloc(100 * 200, 0);
  for (let y = 36; y < 44; y++) for (let x = 26; x < 34; x++) raw[y * 100 + x] = 255;
  const png = await sharp(raw, { raw: { width: 100, height: 200, channels: 1 } }).png().toBuffer();
  const out = await decodeImageBytes(png, { channels: 1, size: [48, 48], reframe: { from, to: FER_CROP_TEMPLATE } });
  let best = 0;
  out.forEach((v, i) => (v > (out[best] ?? 0) ? (best = i) : 0));
  const [bx, by] = [best % 48, Math.floor(best / 48)];
  assert.ok(Math.abs(bx - 0.325 * 48) <= 3 && Math.abs(by - 0.375 * 48) <= 5, `dot at (${bx}, ${by})`);
});
