import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { ExpnetError } from '../src/errors.js';
import { decodeImage, decodeImageBytes, decodePixels } from '../src/data/decode.js';

/** An RGB image, left half white and right half black, w × h. */
function halves(w: number, h: number): Buffer {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) data.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
  return data;
}

test('decodes gray and colour images to CHW floats in [0,1] of the requested size', async () => {
  const rgb = await sharp(Buffer.from([255, 0, 0, 0, 0, 255]), { raw: { width: 2, height: 1, channels: 3 } }).png().toBuffer();
  const x = await decodeImage(rgb, { channels: 3, size: [1, 2] });
  assert.deepEqual([...x], [1, 0, 0, 0, 0, 1]); // R plane, G plane, B plane
  const gray = await decodeImage(rgb, { channels: 1, size: [1, 2] });
  assert.equal(gray.length, 2);
  assert.ok(gray.every((v) => v > 0 && v < 1));
  const g = await sharp(Buffer.from([0, 128, 255, 64]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
  const g3 = await decodeImageBytes(g, { channels: 3, size: [2, 2] });
  assert.deepEqual([...g3], [0, 128, 255, 64, 0, 128, 255, 64, 0, 128, 255, 64]);
});

test('handles alpha, 16-bit PNG and resizing', async () => {
  const rgba = await sharp(Buffer.from([255, 255, 255, 255, 255, 255, 255, 0]), { raw: { width: 2, height: 1, channels: 4 } })
    .png().toBuffer();
  assert.deepEqual([...(await decodeImageBytes(rgba, { channels: 1, size: [1, 2] }))], [255, 0]); // alpha → black
  const deep = await sharp(Buffer.from([255, 255, 255, 0, 0, 0]), { raw: { width: 2, height: 1, channels: 3 } })
    .toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(deep).metadata()).depth, 'ushort');
  assert.deepEqual([...(await decodeImageBytes(deep, { channels: 1, size: [1, 2] }))], [255, 0]);
  const big = await decodeImage(deep, { channels: 3, size: [5, 7] });
  assert.equal(big.length, 3 * 5 * 7);
});

test('applies EXIF orientation and takes the first frame of an animation', async () => {
  const jpeg = await sharp(halves(16, 8), { raw: { width: 16, height: 8, channels: 3 } })
    .jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
  const turned = await decodeImageBytes(jpeg, { channels: 1, size: [16, 8] }); // displayed 8 wide × 16 tall
  assert.ok((turned[0] ?? 0) > 200 && (turned[7] ?? 0) > 200, 'top row white after rotation');
  assert.ok((turned[15 * 8] ?? 255) < 50, 'bottom row black after rotation');
  const frames = Buffer.concat([Buffer.alloc(4 * 4 * 3, 255), Buffer.alloc(4 * 4 * 3, 0)]);
  const gif = await sharp(frames, { raw: { width: 4, height: 8, channels: 3, pageHeight: 4 } }).gif().toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2);
  const first = await decodeImageBytes(gif, { channels: 1, size: [4, 4] });
  assert.ok(first.every((v) => v > 200), 'first (white) frame only');
});

test('decodes a pixels field, resizing only when needed', async () => {
  const pixels = { width: 2, height: 2, data: Uint8Array.from([0, 51, 102, 255]) };
  assert.deepEqual([...(await decodePixels(pixels, { channels: 1, size: [2, 2] }))], [...Float32Array.from([0, 0.2, 0.4, 1])]);
  assert.equal((await decodePixels(pixels, { channels: 3, size: [4, 4] })).length, 48);
});

test('corrupt, truncated or missing images → BAD_IMAGE naming the file', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'expnet-decode-'));
  try {
    const bad = path.join(dir, 'broken.png');
    await fs.writeFile(bad, 'this is not a png');
    const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
      .jpeg().toBuffer();
    const cut = path.join(dir, 'cut.jpg');
    await fs.writeFile(cut, png.subarray(0, Math.floor(png.length / 2)));
    for (const file of [bad, cut, path.join(dir, 'missing.png')]) {
      await assert.rejects(decodeImage(file, { channels: 1, size: [8, 8] }), (e: unknown) => {
        assert.ok(e instanceof ExpnetError);
        assert.equal(e.code, 'BAD_IMAGE');
        assert.match(e.message, new RegExp(path.basename(file)));
        return true;
      });
    }
    await assert.rejects(decodeImage(bad, { channels: 2 as 1, size: [8, 8] }), /channels 1\|3/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
