/**
 * The server on a real loopback socket: a malformed-request corpus (truncated multipart, wrong content types,
 * huge headers, slowloris headers and bodies, protocol garbage) must get 4xx or a closed connection and leave
 * the server healthy; overload over real connections; `expnet serve` exits cleanly on SIGTERM, finishing
 * the request in flight.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import { createApp } from '../src/serve/createApp.js';
import { ASTRONAUT, blankPng, buildBundle, MODEL_NAME, multipart, ScriptedRecognizer, startServe } from './serveFixtures.js';

type Step = string | Buffer | { wait: number };

/** Writes the steps to a fresh connection, then reads until the server closes it or `limitMs` passes. */
function raw(port: number, steps: readonly Step[], limitMs = 6000): Promise<{ status: number | null; text: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text, ms: Date.now() - t0 });
    };
    const timer = setTimeout(finish, limitMs);
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      // One full response is enough (keep-alive would leave the socket open).
      const head = text.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: (\d+)/i.exec(text);
      if (head >= 0 && len && text.length >= head + 4 + Number(len[1])) finish();
    });
    sock.on('close', finish);
    sock.on('error', finish);
    sock.on('connect', async () => {
      for (const s of steps) {
        if (done) return;
        if (typeof s === 'object' && !Buffer.isBuffer(s)) await new Promise((r) => setTimeout(r, s.wait));
        else sock.write(s);
      }
    });
  });
}

const head = (type: string, length: number, extra = ''): string => `POST /v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n${extra}\r\n`;

describe('expnet server on 127.0.0.1 (malformed corpus, overload, SIGTERM)', () => {
  let dir: string;
  let rec: Recognizer;
  let app: FastifyInstance;
  let port: number;
  const astronaut = readFileSync(ASTRONAUT);
  before(async () => {
    dir = await buildBundle();
    rec = await createRecognizer({ modelDir: dir, expressionModel: MODEL_NAME });
    app = createApp(rec, { bodyTimeoutMs: 1500, headersTimeoutMs: 1000, timeoutCheckMs: 200, bodyLimit: 1 << 20 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await app?.close();
    await rec?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('malformed requests get 4xx (or a closed connection) and the server stays healthy', async () => {
    const mp = multipart([{ filename: 'a.png', data: astronaut }]);
    const noClose = mp.body.subarray(0, mp.body.length - `--${mp.boundary}--\r\n`.length);
    const cutFile = mp.body.subarray(0, mp.body.length >> 1);
    const badPartHeader = Buffer.from(`--${mp.boundary}\r\nthis is not a header\r\n\r\nxx\r\n--${mp.boundary}--\r\n`);
    const longHeader = `X-Junk: ${'a'.repeat(64 * 1024)}\r\n`;
    const corpus: [string, Step[], number[]][] = [
      ['multipart without the closing boundary', [head(mp.contentType, noClose.length), noClose], [400]],
      ['multipart cut in the middle of the file', [head(mp.contentType, cutFile.length), cutFile], [400, 422]],
      ['multipart part without headers', [head(mp.contentType, badPartHeader.length), badPartHeader], [400]],
      ['multipart with the wrong boundary', [head('multipart/form-data; boundary=nope', mp.body.length), mp.body], [400]],
      ['multipart without a boundary', [head('multipart/form-data', mp.body.length), mp.body], [400]],
      ['JSON without an image', [head('application/json', 2), '{}'], [400]],
      ['JSON that does not parse', [head('application/json', 5), '{"a":'], [400]],
      ['text', [head('text/plain', 5), 'hello'], [415]],
      ['XML', [head('application/xml', 4), '<a/>'], [415]],
      ['a type without subtype', [head('image', 4), 'abcd'], [415]],
      ['a garbage type', [head('%%%///;;;', 4), 'abcd'], [400, 415]],
      ['Content-Length over the body limit (no body sent)', [head('image/png', 50 << 20)], [413]],
      ['64 KiB header', [`GET /healthz HTTP/1.1\r\nHost: x\r\n${longHeader}\r\n`], [431]],
      ['20 KiB URL', [`GET /healthz?${'q'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`], [414, 431]],
      ['garbage request line', ['HELLO THERE\r\n\r\n'], [400]],
      ['binary garbage', [Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10])], [400]],
      ['non-numeric Content-Length', ['POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: abc\r\n\r\n'], [400]],
      ['Content-Length and chunked together', ['POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n'], [400]],
      ['bad chunk size', ['POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabcd\r\n0\r\n\r\n'], [400]],
      ['NUL in a header', ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'], [400]],
      ['slowloris headers (a line every 300 ms)', ['POST /v1/detect HTTP/1.1\r\n', ...Array.from({ length: 12 }, (_, i): Step[] => [{ wait: 300 }, `X-Slow-${i}: 1\r\n`]).flat()], [408]],
      ['slowloris body (10 bytes every 200 ms)', [head('image/png', 100_000), ...Array.from({ length: 25 }, (): Step[] => [{ wait: 200 }, Buffer.alloc(10)]).flat()], [408]],
    ];
    const answers = await Promise.all(corpus.map(([, steps]) => raw(port, steps)));
    corpus.forEach(([what, , expected], i) => {
      const a = answers[i]!;
      assert.ok(a.status !== null && expected.includes(a.status), `${what}: expected ${expected.join('/')}, got ${a.status ?? 'no answer'} after ${a.ms} ms: ${a.text.slice(0, 200)}`);
      const body = JSON.parse(a.text.slice(a.text.indexOf('\r\n\r\n') + 4)) as { error?: { status?: number; code?: string } };
      assert.equal(body.error?.status, a.status, `${what}: the API's JSON error shape`);
    });
    const slow = answers.slice(-2);
    for (const a of slow) {
      assert.ok(a.ms < 5000, `slow clients are cut within the timeouts (${a.ms} ms)`);
      assert.match(a.text, /"code":"REQUEST_TIMEOUT"/);
    }

    // A client that vanishes mid-body, twenty times.
    await Promise.all(Array.from({ length: 20 }, () => raw(port, [head('image/png', astronaut.length), astronaut.subarray(0, 1000)], 200)));

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const ok = await fetch(`http://127.0.0.1:${port}/v1/detect`, { method: 'POST', body: astronaut, headers: { 'content-type': 'image/png' } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { faces: unknown[] }).faces.length, 1);
    await new Promise((r) => setTimeout(r, 300));
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { queue: { admitted: number; running: number } };
    assert.deepEqual([ready.queue.admitted, ready.queue.running], [0, 0], 'no admission leaked by broken requests');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /expnet_client_errors_total\{code="HPE_HEADER_OVERFLOW"\} [1-9]/);
    assert.match(metrics, /expnet_client_errors_total\{code="ERR_HTTP_REQUEST_TIMEOUT"\} [1-9]/);
    assert.doesNotMatch(metrics, /status="5\d\d"/, 'no 5xx');
  });

  test('overload over real connections: 200 or 503 + Retry-After, never another 5xx', async () => {
    const a = createApp(new ScriptedRecognizer(100), { concurrency: 1, maxQueue: 3 });
    await a.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(a.server.address() as AddressInfo).port}/v1/detect`;
    const png = await blankPng();
    const res = await Promise.all(Array.from({ length: 30 }, () => fetch(url, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } })));
    const statuses = res.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 200 || s === 503), statuses.join(','));
    assert.ok(statuses.filter((s) => s === 200).length >= 4, statuses.join(','));
    assert.ok(statuses.some((s) => s === 503), statuses.join(','));
    for (const r of res.filter((x) => x.status === 503)) assert.ok(Number(r.headers.get('retry-after')) >= 1);
    await Promise.all(res.map((r) => r.arrayBuffer()));
    // Refused large uploads are not drained: a 503 or a reset while still writing, never another answer.
    const big = await Promise.all(Array.from({ length: 12 }, () => fetch(url, { method: 'POST', body: astronaut, headers: { 'content-type': 'image/png' } }).then((r) => r.status, () => 'reset')));
    assert.ok(big.every((s) => s === 200 || s === 503 || s === 'reset'), big.join(','));
    assert.equal((await fetch(url, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } })).status, 200, 'healthy afterwards');
    await a.close();
  });

  test('expnet serve: on SIGTERM (twice) cuts a stalled upload, finishes the request in flight, refuses new ones, exits 0', async () => {
    const server = await startServe(['--models', dir, '--model', MODEL_NAME, '--concurrency', '1']);
    const { child, port: childPort, exited } = server;
    try {
      assert.equal((await fetch(`http://127.0.0.1:${childPort}/healthz`)).status, 200);
      // Half the body, then SIGTERM, then the rest: the request is in flight while the server closes. A stalled
      // upload (headers and 10 bytes, then nothing) is cut; a second SIGTERM cuts nothing.
      const half = astronaut.length >> 1;
      const stalled = raw(childPort, [head('image/png', astronaut.length), astronaut.subarray(0, 10)], 20_000);
      const answer = raw(childPort, [head('image/png', astronaut.length), astronaut.subarray(0, half), { wait: 600 }, astronaut.subarray(half)], 20_000);
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGTERM'), 100);
      await new Promise((r) => setTimeout(r, 200));
      const refused = await fetch(`http://127.0.0.1:${childPort}/healthz`).then(
        (r) => r.status,
        () => 'refused',
      );
      assert.equal(refused, 'refused', 'no new connections after SIGTERM');
      const a = await answer;
      assert.equal(a.status, 200, a.text.slice(0, 300));
      assert.match(a.text, /"faces":\[\{/);
      assert.match(a.text, /\r\nconnection: close\r\n/i);
      assert.equal(await exited, 0, server.stderr());
      assert.ok(Date.now() - t0 < 5000, `exited ${Date.now() - t0} ms after SIGTERM (the body timeout is 10 s)`);
      const cut = await stalled;
      assert.equal(cut.status, null, `the stalled upload is cut, not answered: ${cut.text.slice(0, 200)}`);
      assert.ok(cut.ms < 5000, `cut after ${cut.ms} ms`);
      assert.match(server.stderr(), /SIGTERM/);
      assert.doesNotMatch(server.stderr(), /cutting the requests in flight|connections cut/);
    } finally {
      server.end();
    }
  });
});
