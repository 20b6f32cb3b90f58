import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import { createApp } from '../src/serve/createApp.js';
import { LATENCY_BUCKETS_S } from '../src/serve/metrics.js';
import { appPool, ASTRONAUT, blankPng, buildBundle, KEY, LABELS, MODEL_NAME, multipart, type FilePart, pngBomb, ScriptedRecognizer } from './serveFixtures.js';

interface Face {
  box: { x: number; width: number };
  landmarks: unknown[];
  expressions: Record<string, number>;
  label: string;
}
interface Detect {
  model: string;
  labels: string[];
  input: string;
  width: number;
  faces: Face[];
}
interface Err {
  error: { status: number; code: string; message: string };
}

const astronaut = readFileSync(ASTRONAUT);
const post = (app: FastifyInstance, url: string, payload: Buffer | string, type?: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
  app.inject({ method: 'POST', url, payload, headers: { ...(type ? { 'content-type': type } : {}), ...headers } });

const postParts = (app: FastifyInstance, url: string, files: FilePart[], fields: Record<string, string> = {}): Promise<LightMyRequestResponse> => {
  const m = multipart(files, fields);
  return post(app, url, m.body, m.contentType);
};

function assertError(res: LightMyRequestResponse, status: number, code: string, what: string): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /application\/json/, what);
  const body = res.json<Err>();
  assert.equal(body.error.status, status, what);
  assert.equal(body.error.code, code, what);
  assert.ok(body.error.message.length > 0, what);
}

describe('expnet HTTP API, in process (fastify inject, random-weight model)', () => {
  let dir: string;
  let rec: Recognizer;
  let app: FastifyInstance;
  const pool = appPool(() => rec);
  const make = pool.make;
  before(async () => {
    dir = await buildBundle();
    rec = await createRecognizer({ modelDir: dir, expressionModel: MODEL_NAME });
    app = make();
  });
  after(async () => {
    await pool.closeAll();
    await rec?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('POST /v1/detect with a raw image body: the astronaut, 68 landmarks, a probability per label', async () => {
    const res = await post(app, '/v1/detect', astronaut, 'image/png');
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.headers['x-request-id']);
    assert.match(String(res.headers['server-timing']), /^infer;dur=\d/);
    const r = res.json<Detect>();
    assert.equal(r.model, MODEL_NAME);
    assert.deepEqual(r.labels, LABELS);
    assert.equal(r.width, 512);
    assert.equal(r.faces.length, 1);
    const f = r.faces[0]!;
    assert.ok(f.box.x > 150 && f.box.x < 210, JSON.stringify(f.box));
    assert.equal(f.landmarks.length, 68);
    assert.deepEqual(Object.keys(f.expressions), LABELS);
    assert.ok(Math.abs(Object.values(f.expressions).reduce((a, b) => a + b, 0) - 1) < 1e-4);
    const octet = await post(app, '/v1/detect', astronaut, 'application/octet-stream');
    assert.deepEqual(octet.json<Detect>().faces, r.faces);
  });

  test('multipart upload gives the same faces; ?crop=1 classifies the whole image; no face is an empty list', async () => {
    const raw = (await post(app, '/v1/detect', astronaut, 'image/png')).json<Detect>();
    const m = multipart([{ filename: 'astro.png', data: astronaut }], { note: 'ignored' });
    const res = await post(app, '/v1/detect', m.body, m.contentType);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<Detect>().input, 'astro.png');
    assert.deepEqual(res.json<Detect>().faces, raw.faces);
    const crop = (await post(app, '/v1/detect?crop=1', astronaut, 'image/png')).json<Detect>();
    assert.equal(crop.faces.length, 1);
    assert.deepEqual(crop.faces[0]!.landmarks, []);
    assert.deepEqual((await post(app, '/v1/detect', await blankPng(300, 200), 'image/png')).json<Detect>().faces, []);
  });

  test('?annotate=1 answers a PNG of the same size', async () => {
    const res = await post(app, '/v1/detect?annotate=1', astronaut, 'image/png');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    const meta = await sharp(res.rawPayload).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 512);
    const maybe = await post(app, '/v1/detect?annotate=maybe', astronaut, 'image/png');
    assertError(maybe, 400, 'BAD_REQUEST', 'annotate=maybe');
    assert.match(maybe.json<Err>().error.message, /'annotate' must be 1\/true\/yes or 0\/false\/no/, 'the query schema names the parameter');
    assert.equal((await post(app, '/v1/detect?annotate=No', astronaut, 'image/png')).headers['content-type'], 'application/json; charset=utf-8', 'flags in any case');
  });

  test('POST /v1/detect/batch: a result or an error per image, in order', async () => {
    const m = multipart([
      { filename: 'a.png', data: astronaut },
      { filename: 'blank.png', data: await blankPng() },
      { filename: 'text.png', data: Buffer.from('not an image') },
      { filename: 'bomb.png', data: pngBomb(60000, 60000) },
    ]);
    const res = await post(app, '/v1/detect/batch', m.body, m.contentType);
    assert.equal(res.statusCode, 200, res.body);
    const { results } = res.json<{ results: (Detect | Err & { input: string })[] }>();
    assert.deepEqual(results.map((r) => r.input), ['a.png', 'blank.png', 'text.png', 'bomb.png']);
    assert.equal((results[0] as Detect).faces.length, 1);
    assert.equal((results[1] as Detect).faces.length, 0);
    assert.equal((results[2] as Err).error.code, 'BAD_IMAGE');
    assert.equal((results[3] as Err).error.code, 'TOO_MANY_PIXELS');
  });

  test('limits and malformed requests are JSON errors with the right status and code', async () => {
    const small = make({ bodyLimit: 64 * 1024, batchLimit: 100 * 1024, maxBatch: 2, maxPixels: 300 * 300 });
    const jpeg = await sharp(astronaut).jpeg({ quality: 95 }).toBuffer();
    const two = multipart([{ data: astronaut }, { data: astronaut }]);
    const cases: [string, Promise<LightMyRequestResponse>, number, string][] = [
      ['JSON body without "image"', post(app, '/v1/detect', '{"picture":"x"}', 'application/json'), 400, 'BAD_JSON'],
      ['JSON body that does not parse', post(app, '/v1/detect', '{"image":', 'application/json'), 400, 'BAD_JSON'],
      ['text body', post(app, '/v1/detect', 'hello', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['form body', post(app, '/v1/detect', 'a=b', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['no content type', post(app, '/v1/detect', astronaut), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['multipart without boundary', post(app, '/v1/detect', 'x', 'multipart/form-data'), 400, 'BAD_MULTIPART'],
      ['empty image body', post(app, '/v1/detect', Buffer.alloc(0), 'image/png'), 400, 'NO_IMAGE'],
      ['multipart without a file', postParts(app, '/v1/detect', [], { a: 'b' }), 400, 'NO_IMAGE'],
      ['not an image', post(app, '/v1/detect', 'this is not an image', 'image/png'), 422, 'BAD_IMAGE'],
      ['truncated JPEG', post(app, '/v1/detect', jpeg.subarray(0, jpeg.length >> 1), 'image/jpeg'), 422, 'BAD_IMAGE'],
      ['decompression bomb', post(app, '/v1/detect', pngBomb(60000, 60000), 'image/png'), 413, 'TOO_MANY_PIXELS'],
      ['two files to /v1/detect', post(app, '/v1/detect', two.body, two.contentType), 400, 'ONE_IMAGE_EXPECTED'],
      ['raw body to batch', post(app, '/v1/detect/batch', astronaut, 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['annotate in batch', post(app, '/v1/detect/batch?annotate=1', two.body, two.contentType), 400, 'BAD_REQUEST'],
      ['raw body over bodyLimit', post(small, '/v1/detect', astronaut, 'image/png'), 413, 'TOO_LARGE'],
      ['multipart file over bodyLimit', postParts(small, '/v1/detect', [{ data: astronaut }]), 413, 'TOO_LARGE'],
      ['over maxPixels', post(small, '/v1/detect', jpeg.length < 64 * 1024 ? jpeg : pngBomb(512, 512), 'image/jpeg'), 413, 'TOO_MANY_PIXELS'],
      ['batch over maxBatch', postParts(small, '/v1/detect/batch', [1, 2, 3].map(() => ({ data: Buffer.from('x') }))), 413, 'TOO_MANY_FILES'],
      ['unknown route', app.inject({ method: 'GET', url: '/v2/nothing' }), 404, 'NOT_FOUND'],
      ['GET on a POST route', app.inject({ method: 'GET', url: '/v1/detect' }), 404, 'NOT_FOUND'],
    ];
    for (const [what, res, status, code] of cases) assertError(await res, status, code, what);
    // A multipart body whose total is over batchLimit, each file under bodyLimit.
    const big = await sharp(randomBytes(120 * 120 * 3), { raw: { width: 120, height: 120, channels: 3 } }).png().toBuffer();
    assert.ok(big.length > 34 * 1024 && big.length < 64 * 1024, `noise PNG of ${big.length} bytes`);
    const heavy = multipart([{ data: big }, { data: big }, { data: big }]);
    assertError(await post(make({ bodyLimit: 64 * 1024, batchLimit: 100 * 1024, maxBatch: 3 }), '/v1/detect/batch', heavy.body, heavy.contentType), 413, 'TOO_LARGE', 'batch over batchLimit');
  });

  test('/v1/models, /healthz, /readyz, /openapi.json', async () => {
    const models = (await app.inject({ url: '/v1/models' })).json<{ models: { id: string; default: boolean; labels: string[]; card: { licence: string } }[] }>();
    assert.equal(models.models[0]?.id, MODEL_NAME);
    assert.deepEqual(models.models[0]?.labels, LABELS);
    assert.equal(models.models[0]?.card.licence, 'MIT');
    assert.deepEqual((await app.inject({ url: '/healthz' })).json(), { status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.json<{ queue: { admitted: number } }>().queue.admitted, 0, 'every admitted request has left');
    const doc = (await app.inject({ url: '/openapi.json' })).json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    assert.equal(doc.openapi, '3.1.0');
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const res = await app.inject({ method: method.toUpperCase() as 'GET' | 'POST', url: path, ...(method === 'post' ? { payload: astronaut, headers: { 'content-type': 'image/png' } } : {}) });
        assert.notEqual(res.statusCode, 404, `${method} ${path} is documented but not routed`);
      }
    }
  });

  test('/metrics: Prometheus text with requests, a latency histogram, faces and errors', async () => {
    const a = make();
    await post(a, '/v1/detect', astronaut, 'image/png');
    await post(a, '/v1/detect', 'nope', 'image/png');
    await post(a, '/v1/detect', '{}', 'text/plain');
    const res = await a.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body;
    assert.match(text, /^expnet_http_requests_total\{method="POST",route="\/v1\/detect",status="200"\} 1$/m);
    assert.match(text, /^expnet_http_requests_total\{method="POST",route="\/v1\/detect",status="422"\} 1$/m);
    assert.match(text, /^expnet_faces_detected_total 1$/m);
    assert.match(text, /^expnet_images_processed_total 1$/m);
    assert.match(text, /^expnet_errors_total\{code="BAD_IMAGE"\} 1$/m);
    assert.match(text, /^expnet_errors_total\{code="UNSUPPORTED_MEDIA_TYPE"\} 1$/m);
    assert.match(text, /^# TYPE expnet_http_request_duration_seconds histogram$/m);
    const buckets = [...text.matchAll(/^expnet_http_request_duration_seconds_bucket\{le="([^"]+)",route="\/v1\/detect"\} (\d+)$/gm)];
    assert.equal(buckets.length, LATENCY_BUCKETS_S.length + 1, 'one line per bucket and +Inf');
    assert.equal(buckets.at(-1)?.[1], '+Inf');
    assert.equal(buckets.at(-1)?.[2], '3');
    const counts = buckets.map((b) => Number(b[2]));
    assert.deepEqual(counts, [...counts].sort((x, y) => x - y), 'cumulative buckets');
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) assert.match(line, /^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/, line);
  });

  test('API keys: 401 without or with a wrong key on every route but the probes, either header works', async () => {
    assert.throws(() => createApp(rec, { apiKeys: ['short'] }), /at least 16 characters/);
    const a = make({ apiKeys: [KEY, 'another-key-0123456789'] });
    const noKey = await post(a, '/v1/detect', astronaut, 'image/png');
    assertError(noKey, 401, 'UNAUTHORIZED', 'no key');
    assert.match(String(noKey.headers['www-authenticate']), /^Bearer/);
    assertError(await post(a, '/v1/detect', astronaut, 'image/png', { authorization: `Bearer ${KEY}x` }), 401, 'UNAUTHORIZED', 'wrong key');
    assertError(await post(a, '/v1/detect', astronaut, 'image/png', { 'x-api-key': KEY.slice(0, -1) }), 401, 'UNAUTHORIZED', 'prefix of a key');
    assertError(await a.inject({ url: '/metrics' }), 401, 'UNAUTHORIZED', 'metrics');
    assertError(await a.inject({ url: '/v1/models' }), 401, 'UNAUTHORIZED', 'models');
    assert.equal((await post(a, '/v1/detect', astronaut, 'image/png', { authorization: `Bearer ${KEY}` })).statusCode, 200);
    assert.equal((await post(a, '/v1/detect', astronaut, 'image/png', { 'x-api-key': 'another-key-0123456789' })).statusCode, 200);
    assert.equal((await a.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await a.inject({ url: '/readyz' })).statusCode, 200);
    assertError(await a.inject({ url: '/openapi.json' }), 401, 'UNAUTHORIZED', 'openapi.json');
    assertError(await a.inject({ url: '/no/such/route' }), 401, 'UNAUTHORIZED', 'unknown routes');
    assert.equal((await a.inject({ url: '/openapi.json', headers: { 'x-api-key': KEY } })).statusCode, 200);
    assert.equal((await a.inject({ url: '/readyz' })).json<{ queue: { admitted: number } }>().queue.admitted, 0);
  });

  test('CORS is off by default; configured origins get headers and preflight answers', async () => {
    const off = await app.inject({ url: '/v1/models', headers: { origin: 'https://evil.example' } });
    assert.equal(off.headers['access-control-allow-origin'], undefined);
    assert.equal((await app.inject({ method: 'OPTIONS', url: '/v1/detect', headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' } })).statusCode, 404);
    assert.throws(() => createApp(rec, { cors: { origins: ['https://a.example/path'] } }), /cors\.origins/);
    const a = make({ cors: { origins: ['https://a.example'] }, apiKeys: [KEY] });
    const pre = await a.inject({ method: 'OPTIONS', url: '/v1/detect', headers: { origin: 'https://a.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'Content-Type, Authorization' } });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://a.example');
    assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
    // The allowed request headers, whatever the preflight asked for (a browser sends only those granted).
    assert.equal(pre.headers['access-control-allow-headers'], 'content-type, authorization, x-api-key, x-request-id');
    assert.equal(pre.headers['access-control-max-age'], '600');
    assert.equal(pre.headers['access-control-allow-credentials'], undefined, 'no cookies');
    const other = await a.inject({ method: 'OPTIONS', url: '/v1/detect', headers: { origin: 'https://b.example', 'access-control-request-method': 'POST' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const res = await post(a, '/v1/detect', astronaut, 'image/png', { origin: 'https://a.example', 'x-api-key': KEY });
    assert.equal(res.headers['access-control-allow-origin'], 'https://a.example');
    assert.match(String(res.headers['access-control-expose-headers']), /Retry-After/);
    const star = make({ cors: { origins: '*' } });
    assert.equal((await star.inject({ url: '/healthz', headers: { origin: 'https://x.example' } })).headers['access-control-allow-origin'], '*');
  });

  test('bounded queue: beyond concurrency + maxQueue requests get 503 (or 429) with Retry-After', async () => {
    const png = await blankPng();
    for (const status of [503, 429] as const) {
      const slow = new ScriptedRecognizer(300);
      const a = make({ concurrency: 1, maxQueue: 2, overloadStatus: status }, slow);
      const res = await Promise.all(Array.from({ length: 6 }, () => post(a, '/v1/detect', png, 'image/png')));
      const codes = res.map((r) => r.statusCode).sort();
      assert.deepEqual(codes, [200, 200, 200, status, status, status]);
      for (const r of res.filter((x) => x.statusCode === status)) {
        assertError(r, status, 'OVERLOADED', 'overloaded');
        assert.ok(Number(r.headers['retry-after']) >= 1, `Retry-After ${String(r.headers['retry-after'])}`);
      }
      assert.equal(slow.calls, 3);
      assert.equal((await a.inject({ url: '/readyz' })).json<{ queue: { admitted: number } }>().queue.admitted, 0);
      assert.equal((await post(a, '/v1/detect', png, 'image/png')).statusCode, 200, 'admits again once drained');
    }
  });

  test('per-request timeout: 503 TIMEOUT; timed-out waiting jobs never run', async () => {
    const slow = new ScriptedRecognizer(300);
    const a = make({ concurrency: 1, maxQueue: 8, timeoutMs: 100 }, slow);
    const png = await blankPng();
    const res = await Promise.all(Array.from({ length: 3 }, () => post(a, '/v1/detect', png, 'image/png')));
    for (const r of res) {
      assertError(r, 503, 'TIMEOUT', 'timeout');
      assert.ok(r.headers['retry-after']);
    }
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(slow.calls, 1, 'only the job that had started ran');
    assert.match((await a.inject({ url: '/metrics' })).body, /^expnet_errors_total\{code="TIMEOUT"\} 3$/m);
  });

  test('close(): in-flight requests finish, the recognizer is disposed only after them', async () => {
    const slow = new ScriptedRecognizer(200);
    const a = createApp(slow, { disposeOnClose: true });
    const png = await blankPng();
    const inflight = post(a, '/v1/detect', png, 'image/png');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(slow.running, 1);
    const closed = a.close();
    assert.equal((await inflight).statusCode, 200);
    await closed;
    assert.equal(slow.disposed, true);
    assert.equal(slow.disposedWhileRunning, false);
  });
});
