/** The browser app's static routes: precompressed siblings by Accept-Encoding, with Vary; stale siblings ignored; model folders and their index. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { precompress } from '../web/build.js';
import { acceptedEncodings, webRoutes } from '../src/serve/webRoutes.js';
import { DEFAULT_EXPRESSION_MODEL, LANDMARKS_FILE, MODEL_INDEX_FILE, type ModelIndex } from '../src/infer/bundleFiles.js';
import { bundledModelDir, expressionModels } from '../src/infer/modelBundle.js';

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

test('/models/* falls back from the chosen folder to the app\'s models/ to the bundled ones; index.json lists the first folder with expression models', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'expnet-webroutes-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
  const bundled = expressionModels(bundledModelDir());
  const plain = Fastify();
  webRoutes(plain, { dir });
  const mine = join(dir, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'tiny.onnx'), Buffer.alloc(16, 3));
  writeFileSync(join(mine, 'tiny.json'), JSON.stringify({ name: 'tiny', labels: ['happy', 'neutral'], training: { data: 'a test' } }));
  const chosen = Fastify();
  webRoutes(chosen, { dir, modelDir: mine });
  try {
    // an installed package: the app has no models/ of its own
    const idx = await plain.inject({ url: `/models/${MODEL_INDEX_FILE}` });
    assert.equal(idx.statusCode, 200);
    assert.deepEqual((idx.json() as ModelIndex).models.map((m) => m.name).sort(), bundled);
    assert.equal((idx.json() as ModelIndex).default, DEFAULT_EXPRESSION_MODEL);
    const card = await plain.inject({ url: `/models/${DEFAULT_EXPRESSION_MODEL}.json` });
    assert.equal(card.statusCode, 200);
    assert.equal((card.json() as { name: string }).name, DEFAULT_EXPRESSION_MODEL);
    assert.equal((await plain.inject({ url: '/models/nothing.onnx' })).statusCode, 404);
    // a chosen folder comes first; what it lacks comes from the bundled models
    assert.deepEqual((await chosen.inject({ url: `/models/${MODEL_INDEX_FILE}` })).json(), { default: 'tiny', models: [{ name: 'tiny', labels: ['happy', 'neutral'], data: 'a test' }] });
    assert.deepEqual((await chosen.inject({ url: '/models/tiny.onnx' })).rawPayload, Buffer.alloc(16, 3));
    assert.equal((await chosen.inject({ url: `/models/${LANDMARKS_FILE}` })).statusCode, 200);
  } finally {
    await Promise.all([plain.close(), chosen.close()]);
  }
});
