/** The browser app's static routes: precompressed siblings by Accept-Encoding, with Vary; stale siblings ignored. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { precompress } from '../web/build.js';
import { acceptedEncodings, webRoutes } from '../src/serve/webRoutes.js';

test('Accept-Encoding parsing: q=0 refuses, * allows all', () => {
  assert.deepEqual([...acceptedEncodings('gzip, deflate, br, zstd')], ['gzip', 'deflate', 'br', 'zstd']);
  assert.deepEqual([...acceptedEncodings('br;q=0, gzip;q=0.5')], ['gzip']);
  assert.deepEqual([...acceptedEncodings('*')].sort(), ['br', 'gzip']);
  assert.deepEqual([...acceptedEncodings(undefined)], []);
});

test('web routes send f.br / f.gz to clients that accept them, f otherwise; Vary on all three', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'expnet-webroutes-'));
  mkdirSync(join(dir, 'models'));
  const js = Buffer.from('console.log("expnet");\n'.repeat(200));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(dir, 'main.js'), js);
  writeFileSync(join(dir, 'models', 'm.onnx'), Buffer.alloc(4096, 7));
  const sizes = precompress(dir);
  assert.ok(sizes.files >= 2 && sizes.brotli < sizes.bytes, JSON.stringify(sizes));
  // a sibling older than its file is stale: never sent
  writeFileSync(join(dir, 'models', 'm.onnx.br'), brotliCompressSync(Buffer.alloc(4096, 1)));
  writeFileSync(join(dir, 'models', 'm.onnx.gz'), gzipSync(Buffer.alloc(4096, 1)));
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'models', 'm.onnx.br'), past, past);
  utimesSync(join(dir, 'models', 'm.onnx.gz'), past, past);
  const app = Fastify();
  webRoutes(app, { dir });
  try {
    const get = (url: string, enc?: string) => app.inject({ url, headers: enc === undefined ? {} : { 'accept-encoding': enc } });
    const br = await get('/main.js', 'gzip, br');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.match(String(br.headers['vary']), /accept-encoding/);
    assert.equal(Number(br.headers['content-length']), br.rawPayload.length);
    assert.ok(br.rawPayload.length < js.length / 4);
    assert.deepEqual(brotliDecompressSync(br.rawPayload), js);
    const gz = await get('/main.js', 'gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.rawPayload), js);
    const plain = await get('/main.js');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.match(String(plain.headers['vary']), /accept-encoding/);
    assert.deepEqual(plain.rawPayload, js);
    const stale = await get('/models/m.onnx', 'br, gzip');
    assert.equal(stale.headers['content-encoding'], undefined);
    assert.deepEqual(stale.rawPayload, Buffer.alloc(4096, 7));
  } finally {
    await app.close();
  }
});
