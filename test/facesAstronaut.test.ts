/**
 * The committed fixture (examples/astronaut.png, public domain): the ported detectors and landmark net give
 * face-api's own boxes and points on a real photo, in CI, without the shared data; alignment puts the eyes
 * where the template says.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../src/engine/index.js';
import { alignFace, alignmentPoints, DEFAULT_ALIGN_TEMPLATE } from '../src/faces/align.js';
import type { FaceDetection } from '../src/faces/box.js';
import { detectFacesSsd, detectFacesTiny } from '../src/faces/detectFaces.js';
import { detectLandmarks } from '../src/faces/landmarks.js';
import { rgbToTensor } from '../src/faces/rgbImage.js';
import type { Landmarks68 } from '../src/nets/landmarks68.js';
import { createPretrainedLandmarks68 } from '../src/nets/landmarks68Weights.js';
import type { SsdMobilenet } from '../src/nets/ssdMobilenet.js';
import { createPretrainedSsdMobilenet } from '../src/nets/ssdMobilenetWeights.js';
import type { TinyFaceDetector } from '../src/nets/tinyFaceDetector.js';
import { createPretrainedTinyFaceDetector } from '../src/nets/tinyFaceDetectorWeights.js';
import { cropRgb, detectReference, landmarksReference, readRgb, type Detection, type DetectReference, type RgbImage } from './helpers/faceApiReference.js';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
const FIXTURE = path.join(repoRoot(), 'examples', 'astronaut.png');
const SHA256 = '88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5';

function assertSameFace(ours: FaceDetection[], ref: Detection[], what: string): FaceDetection {
  assert.equal(ours.length, ref.length, `${what}: ${ours.length} faces, face-api ${ref.length}`);
  assert.ok(ref.length >= 1, `${what}: face-api found no face`);
  const [o, r] = [ours[0] as FaceDetection, ref[0] as Detection];
  const err = Math.max(Math.abs(o.x - r.x), Math.abs(o.y - r.y), Math.abs(o.width - r.width), Math.abs(o.height - r.height));
  assert.ok(err <= 1, `${what}: box off by ${err} px`);
  assert.ok(Math.abs(o.score - r.score) <= 1e-3, `${what}: score ${o.score} vs ${r.score}`);
  return o;
}

describe('examples/astronaut.png: ported face pipeline = face-api', () => {
  let rgb: RgbImage;
  let image: Tensor;
  let ref: DetectReference;
  let tiny: TinyFaceDetector;
  let ssd: SsdMobilenet;
  let landmarks: Landmarks68;
  before(async () => {
    rgb = await readRgb(FIXTURE);
    image = rgbToTensor(rgb);
    ref = await detectReference(rgb, { raw: false });
    [tiny, ssd, landmarks] = await Promise.all([createPretrainedTinyFaceDetector(), createPretrainedSsdMobilenet(), createPretrainedLandmarks68()]);
  });
  after(() => {
    for (const m of [tiny, ssd, landmarks, image]) m.dispose();
  });

  test('the fixture is the recorded public-domain file', () => {
    assert.equal(createHash('sha256').update(readFileSync(FIXTURE)).digest('hex'), SHA256);
    assert.deepEqual([rgb.width, rgb.height], [512, 512]);
  });

  test('tiny detector and SSD find the face with face-api\'s box (within 1 px) and score (within 1e-3)', (t) => {
    const a = assertSameFace(detectFacesTiny(tiny, image), ref.tiny.detections, 'tiny');
    const b = assertSameFace(detectFacesSsd(ssd, image), ref.ssd.detections, 'ssd');
    for (const [name, f] of [['tiny', a], ['ssd', b]] as const) {
      t.diagnostic(`${name}: x ${f.x.toFixed(2)}, y ${f.y.toFixed(2)}, ${f.width.toFixed(2)}×${f.height.toFixed(2)}, score ${f.score.toFixed(4)}`);
    }
  });

  test('landmarks on the SSD box match face-api\'s within 1 px; the aligned crop puts the eyes on the template', async (t) => {
    const box = ref.ssd.detections[0];
    assert.ok(box);
    const pts = detectLandmarks(landmarks, image, box);
    assert.ok(pts);
    const theirs = (await landmarksReference(cropRgb(rgb, box))).positions.map(([x, y]) => [x + box.x, y + box.y] as const);
    const worst = pts.reduce((m, p, i) => Math.max(m, Math.abs(p.x - (theirs[i]?.[0] ?? NaN)), Math.abs(p.y - (theirs[i]?.[1] ?? NaN))), 0);
    t.diagnostic(`worst landmark error ${worst.toExponential(2)} px`);
    assert.ok(worst <= 1, `${worst} px`);

    // Landmarks found again on the aligned 112×112 crop land near the template's eye and mouth centres.
    const size = 112;
    const { crop } = alignFace(image, pts, size);
    const again = detectLandmarks(landmarks, crop);
    crop.dispose();
    assert.ok(again);
    const tpl = [DEFAULT_ALIGN_TEMPLATE.leftEye, DEFAULT_ALIGN_TEMPLATE.rightEye, DEFAULT_ALIGN_TEMPLATE.mouth];
    const errs = alignmentPoints(again).map((p, k) => Math.hypot(p.x - (tpl[k]?.x ?? NaN) * size, p.y - (tpl[k]?.y ?? NaN) * size));
    t.diagnostic(`after alignment: eye/eye/mouth centres ${errs.map((e) => e.toFixed(2)).join(', ')} px from the template`);
    assert.ok(errs.every((e) => e < 4), errs.join(', '));
  });
});
