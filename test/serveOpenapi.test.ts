/**
 * The generated OpenAPI document (@fastify/swagger over the route schemas), the query schema, CORS through
 * @fastify/cors (before the key check) and metrics through prom-client (one registry per app).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../src/serve/createApp.js';
import type { ServeOptions } from '../src/serve/options.js';
import { webRoutes } from '../src/serve/webRoutes.js';
import { blankPng, KEY, ScriptedRecognizer } from './serveFixtures.js';

interface Op {
  operationId?: string;
  tags?: string[];
  parameters?: { name: string; in: string; schema?: { type?: string; pattern?: string } }[];
  requestBody?: { content: Record<string, { schema: { required?: string[]; properties?: Record<string, { format?: string }> } }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }>; headers?: Record<string, unknown> }>;
}
interface Doc {
  openapi: string;
  security?: unknown[];
  paths: Record<string, Record<string, Op>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

const make = (options: ServeOptions = {}): FastifyInstance => createApp(new ScriptedRecognizer(0), { logger: false, ...options });

describe('generated OpenAPI document, CORS and metrics libraries', () => {
  test('/openapi.json comes from the route schemas: body types, query flags, shared schemas, late plugin routes', async () => {
    const app = make();
    webRoutes(app, {});
    void app.register(async (plugin) => {
      plugin.get('/v1/extra', { schema: { operationId: 'extra', tags: ['models'], summary: 'added by a plugin' } }, async () => ({}));
    });
    const doc = (await app.inject({ url: '/openapi.json' })).json<Doc>();
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.security, undefined, 'no keys: no global security');
    assert.deepEqual(Object.keys(doc.paths).sort(), ['/docs', '/healthz', '/metrics', '/openapi.json', '/readyz', '/v1/detect', '/v1/detect/batch', '/v1/extra', '/v1/models', '/v1/video']);
    const detect = doc.paths['/v1/detect']?.['post'];
    assert.ok(detect);
    assert.equal(detect.operationId, 'detect');
    assert.deepEqual(Object.keys(detect.requestBody?.content ?? {}).sort(), ['application/json', 'application/octet-stream', 'image/*', 'multipart/form-data']);
    const json = detect.requestBody?.content['application/json']?.schema;
    assert.deepEqual(json?.required, ['image']);
    assert.equal(json?.properties?.['image']?.format, 'byte', 'base64 string');
    assert.deepEqual(detect.parameters?.map((p) => `${p.in}:${p.name}:${p.schema?.type}`), ['query:annotate:string', 'query:crop:string']);
    assert.equal(detect.responses['200']?.content?.['application/json']?.schema?.$ref, '#/components/schemas/DetectResult');
    assert.ok(detect.responses['200']?.content?.['image/png'], 'annotate answers PNG');
    assert.equal(detect.responses['422']?.content?.['application/json']?.schema?.$ref, '#/components/schemas/Error');
    assert.ok(detect.responses['503']?.headers?.['Retry-After']);
    assert.equal(detect.responses['401'], undefined, 'no keys: no 401');
    for (const name of ['Error', 'Face', 'DetectResult', 'BatchResult']) assert.ok(doc.components.schemas[name], `components.schemas.${name}`);
    const batch = doc.paths['/v1/detect/batch']?.['post'];
    assert.deepEqual(Object.keys(batch?.requestBody?.content ?? {}), ['multipart/form-data']);
    assert.deepEqual(batch?.parameters?.map((p) => p.name), ['crop']);
    const video = doc.paths['/v1/video']?.['post'];
    assert.equal(video?.operationId, 'video');
    assert.deepEqual(Object.keys(video?.requestBody?.content ?? {}).sort(), ['application/octet-stream', 'multipart/form-data', 'video/*']);
    assert.deepEqual(video?.parameters?.map((p) => p.name), ['fps', 'start', 'end', 'smooth', 'faces', 'detectEvery', 'landmarks']);
    assert.equal(video?.responses['200']?.content?.['application/json']?.schema?.$ref, '#/components/schemas/VideoResult');
    for (const status of ['400', '413', '415', '422', '503']) assert.ok(video?.responses[status], `/v1/video documents ${status}`);
    assert.match(JSON.stringify(video?.responses['422']), /TOO_LONG.*BAD_VIDEO/);
  });

  test('with keys: global security, 401 documented, the probes open; /docs lists the generated operations', async () => {
    const app = make({ apiKeys: [KEY] });
    const doc = (await app.inject({ url: '/openapi.json', headers: { authorization: `Bearer ${KEY}` } })).json<Doc>();
    assert.deepEqual(doc.security, [{ bearer: [] }, { apiKey: [] }]);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKey', 'bearer']);
    assert.ok(doc.paths['/v1/detect']?.['post']?.responses['401']);
    assert.equal(doc.paths['/healthz']?.['get']?.responses['401'], undefined);
    const page = (await app.inject({ url: '/docs', headers: { 'x-api-key': KEY } })).body;
    assert.match(page, /<code>POST \/v1\/detect<\/code>/);
    assert.match(page, /<code>application\/json<\/code>/, 'the JSON body form is shown');
    assert.match(page, /operationId <code>healthz<\/code> · operations · no key/);
    assert.match(page, /operationId <code>detect<\/code> · detect · API key/);
  });

  test('query flags: any case; anything else is 400 naming the parameter; raw and JSON bodies still pass', async () => {
    const app = make();
    const png = await blankPng();
    for (const q of ['', '?crop=YES', '?crop=0', '?annotate=False', '?crop']) {
      assert.equal((await app.inject({ method: 'POST', url: `/v1/detect${q}`, payload: png, headers: { 'content-type': 'image/png' } })).statusCode, 200, q);
    }
    const json = await app.inject({ method: 'POST', url: '/v1/detect', payload: { image: png.toString('base64') } });
    assert.equal(json.statusCode, 200, json.body);
    const bad = await app.inject({ method: 'POST', url: '/v1/detect/batch?crop=2', payload: png, headers: { 'content-type': 'image/png' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ error: { message: string } }>().error.message, /'crop' must be/);
  });

  test('CORS: 401 answers carry the CORS headers too (the browser can read them); preflights need no key', async () => {
    const app = make({ apiKeys: [KEY], cors: { origins: ['https://a.example'], maxAgeS: 60 } });
    const denied = await app.inject({ url: '/v1/models', headers: { origin: 'https://a.example' } });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.headers['access-control-allow-origin'], 'https://a.example');
    assert.match(String(denied.headers['access-control-expose-headers']), /WWW-Authenticate/);
    assert.match(String(denied.headers['vary']), /Origin/);
    const pre = await app.inject({ method: 'OPTIONS', url: '/v1/models', headers: { origin: 'https://a.example', 'access-control-request-method': 'GET' } });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-max-age'], '60');
  });

  test('metrics: each app counts in its own registry', async () => {
    const a = make();
    const b = make();
    await a.inject({ url: '/healthz' });
    await a.inject({ url: '/healthz' });
    await b.inject({ url: '/healthz' });
    assert.match((await a.inject({ url: '/metrics' })).body, /^expnet_http_requests_total\{method="GET",route="\/healthz",status="200"\} 2$/m);
    assert.match((await b.inject({ url: '/metrics' })).body, /^expnet_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1$/m);
    assert.match((await b.inject({ url: '/metrics' })).body, /^process_resident_memory_bytes [1-9]\d*$/m);
  });
});
