/**
 * Video through the library (issue 28): clips made with ffmpeg from the astronaut photo — frame counts, times,
 * sampling, track ids through a short miss and for new people, rotation, smoothing against flicker, and the bad
 * inputs (truncated, corrupt, audio-only, zero-length, too many pixels, no ffmpeg) named in their errors.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ExpnetError } from '../src/errors.js';
import { iou } from '../src/infer/faceTracker.js';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import type { VideoFrameResult, VideoOptions } from '../src/infer/videoRun.js';
import { probeVideo, videoFrames } from '../src/infer/videoSource.js';
import { hasFfmpeg, makeClips, type Clips } from './helpers/videoClips.js';

const skip = hasFfmpeg() ? false : 'ffmpeg is not installed (scripts/setup.sh installs it)';

describe('video (ffmpeg source → pipeline → tracks)', { skip }, () => {
  let clips: Clips;
  let rec: Recognizer;
  const frames = async (file: string, o: VideoOptions = {}): Promise<VideoFrameResult[]> => {
    const out: VideoFrameResult[] = [];
    for await (const f of rec.video(file, o)) out.push(f);
    return out;
  };
  const switches = (fs: readonly VideoFrameResult[]): number => {
    const labels = fs.flatMap((f) => f.faces.map((x) => x.label));
    return labels.slice(1).filter((l, i) => l !== labels[i]).length;
  };
  before(async () => {
    clips = makeClips();
    rec = await createRecognizer({ session: { intraOpThreads: 1 } });
  });
  after(async () => {
    await rec?.dispose();
    if (clips) rmSync(clips.dir, { recursive: true, force: true });
  });

  test('every frame of a 10 frames/s clip, times and frame numbers, one track moving right', async () => {
    const fs = await frames(clips.moving);
    assert.equal(fs.length, 30);
    fs.forEach((f, i) => {
      assert.equal(f.index, i);
      assert.equal(f.frame, i);
      assert.ok(Math.abs(f.time - i / 10) < 1e-9);
      assert.equal(f.width, 320);
      assert.deepEqual(f.faces.map((x) => x.track), [1]);
    });
    const xs = fs.map((f) => f.faces[0]?.box.x ?? 0);
    assert.ok((xs[29] ?? 0) - (xs[0] ?? 0) > 60, `moved ${xs[0]} → ${xs[29]}`);
  });

  test('--fps and --start/--end sample the clip', async () => {
    assert.equal((await frames(clips.moving, { fps: 5 })).length, 15);
    const part = await frames(clips.moving, { start: 1, end: 2 });
    assert.equal(part.length, 10);
    assert.ok(Math.abs((part[0]?.time ?? 0) - 1) < 1e-9);
    assert.equal(part[0]?.frame, 10);
  });

  test('track ids: stable through a two-frame miss, new ids for new people; summary per track', async () => {
    const run = rec.video(clips.appearing);
    const fs: VideoFrameResult[] = [];
    for await (const f of run) fs.push(f);
    assert.equal(fs.length, 30);
    const ids = fs.map((f) => f.faces.map((x) => x.track).sort((a, b) => a - b).join(','));
    assert.deepEqual(ids.slice(0, 12), ['1', '1', '1', '1', '1', '', '', '1', '1', '1', '1,2', '1,2']);
    assert.equal(ids[19], '1,2');
    assert.equal(ids[21], '1');
    assert.deepEqual(ids.slice(24), ['1,3', '1,3', '1,3', '1,3', '1,3', '1,3']);
    const summary = run.summary();
    assert.deepEqual(summary.map((s) => [s.track, s.frames]), [[1, 28], [2, 10], [3, 6]]);
    const two = summary[1];
    assert.ok(two && Math.abs(two.start - 1) < 1e-9 && Math.abs(two.duration - 1) < 1e-9, JSON.stringify(two));
    assert.equal(two?.dominant, 'happy');
    assert.ok(Math.abs(Object.values(two?.share ?? {}).reduce((a, b) => a + b, 0) - 1) < 1e-9);
    const largest = await frames(clips.appearing, { faces: 'largest' });
    assert.ok(largest.every((f) => f.faces.length <= 1));
  });

  test('rotation metadata is honoured: a 320×240 clip rotated 90° gives 240×320 frames', async () => {
    const info = await probeVideo(clips.rotated);
    assert.equal(Math.abs(info.rotation), 90);
    const fs = await frames(clips.rotated, { fps: 2 });
    assert.deepEqual([fs[0]?.width, fs[0]?.height], [240, 320]);
    assert.ok(fs.every((f) => f.faces.length === 1));
  });

  test('smoothing: fewer label switches than unsmoothed on flickering probabilities (the sideways face)', async () => {
    const none = switches(await frames(clips.rotated, { smoothing: 'none' }));
    const ema = switches(await frames(clips.rotated, { smoothing: 'ema' }));
    const win = switches(await frames(clips.rotated, { smoothing: 'window' }));
    assert.ok(none >= 4, `unsmoothed switches: ${none}`);
    assert.ok(ema < none, `ema ${ema} vs none ${none}`);
    assert.ok(win < none, `window ${win} vs none ${none}`);
  });

  test('detectEvery: 5 runs the detector on fewer frames; faces followed in between keep their track and box', async () => {
    const every = await frames(clips.moving);
    const run = rec.video(clips.moving, { detectEvery: 5 });
    const fs: VideoFrameResult[] = [];
    for await (const f of run) fs.push(f);
    assert.equal(fs.length, 30);
    assert.deepEqual([run.keyframes.frames, run.keyframes.detections], [30, 6]);
    fs.forEach((f, i) => {
      assert.deepEqual(f.faces.map((x) => x.track), [1], `frame ${i}`);
      const [a, b] = [f.faces[0], every[i]?.faces[0]];
      assert.ok(a && b && iou(a.box, b.box) > 0.7, `frame ${i}: followed box ${JSON.stringify(a?.box)} vs detected ${JSON.stringify(b?.box)}`);
      assert.equal(a?.label, b?.label, `frame ${i}`);
    });
    // a face that leaves is lost at once (its landmarks lose their shape); new faces come at the next detection
    const app = rec.video(clips.appearing, { detectEvery: 5, faces: 'all' });
    const ids: string[] = [];
    for await (const f of app) ids.push(f.faces.map((x) => x.track).sort((a, b) => a - b).join(','));
    assert.deepEqual(ids.slice(4, 8), ['1', '', '', '1']);
    assert.ok(app.keyframes.detections < 15, `${app.keyframes.detections} detections`);
    const firstB = ids.indexOf('1,2');
    assert.ok(firstB >= 10 && firstB <= 14, `B found at frame ${firstB}: ${ids.join(' ')}`);
    assert.equal(ids[21], '1');
    assert.deepEqual(ids.slice(28), ['1,3', '1,3']);
    assert.deepEqual(app.summary().map((s) => s.track), [1, 2, 3]);
    assert.throws(() => rec.video(clips.moving, { detectEvery: 0 }), /detectEvery must be an integer ≥ 1/);
  });

  test('breaking out of the loop stops ffmpeg', async () => {
    let n = 0;
    for await (const f of videoFrames(clips.moving)) if (f.index === 2 && ++n) break;
    assert.equal(n, 1);
  });

  const refused = (file: string, why: RegExp) => (err: unknown): boolean => {
    assert.ok(err instanceof ExpnetError, String(err));
    assert.equal(err.code, 'BAD_VIDEO');
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    assert.match(err.message, why);
    return true;
  };

  test('truncated and corrupt clips: the frames before the damage, then an error naming the file', async () => {
    for (const [file, why] of [[clips.truncated, /truncated or corrupt: 1\d of 30 frames/], [clips.corrupt, /corrupt/]] as const) {
      const got: VideoFrameResult[] = [];
      await assert.rejects(async () => {
        for await (const f of rec.video(file)) got.push(f);
      }, refused(file, why));
      assert.ok(got.length >= 10, `${file}: ${got.length} frames before the error`);
    }
  });

  test('audio-only, zero-length and oversized inputs are refused before decoding', async () => {
    await assert.rejects(frames(clips.audioOnly), refused(clips.audioOnly, /no video stream \(only audio\)/));
    await assert.rejects(frames(clips.empty), refused(clips.empty, /not a readable video/));
    await assert.rejects(frames(clips.moving, { maxPixels: 320 * 239 }), refused(clips.moving, /320×240 frames are over the limit/));
    await assert.rejects(frames(clips.moving, { maxDuration: 2 }), refused(clips.moving, /longer than the limit of 2 s/));
    await assert.rejects(frames(clips.moving, { start: 5 }), refused(clips.moving, /no frames after 5 s/));
  });

  test('no ffmpeg: an error naming the Debian package', async () => {
    await assert.rejects(frames(clips.moving, { ffmpeg: '/nonexistent/bin/ffmpeg' }), (err: unknown) => {
      assert.ok(err instanceof ExpnetError && err.code === 'MISSING_TOOL', String(err));
      assert.match(err.message, /Debian's ffmpeg package/);
      return true;
    });
  });
});
