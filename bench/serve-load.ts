/**
 * HTTP server load: `expnet serve` in a child process on 127.0.0.1, autocannon POSTing the 512×512 astronaut
 * PNG to /v1/detect with 1, 16 and 128 concurrent clients (bounded: --duration seconds per level). Reports
 * throughput, p50/p99 latency, status counts and the server's RSS before/after (from /metrics); then one run
 * at 128 clients with the default queue (32) to show load shedding (503 + Retry-After), and /healthz alone;
 * then, on a server with default settings (body timeout raised), 16 clients without and then with 64 stalled
 * uploads open (headers and 10 bytes of a 100 kB body, then nothing, from 64 loopback addresses): they must
 * hold no queue place.
 * Uses --models/--model, else the bundled model, else a random-weight model bundled into a temp dir (same
 * graph, same cost). Usage: node --import tsx bench/serve-load.ts [--duration 10] [--levels 1,16,128]
 *   [--concurrency N] [--models DIR --model NAME] [--json out.json] [--stalled-only]
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCommand } from '../src/cli/export.js';
import { packageRoot } from '../src/engine/native.js';
import { bundledModelDir, DEFAULT_EXPRESSION_MODEL, DETECTOR_FILE } from '../src/infer/modelBundle.js';
import { ExpNet } from '../src/nets/expNet.js';
import { saveExpNetModel } from '../src/nets/modelCard.js';

interface CannonResult {
  duration: number;
  latency: { p50: number; p99: number; average: number; max: number };
  '2xx': number;
  '5xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}
type Cannon = (opts: { url: string; method?: string; headers?: Record<string, string>; body?: Buffer; connections: number; duration: number; timeout?: number }) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const duration = Number(arg('--duration') ?? 10);
const levels = (arg('--levels') ?? '1,16,128').split(',').map(Number);
/** Only the last server: 16 clients without, then with 64 stalled uploads open. */
const stalledOnly = process.argv.includes('--stalled-only');
const astronaut = readFileSync(join(packageRoot(), 'examples', 'astronaut.png'));

async function modelBundle(): Promise<{ dir: string; name: string; random: boolean }> {
  const given = arg('--models');
  if (given) return { dir: given, name: arg('--model') ?? DEFAULT_EXPRESSION_MODEL, random: false };
  const bundled = bundledModelDir();
  if (existsSync(join(bundled, DETECTOR_FILE)) && existsSync(join(bundled, `${DEFAULT_EXPRESSION_MODEL}.onnx`))) return { dir: bundled, name: DEFAULT_EXPRESSION_MODEL, random: false };
  const dir = mkdtempSync(join(tmpdir(), 'expnet-bench-bundle-'));
  const labels = ['anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise', 'neutral'];
  const m = new ExpNet({ numClasses: labels.length }).eval();
  saveExpNetModel(join(dir, 'model.safetensors'), m, {
    name: 'bench', task: 'expression', arch: 'expnet', input: { size: 48, channels: 1, range: [0, 1], layout: 'NCHW' }, labels, config: m.config,
    method: 'random', training: { data: 'none', command: 'bench', seed: 0, epochs: {} }, metrics: {}, licence: 'MIT', provenance: 'bench', created: new Date(0).toISOString(),
  });
  m.dispose();
  await bundleCommand(['--model', join(dir, 'model.safetensors'), '--out', dir, '--name', 'bench']);
  return { dir, name: 'bench', random: true };
}

async function startServer(dir: string, name: string, extra: string[]): Promise<{ child: ChildProcessWithoutNullStreams; base: string }> {
  const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, main, 'serve', '--host', '127.0.0.1', '--port', '0', '--models', dir, '--model', name, ...extra], { env: { ...process.env, EXPNET_API_KEYS: '' } });
  let out = '';
  child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`expnet serve exited ${code}`)));
  });
  return { child, base };
}

async function rssMiB(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

interface Row {
  what: string;
  clients: number;
  seconds: number;
  ok: number;
  perSecond: number;
  p50: number;
  p99: number;
  statuses: string;
  fivexx: number;
  errors: number;
  rssBefore: number;
  rssAfter: number;
}

async function level(base: string, what: string, path: string, clients: number, seconds: number, body: boolean): Promise<Row> {
  const rssBefore = await rssMiB(base);
  const r = await autocannon({
    url: base + path, connections: clients, duration: seconds, timeout: 60,
    ...(body ? { method: 'POST', headers: { 'content-type': 'image/png' }, body: astronaut } : {}),
  });
  const statuses = Object.entries(r.statusCodeStats).map(([s, { count }]) => `${s}×${count}`).join(' ');
  return { what, clients, seconds: r.duration, ok: r['2xx'], perSecond: r['2xx'] / r.duration, p50: r.latency.p50, p99: r.latency.p99, statuses, fivexx: r['5xx'], errors: r.errors + r.timeouts, rssBefore, rssAfter: await rssMiB(base) };
}

/** `n` connections from 127.0.0.2… that send a POST's headers and 10 bytes of its 100 kB body, then nothing. */
async function stalledUploads(base: string, n: number): Promise<Socket[]> {
  const { hostname, port } = new URL(base);
  return Promise.all(
    Array.from({ length: n }, (_, i) => new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: hostname, port: Number(port), localAddress: `127.0.0.${2 + (i % 250)}` });
      s.on('error', () => undefined);
      s.once('connect', () => {
        s.write(`POST /v1/detect HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n`);
        s.write(Buffer.alloc(10), () => resolve(s));
      });
      s.once('error', reject);
    })),
  );
}

const bundle = await modelBundle();
const conc = arg('--concurrency');
const cpus = (await import('node:os')).availableParallelism();
const load = (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`model ${bundle.name}${bundle.random ? ' (random weights, same graph)' : ''}; ${cpus} CPUs; load average ${load}; ${duration} s per level`);
const rows: Row[] = [];
if (!stalledOnly) {
  // One client address here: the per-client upload cap (default 32) is lifted so that 128 clients are queued.
  const main = await startServer(bundle.dir, bundle.name, ['--queue', '256', '--uploads-per-client', '256', ...(conc ? ['--concurrency', conc] : [])]);
  await level(main.base, 'warm-up', '/v1/detect', 2, 2, true);
  for (const c of levels) {
    const row = await level(main.base, '/v1/detect, queue 256', '/v1/detect', c, duration, true);
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  rows.push(await level(main.base, '/healthz (HTTP only)', '/healthz', 16, Math.min(5, duration), false));
  console.log(`server exit code after SIGTERM: ${await stop(main.child)}`);
  const shed = await startServer(bundle.dir, bundle.name, conc ? ['--concurrency', conc] : []);
  await level(shed.base, 'warm-up', '/v1/detect', 2, 2, true);
  rows.push(await level(shed.base, '/v1/detect, default queue 32 (shedding)', '/v1/detect', 128, duration, true));
  console.log(`server exit code after SIGTERM: ${await stop(shed.child)}`);
}
// The body timeout is raised past the level's length so that the 64 stalled uploads stay open throughout.
const plain = await startServer(bundle.dir, bundle.name, ['--body-timeout-ms', String((2 * duration + 30) * 1000), ...(conc ? ['--concurrency', conc] : [])]);
await level(plain.base, 'warm-up', '/v1/detect', 2, 2, true);
rows.push(await level(plain.base, '/v1/detect, defaults, nothing stalled', '/v1/detect', 16, duration, true));
const stalled = await stalledUploads(plain.base, 64);
rows.push(await level(plain.base, '/v1/detect, defaults, while 64 stalled uploads are open', '/v1/detect', 16, duration, true));
const receiving = /^expnet_uploads_receiving (\d+)/m.exec(await (await fetch(`${plain.base}/metrics`)).text())?.[1];
console.log(`stalled uploads still receiving at the end: ${receiving ?? '?'} of 64`);
const t0 = Date.now();
const code = await stop(plain.child);
console.log(`server exit code after SIGTERM with 64 stalled uploads open: ${code}, in ${Date.now() - t0} ms`);
for (const s of stalled) s.destroy();

console.log('\n| endpoint | clients | req/s (2xx) | p50 ms | p99 ms | statuses | 5xx | socket errors | RSS before → after (MiB) |');
console.log('|---|---:|---:|---:|---:|---|---:|---:|---|');
for (const r of rows) {
  console.log(`| ${r.what} | ${r.clients} | ${r.perSecond.toFixed(1)} | ${r.p50} | ${r.p99} | ${r.statuses} | ${r.fivexx} | ${r.errors} | ${r.rssBefore.toFixed(0)} → ${r.rssAfter.toFixed(0)} |`);
}
const out = arg('--json');
if (out) writeFileSync(out, JSON.stringify({ model: bundle.name, random: bundle.random, cpus, load, duration, rows }, null, 1) + '\n');
if (bundle.random) rmSync(bundle.dir, { recursive: true, force: true });
