/** FaceTracker on synthetic per-frame results: ids through misses, new ids, crossing faces, smoothing, summaries. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExpressionLabel } from '../src/data/labels.js';
import type { Face } from '../src/infer/facePipeline.js';
import { FaceTracker, largestFace, type TrackedFace } from '../src/infer/faceTracker.js';

const LABELS: ExpressionLabel[] = ['happy', 'neutral', 'sadness'];

function face(x: number, y: number, size: number, probs: number[] = [0.6, 0.3, 0.1]): Face {
  const expressions: Partial<Record<ExpressionLabel, number>> = {};
  LABELS.forEach((l, i) => (expressions[l] = probs[i] ?? 0));
  let best = 0;
  probs.forEach((p, i) => (best = p > (probs[best] ?? 0) ? i : best));
  // five landmarks in a fixed face shape, scaled with the box
  const landmarks = [[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]].map(([u = 0, v = 0]) => ({ x: x + u * size, y: y + v * size }));
  return { box: { x, y, width: size, height: size }, score: 0.9, landmarks, expressions, label: LABELS[best] ?? 'happy', confidence: probs[best] ?? 0 };
}

const ids = (faces: readonly TrackedFace[]): number[] => faces.map((f) => f.track);
const switches = (labels: readonly string[]): number => labels.slice(1).filter((l, i) => l !== labels[i]).length;

describe('FaceTracker', () => {
  test('one moving face keeps id 1; a face far away is a new id', () => {
    const t = new FaceTracker();
    for (let i = 0; i < 20; i++) assert.deepEqual(ids(t.update([face(10 + 8 * i, 20, 50)], i / 10)), [1]);
    assert.deepEqual(ids(t.update([face(170, 20, 50), face(400, 300, 50)], 2)), [1, 2]);
  });

  test('ids survive a short miss, not a long one', () => {
    const t = new FaceTracker({ maxMissedFrames: 3 });
    t.update([face(100, 100, 60)]);
    t.update([]);
    t.update([]);
    assert.deepEqual(ids(t.update([face(104, 100, 60)])), [1], 'two missed frames: the same person');
    for (let i = 0; i < 5; i++) t.update([]);
    assert.deepEqual(ids(t.update([face(104, 100, 60)])), [2], 'five missed frames: a new track');
  });

  test('the time limit ends tracks missed for longer, when frames carry times; consecutive frames far apart go on', () => {
    const t = new FaceTracker({ maxGapSeconds: 0.5 });
    t.update([face(100, 100, 60)], 0);
    t.update([], 0.4);
    assert.deepEqual(ids(t.update([face(100, 100, 60)], 1.0)), [2]);
    // frames 2 s apart (a clip sampled at 0.5 frames/s, a slow webcam): the face seen in the frame before continues
    const slow = new FaceTracker();
    for (let i = 0; i < 4; i++) assert.deepEqual(ids(slow.update([face(100 + 3 * i, 100, 60)], 2 * i)), [1], `frame ${i}`);
  });

  test('two faces side by side keep their ids whatever the order they come in', () => {
    const t = new FaceTracker();
    t.update([face(0, 0, 50), face(200, 0, 50)]);
    for (let i = 1; i < 10; i++) {
      const a = face(5 * i, 0, 50);
      const b = face(200 - 5 * i, 0, 50);
      assert.deepEqual(ids(t.update(i % 2 ? [b, a] : [a, b])), i % 2 ? [2, 1] : [1, 2]);
    }
  });

  test('a face of a very different size is not the same track', () => {
    const t = new FaceTracker();
    t.update([face(100, 100, 40)]);
    assert.deepEqual(ids(t.update([face(90, 90, 120)])), [2]);
  });

  test('EMA and window smoothing switch labels less often than none', () => {
    // probabilities flickering between happy and neutral around a happy mean
    const seq = Array.from({ length: 40 }, (_, i) => (i % 3 === 2 ? [0.35, 0.55, 0.1] : [0.6, 0.3, 0.1]));
    const run = (smoothing: 'ema' | 'window' | 'none'): string[] => {
      const t = new FaceTracker({ smoothing });
      return seq.map((p) => t.update([face(50, 50, 80, p)])[0]?.label ?? '');
    };
    const none = switches(run('none'));
    assert.ok(none >= 20, `unsmoothed: ${none} switches`);
    assert.ok(switches(run('ema')) < none / 4, `ema: ${switches(run('ema'))} vs ${none}`);
    assert.ok(switches(run('window')) < none / 4, `window: ${switches(run('window'))} vs ${none}`);
  });

  test('smoothed probabilities: the EMA step exactly, raw kept beside', () => {
    const t = new FaceTracker({ alpha: 0.25 });
    t.update([face(0, 0, 50, [1, 0, 0])]);
    const [f] = t.update([face(0, 0, 50, [0, 1, 0])]);
    assert.equal(f?.expressions.happy, 0.75);
    assert.equal(f?.expressions.neutral, 0.25);
    assert.equal(f?.raw.neutral, 1);
    assert.equal(f?.label, 'happy');
  });

  test('summary: duration, frames, dominant expression and shares per track', () => {
    const t = new FaceTracker({ smoothing: 'none' });
    for (let i = 0; i < 10; i++) t.update([face(0, 0, 50, i < 7 ? [0.8, 0.1, 0.1] : [0.1, 0.1, 0.8])], i * 0.1);
    const [s] = t.summary(0.1);
    assert.equal(s?.track, 1);
    assert.equal(s?.frames, 10);
    assert.ok(Math.abs((s?.duration ?? 0) - 1) < 1e-9);
    assert.equal(s?.dominant, 'happy');
    assert.deepEqual(s?.share, { happy: 0.7, sadness: 0.3 });
  });

  test('bad options are refused; largestFace picks by area', () => {
    assert.throws(() => new FaceTracker({ alpha: 0 }), /alpha/);
    assert.throws(() => new FaceTracker({ window: 0 }), /window/);
    assert.deepEqual(largestFace([face(0, 0, 10), face(50, 50, 30), face(90, 0, 20)]).map((f) => f.box.width), [30]);
    assert.deepEqual(largestFace([]), []);
  });
});
