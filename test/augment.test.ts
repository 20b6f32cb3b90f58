import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_AUGMENT, NO_AUGMENT, augment, drawAugment, resolveAugmentOptions, type AugmentOptions } from '../src/data/augment.js';
import { Rng } from '../src/data/rng.js';

const shape = { channels: 3, height: 6, width: 8 };
const image = Float32Array.from({ length: 3 * 6 * 8 }, (_, i) => (i % 17) / 16);
const only = (o: Partial<AugmentOptions>): AugmentOptions => ({ ...NO_AUGMENT, ...o });

test('same seed → same output; different seed → different output; values stay in [0, 1]', () => {
  const a = augment(image, shape, DEFAULT_AUGMENT, new Rng(5));
  const b = augment(image, shape, DEFAULT_AUGMENT, new Rng(5));
  const c = augment(image, shape, DEFAULT_AUGMENT, new Rng(6));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a.every((v) => v >= 0 && v <= 1));
});

test('NO_AUGMENT copies; every option set consumes the same number of draws', () => {
  const rng = new Rng(1);
  assert.deepEqual(augment(image, shape, NO_AUGMENT, rng), image);
  const r1 = new Rng(9);
  const r2 = new Rng(9);
  augment(image, shape, NO_AUGMENT, r1);
  augment(image, shape, DEFAULT_AUGMENT, r2);
  assert.deepEqual(r1.getState(), r2.getState());
});

test('a certain flip mirrors each row of each channel', () => {
  const out = augment(image, shape, only({ flipProbability: 1 }), new Rng(2));
  for (let c = 0; c < 3; c++) for (let y = 0; y < 6; y++) for (let x = 0; x < 8; x++) {
    const at = (xx: number): number => c * 48 + y * 8 + xx;
    assert.ok(Math.abs((out[at(x)] ?? NaN) - (image[at(7 - x)] ?? NaN)) < 1e-6);
  }
});

test('rotation by 90° of a square image is exact at the pixel centres', () => {
  const sq = { channels: 1, height: 5, width: 5 };
  const img = Float32Array.from({ length: 25 }, (_, i) => i / 24);
  // Find a seed whose draw is close to ±90°, then compare against the exact rotation.
  const opts = only({ maxRotationDeg: 90 });
  let seed = 0;
  while (Math.abs(Math.abs(drawAugment(opts, new Rng(seed)).angle) - Math.PI / 2) > 1e-3) seed++;
  const angle = drawAugment(opts, new Rng(seed)).angle;
  const out = augment(img, sq, opts, new Rng(seed));
  const s = Math.sign(angle);
  for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) {
    // inverse map for ±90° about the centre (2, 2): source = (2 + s·(y−2), 2 − s·(x−2))
    const sx = 2 + s * (y - 2);
    const sy = 2 - s * (x - 2);
    assert.ok(Math.abs((out[y * 5 + x] ?? NaN) - (img[sy * 5 + sx] ?? NaN)) < 0.02, `(${x},${y})`);
  }
});

test('brightness/contrast change the mean and spread; scale >1 zooms in', () => {
  const bright = augment(image, shape, only({ brightness: 0.3 }), new Rng(3));
  const d = drawAugment(only({ brightness: 0.3 }), new Rng(3));
  const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(d.brightness) > 0);
  assert.ok(Math.sign(mean(bright) - mean(image)) === Math.sign(d.brightness));
  const flat = augment(image, shape, only({ contrast: 1 }), new Rng(4));
  assert.ok(flat.every((v) => v >= 0 && v <= 1));
  const ramp = Float32Array.from({ length: 9 }, (_, i) => (i % 3) / 2); // columns 0, .5, 1
  const zoom = augment(ramp, { channels: 1, height: 3, width: 3 }, only({ scaleRange: [2, 2] }), new Rng(1));
  assert.ok(Math.abs((zoom[0] ?? 0) - 0.25) < 1e-6 && Math.abs((zoom[2] ?? 0) - 0.75) < 1e-6);
});

test('resolveAugmentOptions: defaults stated once, unknown keys and bad values rejected', () => {
  assert.deepEqual(resolveAugmentOptions({}), { ...DEFAULT_AUGMENT });
  assert.equal(resolveAugmentOptions({ maxRotationDeg: 5 }).maxRotationDeg, 5);
  assert.throws(() => resolveAugmentOptions({ rotation: 5 }, 'train.augment'), /train\.augment\.rotation: unknown option/);
  assert.throws(() => resolveAugmentOptions({ flipProbability: 2 }), /flipProbability: expected a number in \[0, 1\]/);
  assert.throws(() => resolveAugmentOptions({ scaleRange: [1.2, 1.1] }), /scaleRange/);
  assert.throws(() => augment(image, { channels: 1, height: 6, width: 8 }, DEFAULT_AUGMENT, new Rng(1)), /shape 1×6×8 needs 48/);
});
