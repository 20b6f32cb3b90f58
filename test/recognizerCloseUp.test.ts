/**
 * Close-ups: a face that fills the frame is missed by the SSD detector (it learnt faces with surroundings); the
 * pipeline's second look at the photo inside a gray border finds it. Checked on a tight crop of the bundled
 * astronaut photo (always) and on the 40 aligned face crops of face-photos/identities (skipped without them),
 * where the group photos must keep exactly their boxes (the second look runs only when nothing is found).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { packageRoot } from '../src/engine/native.js';
import { paddedImage, unpadBox, unpadPoint } from '../src/infer/paddedImage.js';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import { noPhotos, photos } from './helpers/facePhotos.js';

const astronaut = join(packageRoot(), 'examples', 'astronaut.png');

test('paddedImage: the photo sits in a gray border; points and boxes map back', () => {
  const img = { data: new Uint8Array(4 * 2 * 3).fill(200), width: 4, height: 2 };
  const p = paddedImage(img, 0.5, 1000);
  assert.deepEqual([p.img.width, p.img.height, p.scale, p.offsetX], [8, 6, 1, 2]);
  assert.equal(p.img.data[0], 128);
  assert.equal(p.img.data[3 * (2 * 8 + 2)], 200);
  assert.deepEqual(unpadPoint(p, { x: 3, y: 4 }), { x: 1, y: 2 });
  const small = paddedImage({ data: new Uint8Array(100 * 50 * 3), width: 100, height: 50 }, 0.5, 100);
  assert.deepEqual([small.img.width, small.img.height, small.scale], [100, 75, 0.5]);
  assert.deepEqual(unpadBox(p, { x: 1, y: 1, width: 4, height: 4, score: 0.9 }, 4, 2), { x: 0, y: 0, width: 3, height: 2, score: 0.9 });
});

describe('close-up second look', () => {
  let rec: Recognizer;
  let firstOnly: Recognizer;
  before(async () => {
    rec = await createRecognizer();
    firstOnly = await createRecognizer({ detector: { closeUpPad: 0 } });
  });
  after(async () => {
    await rec.dispose();
    await firstOnly.dispose();
  });

  test('a tight crop of the astronaut: missed at first look, found (inside the crop) by default', async () => {
    const { faces } = await firstOnly.detect(astronaut);
    const b = faces[0]?.box;
    assert.ok(b, 'the astronaut photo has a face');
    const side = Math.round(0.7 * Math.max(b.width, b.height));
    const left = Math.round(b.x + b.width / 2 - side / 2);
    const top = Math.round(b.y + b.height / 2 - side / 2);
    const crop = await sharp(astronaut).extract({ left, top, width: side, height: side }).png().toBuffer();
    assert.equal((await firstOnly.detect(crop)).faces.length, 0, 'the first look alone misses the close-up');
    const got = (await rec.detect(crop)).faces;
    assert.equal(got.length, 1);
    const f = got[0]!;
    assert.ok(f.box.x >= 0 && f.box.y >= 0 && f.box.x + f.box.width <= side + 1e-3 && f.box.y + f.box.height <= side + 1e-3, JSON.stringify(f.box));
    assert.equal(f.landmarks.length, 68);
    assert.equal(f.label, 'happy');
  });

  test('the second look can be turned off and refuses nonsense', async () => {
    await assert.rejects(createRecognizer({ detector: { closeUpPad: -1 } }), { code: 'BAD_CONFIG' });
  });

  test('face-photos: ≥ 38 of 40 identity crops found; group photos keep their boxes', { skip: noPhotos }, async () => {
    const dir = join(photos, 'identities');
    let found = 0;
    let before = 0;
    let n = 0;
    for (const person of readdirSync(dir).sort()) {
      for (const f of readdirSync(join(dir, person)).sort()) {
        n++;
        if ((await rec.detect(join(dir, person, f))).faces.length > 0) found++;
        if ((await firstOnly.detect(join(dir, person, f))).faces.length > 0) before++;
      }
    }
    assert.equal(n, 40);
    assert.ok(found >= 38, `${found} of 40 close-ups found (first look alone: ${before})`);
    for (const g of readdirSync(join(photos, 'group')).sort()) {
      const a = (await rec.detect(join(photos, 'group', g))).faces.map((f) => f.box);
      const b = (await firstOnly.detect(join(photos, 'group', g))).faces.map((f) => f.box);
      assert.deepEqual(a, b, `${g}: boxes changed`);
    }
  });
});
