/**
 * POST /v1/video (issue 28) in process, on the bundled models, with clips made by ffmpeg from the astronaut photo:
 * the per-frame rows and track summary (raw body and multipart), API keys, 413 TOO_LARGE, 422 TOO_LONG, 422
 * BAD_VIDEO for corrupt / truncated / audio-only clips (naming the upload, never the temp file), 400 NO_VIDEO,
 * the shared queue (503 OVERLOADED) and deadline (503 TIMEOUT); no upload is left in the temp folder.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, afterEach, before, describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import { hasFfmpeg, makeClips, type Clips } from './helpers/videoClips.js';
import { appPool, blankPng, KEY, multipart, ScriptedRecognizer } from './serveFixtures.js';

interface VideoFace {
  track: number;
  box: { x: number; width: number };
  label: string;
  expressions: Record<string, number>;
  raw: Record<string, number>;
  landmarks?: unknown[];
}
interface VideoBody {
  model: string;
  input: string;
  width: number;
  height: number;
  fps: number;
  duration: number;
  frames: { index: number; time: number; frame: number; faces: VideoFace[] }[];
  tracks: { track: number; frames: number; dominant: string; duration: number }[];
}
interface Err {
  error: { status: number; code: string; message: string };
}

const uploadsLeft = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('expnet-video-upload-'));

function assertError(res: LightMyRequestResponse, status: number, code: string, what: string): Err['error'] {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  const e = res.json<Err>().error;
  assert.equal(e.code, code, what);
  assert.doesNotMatch(e.message, /expnet-video-upload-|\/tmp\//, `${what}: the temp file is not named`);
  return e;
}

describe('POST /v1/video', { skip: hasFfmpeg() ? false : 'ffmpeg is not installed (scripts/setup.sh installs it)' }, () => {
  let clips: Clips;
  let rec: Recognizer;
  const pool = appPool(() => rec);
  const make = pool.make;
  const send = (app: FastifyInstance, file: string, query = '', headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'POST', url: `/v1/video${query}`, payload: readFileSync(file), headers: { 'content-type': 'video/mp4', ...headers } });
  before(async () => {
    clips = makeClips();
    rec = await createRecognizer({ session: { intraOpThreads: 1 } });
  });
  afterEach(() => assert.deepEqual(uploadsLeft(), [], 'every upload removed'));
  after(async () => {
    await pool.closeAll();
    await rec?.dispose();
    if (clips) rmSync(clips.dir, { recursive: true, force: true });
  });

  test('a clip as the raw body: every frame with its track, smoothed and raw probabilities, the track summary', async () => {
    const res = await send(make(), clips.moving);
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json<VideoBody>();
    assert.deepEqual([r.input, r.width, r.height, r.fps, r.frames.length], ['body', 320, 240, 10, 30]);
    r.frames.forEach((f, i) => {
      assert.deepEqual([f.index, f.frame], [i, i]);
      assert.deepEqual(f.faces.map((x) => x.track), [1]);
      assert.equal(f.faces[0]?.landmarks, undefined, 'no landmarks unless asked');
      assert.ok(f.faces[0]?.raw['happy'] !== undefined);
    });
    assert.ok((r.frames[29]?.faces[0]?.box.x ?? 0) - (r.frames[0]?.faces[0]?.box.x ?? 0) > 60, 'the face moves right');
    assert.deepEqual(r.tracks.map((t) => [t.track, t.frames, t.dominant]), [[1, 30, 'happy']]);
    assert.match(String(res.headers['server-timing']), /^infer;dur=\d/);
  });

  test('multipart, ?fps=5&landmarks=1&detectEvery=5, every face of the appearing clip', async () => {
    const app = make();
    const m = multipart([{ field: 'video', filename: 'clip.mp4', type: 'video/mp4', data: readFileSync(clips.moving) }]);
    const res = await app.inject({ method: 'POST', url: '/v1/video?fps=5&landmarks=1&detectEvery=5', payload: m.body, headers: { 'content-type': m.contentType } });
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json<VideoBody>();
    assert.equal(r.input, 'clip.mp4');
    assert.equal(r.frames.length, 15);
    assert.ok(r.frames.every((f) => f.faces[0]?.landmarks?.length === 68));
    const all = (await send(app, clips.appearing, '?smooth=none')).json<VideoBody>();
    assert.deepEqual(all.tracks.map((t) => [t.track, t.frames]), [[1, 28], [2, 10], [3, 6]]);
    const bad = await send(app, clips.moving, '?fps=60');
    assertError(bad, 400, 'BAD_REQUEST', 'fps over 30');
  });

  test('API keys: refused without one, answered with one', async () => {
    const app = make({ apiKeys: [KEY] });
    const denied = await send(app, clips.moving);
    assertError(denied, 401, 'UNAUTHORIZED', 'no key');
    const ok = await send(app, clips.moving, '?fps=2', { authorization: `Bearer ${KEY}` });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json<VideoBody>().frames.length, 6);
  });

  test('too large: 413 TOO_LARGE, raw body and multipart', async () => {
    const app = make({ videoLimit: 10_000 });
    assert.match(assertError(await send(app, clips.moving), 413, 'TOO_LARGE', 'raw').message, /over the limit of 10000 bytes/);
    const m = multipart([{ filename: 'clip.mp4', type: 'video/mp4', data: readFileSync(clips.moving) }]);
    const res = await app.inject({ method: 'POST', url: '/v1/video', payload: m.body, headers: { 'content-type': m.contentType } });
    assertError(res, 413, 'TOO_LARGE', 'multipart');
  });

  test('too long: 422 TOO_LONG; ?end= within the limit is read', async () => {
    const app = make({ maxVideoSeconds: 2 });
    assert.match(assertError(await send(app, clips.moving), 422, 'TOO_LONG', '3 s clip').message, /^body: 3\.0 s of video is over the limit of 2 s/);
    const part = await send(app, clips.moving, '?start=0.5&end=2.5');
    assert.equal(part.statusCode, 200, part.body);
    assert.equal(part.json<VideoBody>().frames.length, 20);
  });

  test('corrupt, truncated, audio-only, empty: 422 BAD_VIDEO naming the upload; no body: 400 NO_VIDEO', async () => {
    const app = make();
    for (const [file, why] of [[clips.corrupt, /corrupt/], [clips.truncated, /truncated or corrupt/], [clips.audioOnly, /no video stream \(only audio\)/]] as const) {
      const e = assertError(await send(app, file), 422, 'BAD_VIDEO', file);
      assert.match(e.message, /^body: /, e.message);
      assert.match(e.message, why, e.message);
    }
    const m = multipart([{ filename: 'broken.mp4', type: 'video/mp4', data: readFileSync(clips.corrupt) }]);
    const named = await app.inject({ method: 'POST', url: '/v1/video', payload: m.body, headers: { 'content-type': m.contentType } });
    assert.match(assertError(named, 422, 'BAD_VIDEO', 'multipart corrupt').message, /^broken\.mp4: /);
    assertError(await app.inject({ method: 'POST', url: '/v1/video', headers: { 'content-type': 'video/mp4' } }), 400, 'NO_VIDEO', 'no body');
    assertError(await app.inject({ method: 'POST', url: '/v1/video', payload: await blankPng(), headers: { 'content-type': 'image/png' } }), 415, 'UNSUPPORTED_MEDIA_TYPE', 'an image');
  });

  test('the image routes\' queue and deadline: 503 OVERLOADED while full, 503 TIMEOUT past videoTimeoutMs', async () => {
    const slow = new ScriptedRecognizer(3000);
    const full = make({ concurrency: 1, maxQueue: 0 }, slow);
    await full.ready();
    const image = full.inject({ method: 'POST', url: '/v1/detect', payload: await blankPng(), headers: { 'content-type': 'image/png' } });
    while (slow.running === 0) await new Promise((r) => setTimeout(r, 5));
    assertError(await send(full, clips.moving), 503, 'OVERLOADED', 'queue full');
    assert.equal((await image).statusCode, 200);
    const late = make({ videoTimeoutMs: 300 }, new ScriptedRecognizer(100));
    assertError(await send(late, clips.moving), 503, 'TIMEOUT', 'past the deadline');
  });
});
