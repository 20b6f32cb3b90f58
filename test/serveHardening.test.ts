/**
 * Server hardening (issue 17): stalled uploads hold no queue place (64 of them, from one client and from 64
 * addresses, while normal requests get 200 within 2 s); shutdown cuts stalled uploads and finishes accepted
 * requests; with API keys every route but the probes needs one (the browser app only with publicWeb); no error
 * body holds a filesystem path; a batch answers every part; formats beyond the documented ones are refused.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { packageRoot } from '../src/engine/native.js';
import { withoutPaths } from '../src/serve/httpError.js';
import { webRoutes } from '../src/serve/webRoutes.js';
import { appPool, blankPng, KEY, multipart, ScriptedRecognizer } from './serveFixtures.js';

interface Err {
  error: { status: number; code: string; message: string };
}

/** Every error body seen in this file: none may name a folder of this machine. */
const bodies: string[] = [];
const SECRET_DIRS = [packageRoot(), process.cwd(), tmpdir()];

function expectError(res: LightMyRequestResponse, status: number, code: string, what: string): Err['error'] {
  bodies.push(res.body);
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  const e = res.json<Err>().error;
  assert.equal(e.code, code, what);
  assert.equal(e.status, status, what);
  return e;
}

/** A connection that sends headers announcing `length` bytes and `sent` of them, then nothing. */
function stalledUpload(port: number, localAddress: string, length = 100_000, sent = 10): Promise<{ socket: Socket; answer: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let text = '';
    const answer = new Promise<string>((done) => {
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('close', () => done(text));
    });
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(`POST /v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: ${length}\r\n\r\n`);
      socket.write(Buffer.alloc(sent), () => resolve({ socket, answer }));
    });
    socket.once('error', reject);
  });
}

const svgReferencing = (file: string): Buffer =>
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="40"><image xlink:href="${file}" width="40" height="40"/></svg>`);

describe('server hardening (issue 17)', () => {
  const pool = appPool(() => new ScriptedRecognizer(5));
  const make = pool.make;
  after(async () => {
    await pool.closeAll();
    for (const b of bodies) for (const d of SECRET_DIRS) assert.ok(!b.includes(d), `an error body names ${d}: ${b}`);
  });

  test('64 stalled uploads (one client, then 64 addresses) hold no queue place: normal requests get 200 within 2 s', async (t) => {
    // A queue of 3 places: before admission moved after the body, 3 stalled uploads made every POST answer 503.
    const a = make({ concurrency: 1, maxQueue: 2, bodyTimeoutMs: 20_000, headersTimeoutMs: 5000 });
    await a.listen({ host: '127.0.0.1', port: 0 });
    const port = (a.server.address() as AddressInfo).port;
    const png = await blankPng();
    const url = `http://127.0.0.1:${port}/v1/detect`;
    const normal = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await fetch(url, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } });
      assert.equal(r.status, 200, await r.text());
      await r.arrayBuffer().catch(() => undefined);
      return performance.now() - t0;
    };
    const sockets: Socket[] = [];
    try {
      // One client: the first 32 (maxUploadsPerClient) keep receiving, the rest get 429 at once.
      const one = await Promise.all(Array.from({ length: 64 }, () => stalledUpload(port, '127.0.0.2')));
      sockets.push(...one.map((s) => s.socket));
      await new Promise((r) => setTimeout(r, 300));
      const ms = [];
      for (let i = 0; i < 8; i++) ms.push(await normal());
      assert.ok(Math.max(...ms) < 2000, `normal requests took ${ms.map((m) => m.toFixed(0)).join(', ')} ms`);
      const refused = await Promise.all(one.map((s) => Promise.race([s.answer, new Promise<string>((r) => setTimeout(() => r(''), 200))])));
      const tooMany = refused.filter((t) => /^HTTP\/1\.1 429/.test(t) && t.includes('"TOO_MANY_UPLOADS"'));
      assert.equal(tooMany.length, 32, 'uploads beyond the per-client cap are refused');
      const metrics = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      assert.match(metrics, /^expnet_uploads_receiving 32$/m);
      assert.match(metrics, /^expnet_queue_admitted 0$/m);
      for (const s of sockets.splice(0)) s.destroy();

      // 64 addresses (a distributed slow-POST): all under the server-wide budget of 128, none holds a queue place.
      const many = await Promise.all(Array.from({ length: 64 }, (_, i) => stalledUpload(port, `127.0.0.${i + 2}`)));
      sockets.push(...many.map((s) => s.socket));
      await new Promise((r) => setTimeout(r, 300));
      const ms2 = [];
      for (let i = 0; i < 8; i++) ms2.push(await normal());
      assert.ok(Math.max(...ms2) < 2000, `normal requests took ${ms2.map((m) => m.toFixed(0)).join(', ')} ms`);
      t.diagnostic(`slowest normal request: ${Math.max(...ms).toFixed(0)} ms (one client stalling), ${Math.max(...ms2).toFixed(0)} ms (64 addresses)`);
      assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /^expnet_uploads_receiving 64$/m);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  test('uploads beyond the server-wide budget get 503 OVERLOADED, and the budget frees when they go', async () => {
    const a = make({ maxUploads: 4, maxUploadsPerClient: 4 });
    await a.listen({ host: '127.0.0.1', port: 0 });
    const port = (a.server.address() as AddressInfo).port;
    const held = await Promise.all(Array.from({ length: 4 }, () => stalledUpload(port, '127.0.0.2')));
    const fifth = await stalledUpload(port, '127.0.0.3');
    const answer = await fifth.answer;
    assert.match(answer, /^HTTP\/1\.1 503/);
    assert.match(answer, /"OVERLOADED"/);
    assert.match(answer, /\r\nretry-after: \d+/i);
    for (const h of held) h.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const ok = await fetch(`http://127.0.0.1:${port}/v1/detect`, { method: 'POST', body: await blankPng(), headers: { 'content-type': 'image/png' } });
    assert.equal(ok.status, 200);
  });

  test('close(): stalled uploads and half-sent headers are cut within ~1 s, the accepted request finishes', async () => {
    const slow = new ScriptedRecognizer(800);
    const a = make({ bodyTimeoutMs: 30_000, headersTimeoutMs: 20_000 }, slow);
    await a.listen({ host: '127.0.0.1', port: 0 });
    const port = (a.server.address() as AddressInfo).port;
    const accepted = fetch(`http://127.0.0.1:${port}/v1/detect`, { method: 'POST', body: await blankPng(), headers: { 'content-type': 'image/png' } });
    const stalled = await Promise.all(Array.from({ length: 3 }, () => stalledUpload(port, '127.0.0.2')));
    const halfHeaders = connect(port, '127.0.0.1');
    halfHeaders.on('error', () => undefined);
    halfHeaders.write('POST /v1/detect HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(slow.running, 1);
    const t0 = performance.now();
    await a.close();
    const ms = performance.now() - t0;
    assert.equal((await accepted).status, 200, 'the request whose body had arrived is answered');
    for (const s of stalled) assert.equal(await s.answer, '', 'a stalled upload is cut without an answer');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(halfHeaders.destroyed || halfHeaders.readableEnded, 'half-sent headers are cut');
    assert.ok(ms < 3000, `close() took ${ms.toFixed(0)} ms (the body timeout is 30 s)`);
  });

  test('API keys: every route but /healthz and /readyz needs one; the browser app only with publicWeb', async () => {
    const web = mkdtempSync(join(tmpdir(), 'expnet-web-'));
    mkdirSync(join(web, 'models'));
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(web, 'main.js'), 'void 0;');
    writeFileSync(join(web, 'models', 'm.onnx'), 'onnx');
    try {
      const closed = make({ apiKeys: [KEY] });
      webRoutes(closed, { dir: web });
      const open = make({ apiKeys: [KEY], publicWeb: true });
      webRoutes(open, { dir: web });
      const webPaths = ['/', '/index.html', '/main.js', '/models/m.onnx'];
      for (const url of [...webPaths, '/openapi.json', '/metrics', '/v1/models', '/nothing/here', '/models/other.onnx']) {
        expectError(await closed.inject({ url }), 401, 'UNAUTHORIZED', `${url} without a key`);
      }
      for (const url of webPaths) assert.equal((await closed.inject({ url, headers: { 'x-api-key': KEY } })).statusCode, 200, `${url} with a key`);
      for (const url of webPaths) assert.equal((await open.inject({ url })).statusCode, 200, `${url} with publicWeb`);
      for (const url of ['/openapi.json', '/metrics', '/v1/models']) expectError(await open.inject({ url }), 401, 'UNAUTHORIZED', `${url} with publicWeb`);
      expectError(await open.inject({ method: 'POST', url: '/v1/detect', payload: await blankPng(), headers: { 'content-type': 'image/png' } }), 401, 'UNAUTHORIZED', 'detect with publicWeb');
      for (const url of ['/healthz', '/readyz']) assert.equal((await closed.inject({ url })).statusCode, 200, url);
      // The document says so: a key everywhere (global security) but on the probes; every operation has an id and a tag.
      const doc = (await closed.inject({ url: '/openapi.json', headers: { 'x-api-key': KEY } })).json<{ security?: unknown[]; paths: Record<string, Record<string, { operationId?: string; tags?: string[]; security?: unknown[] }>> }>();
      assert.equal(doc.security?.length, 2);
      const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.values(methods).map((op) => ({ path, ...op })));
      assert.equal(new Set(ops.map((o) => o.operationId)).size, ops.length, 'distinct operationIds');
      for (const o of ops) assert.ok(o.operationId && o.tags?.length, `${o.path} has an operationId and tags`);
      assert.deepEqual(ops.filter((o) => o.security?.length === 0).map((o) => o.path).sort(), ['/healthz', '/readyz']);
      expectError(await closed.inject({ url: '/docs' }), 401, 'UNAUTHORIZED', '/docs without a key');
      const page = await closed.inject({ url: '/docs', headers: { 'x-api-key': KEY } });
      assert.match(String(page.headers['content-type']), /^text\/html/);
      for (const o of ops) assert.ok(page.body.includes(`<code>${o.operationId}</code>`), `/docs shows ${o.operationId}`);
      assert.doesNotMatch(page.body, /<script|https?:\/\/(?!127)/, 'no scripts, nothing fetched from elsewhere');
    } finally {
      rmSync(web, { recursive: true, force: true });
    }
  });

  test('no error body names a filesystem path (the browser app not built; paths in messages)', async () => {
    const missing = join(tmpdir(), 'expnet-no-such-web-build', 'dist');
    const a = make();
    webRoutes(a, { dir: missing });
    const e = expectError(await a.inject({ url: '/' }), 404, 'NOT_FOUND', 'GET / without a build');
    assert.ok(!e.message.includes('expnet-no-such-web-build'), e.message);
    assert.equal(withoutPaths(`cannot read ${join(packageRoot(), 'models', 'x.onnx')}: no`), 'cannot read <path>: no');
    assert.equal(withoutPaths('cannot open /srv/models/expnet/x.onnx'), 'cannot open <path>');
    assert.equal(withoutPaths('C:\\Users\\me\\models\\x.onnx is missing'), '<path> is missing');
    assert.equal(withoutPaths('one image per request here; send several to /v1/detect/batch'), 'one image per request here; send several to /v1/detect/batch', 'routes stay');
  });

  test('batch: every part gets a result or an error naming it (empty part, SVG, garbage, truncated); distinct codes', async () => {
    const a = make({ maxBatch: 16 });
    const png = await blankPng();
    const truncated = png.subarray(0, png.length - 20);
    const parts = [
      ...Array.from({ length: 12 }, (_, i) => ({ filename: `ok${i}.png`, data: png })),
      { filename: 'empty.png', data: Buffer.alloc(0) },
      { filename: 'local.svg', type: 'image/svg+xml', data: svgReferencing('/etc/hostname') },
      { filename: 'garbage.png', data: Buffer.from('not an image at all') },
      { filename: 'cut.png', data: truncated },
    ];
    const m = multipart(parts);
    const res = await a.inject({ method: 'POST', url: '/v1/detect/batch', payload: m.body, headers: { 'content-type': m.contentType } });
    assert.equal(res.statusCode, 200, res.body);
    const results = res.json<{ results: ({ input: string; faces?: unknown[] } & Partial<Err>)[] }>().results;
    assert.equal(results.length, 16, '16 parts in, 16 results out');
    assert.deepEqual(results.map((r) => r.input), parts.map((p) => p.filename));
    const byName = new Map(results.map((r) => [r.input, r]));
    assert.deepEqual([byName.get('empty.png')?.error?.code, byName.get('local.svg')?.error?.code, byName.get('garbage.png')?.error?.code, byName.get('cut.png')?.error?.code], ['EMPTY_IMAGE', 'UNSUPPORTED_FORMAT', 'BAD_IMAGE', 'BAD_IMAGE']);
    for (const r of results.filter((x) => x.error)) assert.ok(r.error?.message.startsWith(`${r.input}: `), `the message names its input: ${r.error?.message}`);
    assert.equal(results.filter((r) => r.faces).length, 12);

    const two = multipart([{ data: png }, { data: png }]);
    expectError(await a.inject({ method: 'POST', url: '/v1/detect', payload: two.body, headers: { 'content-type': two.contentType } }), 400, 'ONE_IMAGE_EXPECTED', 'two files to /v1/detect');
    const seventeen = multipart(Array.from({ length: 17 }, () => ({ data: png })));
    expectError(await a.inject({ method: 'POST', url: '/v1/detect/batch', payload: seventeen.body, headers: { 'content-type': seventeen.contentType } }), 413, 'TOO_MANY_FILES', '17 files to a batch of 16');
    const fields = multipart([{ data: png }], Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 'x'])));
    expectError(await a.inject({ method: 'POST', url: '/v1/detect', payload: fields.body, headers: { 'content-type': fields.contentType } }), 413, 'TOO_MANY_FIELDS', '40 text fields');
    const empty = multipart([{ filename: 'zero.png', data: Buffer.alloc(0) }]);
    const e = expectError(await a.inject({ method: 'POST', url: '/v1/detect', payload: empty.body, headers: { 'content-type': empty.contentType } }), 400, 'EMPTY_IMAGE', 'a zero-byte part to /v1/detect');
    assert.match(e.message, /^zero\.png: /);
    const bad = expectError(await a.inject({ method: 'POST', url: '/v1/detect', payload: truncated, headers: { 'content-type': 'image/png' } }), 422, 'BAD_IMAGE', 'a truncated PNG body');
    assert.match(bad.message, /^body: /);
  });

  test('JSON body { image: <base64> }: the same answer as the raw body; malformed JSON is 400 BAD_JSON', async () => {
    const a = make({ bodyLimit: 64 * 1024 });
    const png = await blankPng(200, 100);
    const json = (body: unknown): Promise<LightMyRequestResponse> => a.inject({ method: 'POST', url: '/v1/detect', payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const raw = (await a.inject({ method: 'POST', url: '/v1/detect', payload: png, headers: { 'content-type': 'image/png' } })).json<{ width: number; faces: unknown[] }>();
    const viaJson = await json({ image: png.toString('base64'), name: 'mine.png' });
    assert.equal(viaJson.statusCode, 200, viaJson.body);
    const r = viaJson.json<{ input: string; width: number; faces: unknown[] }>();
    assert.deepEqual([r.input, r.width, r.faces], ['mine.png', raw.width, raw.faces]);
    assert.equal((await json({ image: `data:image/png;base64,${png.toString('base64')}` })).json<{ input: string }>().input, 'image');
    expectError(await json({ image: '%%%' }), 400, 'BAD_JSON', 'not base64');
    expectError(await json({ image: 12 }), 400, 'BAD_JSON', 'a number');
    expectError(await json({ image: 'AAAA', extra: 1 }), 400, 'BAD_JSON', 'an unknown field');
    expectError(await json('[1, 2]'), 400, 'BAD_JSON', 'an array');
    expectError(await json({ image: '' }), 400, 'EMPTY_IMAGE', 'an empty image');
    expectError(await json({ image: Buffer.alloc(66 * 1024).toString('base64') }), 413, 'TOO_LARGE', 'over bodyLimit once decoded');
    expectError(await json({ image: svgReferencing('x.png').toString('base64') }), 415, 'UNSUPPORTED_FORMAT', 'an SVG in JSON');
  });

  test('formats: SVG (referencing a local file) and PDF get 415 UNSUPPORTED_FORMAT; anyFormat lets SVG through', async () => {
    const a = make();
    const svg = svgReferencing('/etc/hostname');
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/MediaBox[0 0 40 40]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
    for (const [what, body, type] of [['SVG', svg, 'image/svg+xml'], ['SVG as PNG', svg, 'image/png'], ['PDF', pdf, 'application/octet-stream']] as const) {
      const res = await a.inject({ method: 'POST', url: '/v1/detect', payload: body, headers: { 'content-type': type } });
      if (what === 'PDF' && res.statusCode === 422) {
        expectError(res, 422, 'BAD_IMAGE', 'PDF, with a sharp that cannot read PDF at all');
        continue;
      }
      const e = expectError(res, 415, 'UNSUPPORTED_FORMAT', what);
      assert.match(e.message, /^body: (SVG|PDF) is not a supported image format/);
    }
    const any = make({ anyFormat: true });
    assert.equal((await any.inject({ method: 'POST', url: '/v1/detect', payload: svgReferencing('nothing.png'), headers: { 'content-type': 'image/svg+xml' } })).statusCode, 200);
  });
});
