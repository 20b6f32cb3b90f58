/**
 * The browser webcam's tracker wiring (web/src/webcamTracks.ts) on per-frame results, no camera: stable track ids
 * for a moving face, a new id for a second face, smoothing against flicker, the FPS meter, the ids drawn in the
 * layout; and the shared modules (FaceTracker, its summaries, the keyframe follower) import nothing of Node.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../src/engine/native.js';
import type { Face } from '../src/infer/facePipeline.js';
import { trackedLayout, WebcamTracks } from '../web/src/webcamTracks.js';

const LABELS = ['happy', 'neutral'] as const;

/** A 100 px face at x with `happy` probability p (a square of 68 landmark stand-ins on a grid). */
function face(x: number, p: number): Face {
  const landmarks = Array.from({ length: 68 }, (_, i) => ({ x: x + 20 + (i % 9) * 7, y: 60 + Math.floor(i / 9) * 8 }));
  return { box: { x, y: 40, width: 100, height: 100 }, score: 0.9, landmarks, expressions: { happy: p, neutral: 1 - p }, label: p >= 0.5 ? 'happy' : 'neutral', confidence: Math.max(p, 1 - p) };
}

test('webcam tracks: one id for a moving face, a new id for a second one, EMA against flicker, FPS over the last second', () => {
  const cam = new WebcamTracks();
  const labels: string[] = [];
  let fps = 0;
  for (let i = 0; i < 40; i++) {
    // 25 frames/s; the face moves 3 px a frame; its raw label flickers every frame (0.55 / 0.45 happy)
    const faces = [face(50 + 3 * i, i % 2 === 0 ? 0.8 : 0.45), ...(i >= 30 ? [face(400, 0.9)] : [])];
    const r = cam.frame(faces, 1000 + 40 * i);
    assert.deepEqual(r.faces.map((f) => f.track), i >= 30 ? [1, 2] : [1], `frame ${i}`);
    labels.push(r.faces[0]?.label ?? '');
    fps = r.fps;
  }
  assert.ok(Math.abs(fps - 25) < 0.5, `fps ${fps}`);
  const switches = labels.slice(1).filter((l, i) => l !== labels[i]).length;
  assert.ok(switches <= 1, `smoothed label switches: ${switches} (raw: 39)`);
  assert.equal(cam.frame([], 3000).fps > 0, true);
  cam.reset();
  const again = cam.frame([face(50, 0.9)], 5000);
  assert.deepEqual([again.faces.map((f) => f.track), again.fps], [[1], 0], 'a new stream: ids from 1, no FPS yet');
});

test('the layout of a tracked frame carries each track id in its box', () => {
  const cam = new WebcamTracks();
  cam.frame([face(50, 0.9)], 0);
  const { faces } = cam.frame([face(52, 0.9), face(400, 0.2)], 40);
  const l = trackedLayout({ width: 640, height: 480 }, faces, LABELS);
  assert.deepEqual(l.faces.map((f) => f.tag?.text.endsWith(`#${faces[l.faces.indexOf(f)]?.track}`)), [true, true]);
  assert.deepEqual(faces.map((f) => f.track), [1, 2]);
});

test('the modules shared with the browser import nothing of Node (no node:*, sharp, onnxruntime-node, child_process)', () => {
  for (const file of ['faceTracker.ts', 'trackSummary.ts', 'keyframeFaces.ts', 'annotationLayout.ts', 'facePipeline.ts']) {
    const src = readFileSync(join(packageRoot(), 'src', 'infer', file), 'utf8');
    const imports = [...src.matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1] ?? '');
    if (file === 'faceTracker.ts') assert.equal(imports.length, 4, `${file}: its imports are read (${imports.join(', ')})`);
    for (const i of imports) assert.ok(i.startsWith('.') && !/sharp|onnxruntime-node|session\.js$/.test(i), `${file} imports ${i}`);
  }
});
