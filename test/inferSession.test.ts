/** InferSession: onnxruntime-node (and -web) sessions on exported models: runs, checks, options, dispose, leaks. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { F, manualSeed, noGrad, rand, tidy, type Tensor } from '../src/engine/index.js';
import { ExpnetError } from '../src/errors.js';
import { exportOnnx, saveOnnx } from '../src/export/onnxExport.js';
import { createSession, resolveSessionOptions, SESSION_DEFAULTS, type Float32Batch } from '../src/infer/session.js';
import { createWebSession } from '../src/infer/webSession.js';
import { ExpNet } from '../src/nets/expNet.js';

manualSeed(11);
const tmp = mkdtempSync(join(tmpdir(), 'expnet-infer-session-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const net = new ExpNet().eval();
const bytes = exportOnnx(net, [rand([1, 1, 48, 48])]);
const batch = (b: number): { x: Tensor; feed: Float32Batch } => {
  const x = rand([b, 1, 48, 48]);
  return { x, feed: { data: x.floats(), shape: x.shape } };
};
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0);
const isError = (code: string, pattern: RegExp) => (e: unknown): boolean => e instanceof ExpnetError && e.code === code && pattern.test(e.message);

describe('InferSession (onnxruntime-node)', () => {
  it('opens from bytes and from a path; batches 1 and 32 match libtorch', async () => {
    const path = join(tmp, 'expnet.onnx');
    await saveOnnx(path, net, [rand([1, 1, 48, 48])]);
    for (const model of [bytes, path]) {
      const s = await createSession(model);
      assert.deepEqual([s.inputNames, s.outputNames], [['input'], ['output']]);
      assert.deepEqual(s.inputShapes.get('input'), ['batch', 1, 48, 48]);
      for (const b of [1, 32]) {
        const { x, feed } = batch(b);
        const ref = noGrad(() => tidy(() => net.forward(x).floats()));
        const out = await s.runFloat32(feed);
        assert.deepEqual(out.shape, [b, 7]);
        assert.ok(maxDiff(out.data, ref) <= 1e-4);
        const named = await s.run({ input: feed });
        assert.deepEqual(named['output']?.data, out.data, 'named and single-input forms agree');
        x.dispose();
      }
      await s.dispose();
    }
  });

  it('checks inputs and says what it expected', async () => {
    const s = await createSession(bytes);
    const ok = new Float32Array(48 * 48);
    await assert.rejects(s.run({ pixels: { data: ok, shape: [1, 1, 48, 48] } }), isError('BAD_INPUT', /expected inputs \["input"\], got \["pixels"\]/));
    await assert.rejects(s.run({ data: ok, shape: [2, 1, 48, 48] }), isError('BAD_INPUT', /shape \[2, 1, 48, 48\] needs 4608 values, got 2304/));
    await assert.rejects(s.run({ data: ok, shape: [1, 1, 24, 96] }), isError('BAD_INPUT', /expected shape \[batch, 1, 48, 48\], got \[1, 1, 24, 96\]/));
    const f64 = new Float64Array(48 * 48) as unknown as Float32Array;
    await assert.rejects(s.run({ data: f64, shape: [1, 1, 48, 48] }), isError('BAD_INPUT', /Float32Array/));
    await s.dispose();
  });

  it('resolves options over SESSION_DEFAULTS and rejects bad ones', async () => {
    assert.ok(Object.isFrozen(SESSION_DEFAULTS));
    assert.deepEqual(resolveSessionOptions({ intraOpThreads: 2 }), { ...SESSION_DEFAULTS, intraOpThreads: 2 });
    assert.throws(() => resolveSessionOptions({ threads: 2 } as never), isError('BAD_CONFIG', /unknown option 'threads'/));
    assert.throws(() => resolveSessionOptions({ intraOpThreads: -1 }), isError('BAD_CONFIG', /intraOpThreads must be an integer ≥ 0, got -1/));
    assert.throws(() => resolveSessionOptions({ graphOptimization: 'max' as never }), isError('BAD_CONFIG', /graphOptimization/));
    const { x, feed } = batch(3);
    const a = await createSession(bytes, { graphOptimization: 'disabled', intraOpThreads: 2 });
    const b = await createSession(bytes);
    assert.ok(maxDiff((await a.runFloat32(feed)).data, (await b.runFloat32(feed)).data) <= 1e-5);
    await Promise.all([a.dispose(), b.dispose()]);
    x.dispose();
  });

  it('reports a missing file as NOT_FOUND and garbage as BAD_MODEL', async () => {
    await assert.rejects(createSession(join(tmp, 'absent.onnx')), isError('NOT_FOUND', /absent\.onnx/));
    await assert.rejects(createSession(new Uint8Array([1, 2, 3, 4])), isError('BAD_MODEL', /4 bytes of ONNX/));
  });

  it('dispose() waits for runs in flight, is idempotent, and later runs are refused', async () => {
    const s = await createSession(bytes);
    const { x, feed } = batch(8);
    const pending = s.run(feed);
    const disposed = s.dispose();
    assert.equal(s.isDisposed, true);
    assert.deepEqual((await pending)['output']?.shape, [8, 7]);
    await disposed;
    await s.dispose();
    await assert.rejects(s.run(feed), isError('BAD_INPUT', /disposed/));
    x.dispose();
  });

  it('1,000 runs do not grow RSS beyond a bound (no leak of inputs or outputs)', async (t) => {
    // 256 KiB in and 256 KiB out per run: leaking either would add ≥ 250 MiB over 1,000 runs.
    const wide = exportOnnx((x: Tensor) => F.relu(x.mul(2).add(1)), [rand([1, 16, 32, 32])]);
    const s = await createSession(wide);
    const data = new Float32Array(4 * 16 * 32 * 32).map((_, i) => Math.sin(i));
    const feed = { data, shape: [4, 16, 32, 32] };
    for (let i = 0; i < 100; i++) await s.run(feed);
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    let sum = 0;
    for (let i = 0; i < 1000; i++) sum += (await s.runFloat32(feed)).data[i] ?? 0;
    const ms = performance.now() - t0;
    const grown = (process.memoryUsage().rss - before) / 2 ** 20;
    await s.dispose();
    t.diagnostic(`1,000 runs in ${ms.toFixed(0)} ms, RSS grew ${grown.toFixed(1)} MiB`);
    assert.ok(Number.isFinite(sum));
    assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MiB over 1,000 runs`);
  });
});

describe('createWebSession (onnxruntime-web, wasm, inside Node)', () => {
  it('runs the same model bytes to the same outputs as onnxruntime-node', async () => {
    const wasmPaths = `${dirname(createRequire(import.meta.url).resolve('onnxruntime-web'))}/`;
    const web = await createWebSession(bytes, { wasmPaths });
    const node = await createSession(bytes);
    const { x, feed } = batch(4);
    const [a, b] = [await web.runFloat32(feed), await node.runFloat32(feed)];
    assert.deepEqual(a.shape, [4, 7]);
    assert.ok(maxDiff(a.data, b.data) <= 1e-5);
    await Promise.all([web.dispose(), node.dispose()]);
    x.dispose();
  });
});
