/** Shared by the face-net parity tests: where the real photos are, synthetic images, comparisons. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/engine/native.js';
import type { FaceDetection } from '../../src/faces/box.js';
import type { RgbImage } from '../../src/faces/rgbImage.js';
import type { Detection } from './faceApiReference.js';

export const photos = path.resolve(packageRoot(), process.env.EXPNET_DATA ?? '../shared/data', 'face-photos');
export const noPhotos = existsSync(path.join(photos, 'SOURCE.txt')) ? false : `face photos not found at ${photos} (set EXPNET_DATA)`;

export function synthetic(width: number, height: number, seed = 0): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = Math.round(128 + 100 * Math.sin(0.11 * x + 2 * c + seed) * Math.cos(0.07 * y - c));
    }
  }
  return { data, width, height };
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export function assertSameFaces(ours: FaceDetection[], ref: Detection[], what: string, px = 1): number {
  assert.equal(ours.length, ref.length, `${what}: ${ours.length} faces, face-api ${ref.length}`);
  let worst = 0;
  for (const r of ref) {
    const errs = ours.map((o) => Math.max(Math.abs(o.x - r.x), Math.abs(o.y - r.y), Math.abs(o.width - r.width), Math.abs(o.height - r.height)));
    const best = errs.indexOf(Math.min(...errs));
    const o = ours[best] as FaceDetection;
    worst = Math.max(worst, errs[best] ?? Infinity);
    assert.ok((errs[best] ?? Infinity) <= px, `${what}: box off by ${errs[best]} px`);
    assert.ok(Math.abs(o.score - r.score) <= 1e-3, `${what}: score ${o.score} vs ${r.score}`);
  }
  return worst;
}
