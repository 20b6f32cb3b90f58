/**
 * The annotation layout shared by the CLI's PNGs and the browser canvas: probability panels never overlap each
 * other, never leave the canvas, never hide a face when placed beside them, and hold all their text and bars;
 * synthetic scenes (always) and the group photos of `$EXPNET_DATA/face-photos` (skips without the data).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { Rng } from '../src/data/rng.js';
import { annotatePng } from '../src/infer/annotate.js';
import { layoutAnnotations, layoutBoxes, type AnnotatedFace, type AnnotationLayout, type Rect } from '../src/infer/annotationLayout.js';
import { readRgb } from '../src/infer/readImage.js';
import { createRecognizer } from '../src/infer/recognizer.js';
import { noPhotos, photos } from './helpers/facePhotos.js';

const LABELS = ['anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise', 'neutral'];
const overlap = (a: Rect, b: Rect): boolean => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const within = (r: Rect, o: Rect, eps = 1e-6): boolean => r.x >= o.x - eps && r.y >= o.y - eps && r.x + r.width <= o.x + o.width + eps && r.y + r.height <= o.y + o.height + eps;

/** Every promise of the layout, checked; returns the panels' placement. */
function check(l: AnnotationLayout, image: { width: number; height: number }, faces: readonly AnnotatedFace[], what: string): string {
  assert.equal(l.faces.length, faces.length, `${what}: a panel per face`);
  assert.ok(l.width >= image.width && l.height >= image.height, `${what}: the canvas holds the image`);
  const canvas = { x: 0, y: 0, width: l.width, height: l.height };
  const boxes = layoutBoxes(l);
  boxes.forEach((b, i) => {
    assert.ok(within(b.panel, canvas), `${what}: panel ${i + 1} ${JSON.stringify(b.panel)} leaves the ${l.width}×${l.height} canvas`);
    for (const p of b.parts) assert.ok(within(p, b.panel), `${what}: panel ${i + 1}: ${JSON.stringify(p)} sticks out of ${JSON.stringify(b.panel)}`);
    for (let j = i + 1; j < boxes.length; j++) assert.ok(!overlap(b.panel, (boxes[j] as { panel: Rect }).panel), `${what}: panels ${i + 1} and ${j + 1} overlap`);
    if (l.placement === 'beside') for (const f of faces) assert.ok(!overlap(b.panel, f.box), `${what}: panel ${i + 1} hides a face`);
    else assert.ok(b.panel.x >= image.width, `${what}: strip panel ${i + 1} is over the image`);
  });
  assert.ok(l.font >= 9, `${what}: font ${l.font} px`);
  return l.placement;
}

function scene(rng: Rng, W: number, H: number, n: number): AnnotatedFace[] {
  return Array.from({ length: n }, () => {
    const s = Math.max(8, Math.round(rng.uniform(0.05, 0.5) * Math.min(W, H)));
    const probs = LABELS.map(() => rng.uniform(0, 1));
    const sum = probs.reduce((a, b) => a + b, 0);
    const expressions = Object.fromEntries(LABELS.map((l, i) => [l, (probs[i] ?? 0) / sum]));
    const [label, confidence] = Object.entries(expressions).sort((a, b) => b[1] - a[1])[0] as [string, number];
    return { box: { x: rng.uniform(-0.1 * s, W - 0.9 * s), y: rng.uniform(-0.1 * s, H - 0.9 * s), width: s, height: s * 1.2 }, label, confidence, expressions };
  });
}

describe('annotation layout', () => {
  test('synthetic scenes: 48×48 crops to 3000×2000 photos, 0–12 faces', () => {
    const rng = new Rng(7);
    const seen = new Map<string, number>();
    for (const [W, H] of [[48, 48], [150, 150], [320, 240], [640, 480], [1366, 768], [3000, 2000], [2000, 300]] as const)
      for (let n = 0; n <= 12; n += 3) {
        const faces = scene(rng, W, H, n);
        const p = check(layoutAnnotations({ width: W, height: H }, faces, LABELS), { width: W, height: H }, faces, `${W}×${H}, ${n} faces`);
        seen.set(p, (seen.get(p) ?? 0) + 1);
      }
    assert.ok((seen.get('beside') ?? 0) > 0 && (seen.get('strip') ?? 0) > 0, `both placements exercised: ${JSON.stringify([...seen])}`);
  });

  test('a small crop grows a strip instead of clipping the label; the PNG is the layout’s size', async () => {
    const face: AnnotatedFace = { box: { x: 0, y: 0, width: 48, height: 48 }, label: 'surprise', confidence: 1, expressions: Object.fromEntries(LABELS.map((l) => [l, l === 'surprise' ? 1 : 0])) };
    const l = layoutAnnotations({ width: 48, height: 48 }, [face], LABELS);
    assert.equal(check(l, { width: 48, height: 48 }, [face], '48×48 crop'), 'strip');
    const img = { data: new Uint8Array(48 * 48 * 3).fill(90), width: 48, height: 48 };
    const png = await annotatePng(img, { input: 'x', width: 48, height: 48, faces: [{ ...face, label: 'surprise' as const, score: 1, landmarks: [] }] });
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [l.width, l.height]);
  });

  test('group photos: every face of face-photos/group laid out, checked box by box', { skip: noPhotos }, async (t) => {
    const rec = await createRecognizer();
    try {
      const dir = join(photos, 'group');
      const files = readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).sort();
      assert.ok(files.length >= 5, `group photos in ${dir}`);
      for (const f of files) {
        const r = await rec.detect(join(dir, f));
        assert.ok(r.faces.length >= 3, `${f}: ${r.faces.length} faces`);
        const l = layoutAnnotations(r, r.faces, rec.labels);
        const p = check(l, r, r.faces, f);
        const meta = await sharp(await annotatePng(await readRgb(join(dir, f)), r)).metadata();
        assert.deepEqual([meta.width, meta.height], [l.width, l.height], `${f}: PNG size`);
        t.diagnostic(`${f}: ${r.width}×${r.height}, ${r.faces.length} faces, panels ${p} at ${l.font} px${p === 'strip' ? ` (canvas ${l.width}×${l.height})` : ''}`);
      }
    } finally {
      await rec.dispose();
    }
  });
});
