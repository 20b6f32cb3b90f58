/**
 * The Recognizer's default detector size finds the same faces as face-api.js (SSD MobileNetV1 at 512, its own
 * pipeline) on the real photos of `$EXPNET_DATA/face-photos` (group photos, expression photos, face-api's test
 * images); at 512 (float32) the boxes agree almost exactly. On the 150×150 aligned face crops (identities/, and
 * face1.png, face2.png of test-images/) the default finds every face face-api finds (6 in 42 crops) and more: the
 * face fills the frame, and at 384 the anchors keep their 512-pixel size, so a large face is like a smaller one
 * at 512 (see docs/PERFORMANCE.md). Skips without the data.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { iou } from '../src/faces/box.js';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import { detectReference } from './helpers/faceApiReference.js';
import { noPhotos, photos } from './helpers/facePhotos.js';

/** 150×150 aligned face crops, not photos (see above). */
const isCrop = (f: string): boolean => f.startsWith('identities') || f === join('test-images', 'face1.png') || f === join('test-images', 'face2.png');

function files(): string[] {
  if (noPhotos) return [];
  const sub = (d: string): string[] => readdirSync(join(photos, d)).map((c) => join(d, c));
  return ['group', 'test-images', ...sub('expression'), ...sub('identities')].flatMap((d) =>
    readdirSync(join(photos, d)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => join(d, f)),
  );
}

describe('recognizer finds the faces face-api.js finds on real photos', { skip: noPhotos }, () => {
  const recs = new Map<number, Recognizer>();
  before(async () => {
    for (const size of [0, 512]) {
      // face-api.js has no close-up second look (test/recognizerCloseUp.test.ts covers it)
      const detector = { closeUpPad: 0 };
      const r = size === 0 ? await createRecognizer({ detector }) : await createRecognizer({ detectorSize: size, detector });
      recs.set(size === 0 ? r.detectorSize : size, r);
    }
  });
  after(async () => {
    for (const r of recs.values()) await r.dispose();
  });

  test('photos: same faces (IoU ≥ 0.5 by default, ≥ 0.95 at 512 float32); crops: every face-api face found', async () => {
    const list = files();
    assert.ok(list.length >= 61, `expected ≥ 61 images under ${photos}, found ${list.length}`);
    let faces = 0;
    for (const f of list) {
      const ref = (await detectReference(join(photos, f), { raw: false })).ssd.detections;
      faces += ref.length;
      for (const [size, rec] of recs) {
        const got = (await rec.detect(join(photos, f))).faces;
        if (size === 512 || !isCrop(f)) assert.equal(got.length, ref.length, `${f} @${size}: ${got.length} faces, face-api ${ref.length}`);
        const need = size === 512 ? 0.95 : 0.5;
        for (const b of ref) {
          const best = Math.max(0, ...got.map((g) => iou(b, g.box)));
          assert.ok(best >= need, `${f} @${size}: face-api box ${JSON.stringify(b)} best IoU ${best.toFixed(2)} < ${need}`);
        }
      }
    }
    assert.ok(faces >= 40, `only ${faces} faces in the images`);
  });
});
