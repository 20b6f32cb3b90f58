/**
 * c10d data parallelism on 127.0.0.1: collectives, TrainStep's gradient all-reduce (2 and 3 processes end with
 * the weights of one process on the same global batch), faults (a killed worker, no master) end in errors within
 * a timeout, the launcher, the sampler and the rendezvous settings. This file is also its own worker process
 * (EXPNET_DIST_TEST set). Skipped when the addon was built without c10d (no gloo headers).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { F, Linear, manualSeed, ReLU, Sequential, sgd, tensor, TrainStep, labels, type Tensor } from '../src/engine/index.js';
import { allReduce, barrier, broadcast, distBackends, groupFromEnv, initProcessGroup, resolveGroupOptions } from '../src/engine/distributed.js';
import { Rng } from '../src/data/rng.js';
import { groupFromArgs } from '../src/cli/trainArgs.js';
import { distributedEpochBatches, shardOf, stepsPerEpoch } from '../src/train/distributedSampler.js';
import { freePort, launchWorkers } from '../src/train/distributedLauncher.js';

const GLOBAL_BATCH = 12;
const SELF = fileURLToPath(import.meta.url);

interface Role {
  mode: 'train' | 'collectives';
  steps: number;
  /** Rank that kills itself (SIGKILL) after this many steps. */
  dieRank?: number;
  dieAfter?: number;
}

/** Deterministic global batch `k`: 12 rows of 6 features, 3 classes. */
function globalBatch(k: number): { x: number[][]; y: number[] } {
  const x = Array.from({ length: GLOBAL_BATCH }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(k * 97 + i * 13 + j * 3.1)));
  return { x, y: x.map((r) => (r[0]! + r[1]! > 0.3 ? 0 : r[2]! > 0 ? 1 : 2)) };
}

/** Trains the tiny MLP (no BatchNorm, no dropout) on this rank's slice of each global batch; returns its weights. */
function trainNet(rank: number, world: number, steps: number, sync: boolean, onStep?: (k: number) => void): Promise<number[]> {
  manualSeed(11);
  const net = new Sequential(new Linear(6, 16), new ReLU(), new Linear(16, 3));
  const opt = sgd(net.parameters(), { lr: 0.2, momentum: 0.9 });
  const batch = (k: number): Tensor[] => {
    const { x, y } = globalBatch(k);
    const rows = shardOf(x.map((r, i) => i), rank, world);
    return [tensor(rows.flatMap((i) => x[i]!), [rows.length, 6]), labels(rows.map((i) => y[i]!))];
  };
  const ex = batch(0);
  const step = new TrainStep((x, y) => F.crossEntropy(net.forward(x!), y!), ex, opt, 0, sync ? { gradSync: { bucketMb: 0.001 } } : {});
  ex.forEach((t) => t.dispose());
  return (async () => {
    for (let k = 0; k < steps; k++) {
      const inputs = batch(k);
      const r = await step.stepAsync(inputs);
      inputs.forEach((t) => t.dispose());
      r.outputs.forEach((t) => t.dispose());
      onStep?.(k + 1);
    }
    step.dispose();
    return net.parameters().flatMap((p) => Array.from(p.floats()));
  })();
}

async function worker(role: Role): Promise<void> {
  const g = groupFromEnv();
  if (!g) throw new Error('worker without RANK/WORLD_SIZE');
  await initProcessGroup(g);
  if (role.mode === 'collectives') {
    const a = tensor([g.rank + 1, 2]);
    const b = tensor(Float64Array.from([g.rank]), [1]);
    await allReduce([a, b], 'sum');
    const m = tensor([g.rank * 10]);
    await allReduce([m], 'max');
    const c = tensor([g.rank === 1 ? 42 : -1, 0]);
    await broadcast([c], 1);
    await barrier();
    process.stdout.write(`RESULT ${JSON.stringify({ a: Array.from(a.floats()), b: Array.from(b.data() as Float64Array), m: Array.from(m.floats()), c: Array.from(c.floats()) })}\n`);
    return;
  }
  const die = (k: number): void => {
    if (g.rank === role.dieRank && k === role.dieAfter) process.kill(process.pid, 'SIGKILL');
  };
  try {
    const w = await trainNet(g.rank, g.worldSize, role.steps, true, die);
    process.stdout.write(`RESULT ${JSON.stringify({ weights: w })}\n`);
  } catch (err) {
    process.stdout.write(`RESULT ${JSON.stringify({ error: (err as Error).message })}\n`);
    process.exit(1);
  }
}

interface Ended {
  code: number | null;
  signal: string | null;
  result: { weights?: number[]; error?: string; [k: string]: unknown } | null;
  stderr: string;
  ms: number;
}

/** Runs this file as rank `rank`; killed (and reported as hung) after `limitMs`. */
function runRank(role: Role, rank: number, world: number, port: number, limitMs = 30_000, extraEnv: Record<string, string> = {}): Promise<Ended> {
  const env: NodeJS.ProcessEnv = { ...process.env, EXPNET_DIST_TEST: JSON.stringify(role), RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), EXPNET_NUM_THREADS: '1', EXPNET_DIST_TIMEOUT: '20', ...extraEnv };
  delete env['NODE_TEST_CONTEXT'];
  const t0 = Date.now();
  const child = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), SELF], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({ code, signal, result: line ? (JSON.parse(line.slice(7)) as Ended['result']) : null, stderr: err, ms: Date.now() - t0 });
    });
  });
}

async function runGroup(role: Role, world: number): Promise<Ended[]> {
  const port = await freePort();
  return Promise.all(Array.from({ length: world }, (_, r) => runRank(role, r, world, port)));
}

function maxDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? Number.NaN))), 0);
}

const role = process.env['EXPNET_DIST_TEST'];
if (role) {
  await worker(JSON.parse(role) as Role);
} else {
  describe('distributed sampler and settings', () => {
    it('shards are disjoint, cover each global batch and equal epochBatches on one rank', () => {
      for (const world of [1, 2, 3]) {
        const parts = Array.from({ length: world }, (_, r) => distributedEpochBatches(23, 8, new Rng(5), r, world));
        const steps = parts[0]!.length;
        assert.equal(steps, stepsPerEpoch(23, 8, world));
        for (let k = 0; k < steps; k++) {
          const all = parts.flatMap((p) => p[k]!);
          assert.equal(new Set(all).size, all.length);
          assert.ok(parts.every((p) => p[k]!.length >= 2));
        }
      }
      assert.deepEqual(shardOf([1, 2, 3, 4, 5], 1, 2), [3, 4, 5]);
      assert.equal(stepsPerEpoch(23, 8, 1), 3); // 8 + 8 + 7
      assert.equal(stepsPerEpoch(21, 8, 3), 2); // the last 5 images cannot give 3 ranks 2 each
    });
    it('reads PyTorch-style variables and flags, and rejects bad ones', () => {
      assert.equal(groupFromEnv({}), null);
      assert.deepEqual(groupFromEnv({ RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: 'h', MASTER_PORT: '29501' }), { rank: 1, worldSize: 2, masterAddr: 'h', masterPort: 29501, timeoutSec: 1800, backend: 'gloo' });
      assert.throws(() => groupFromEnv({ WORLD_SIZE: '2' }), /RANK, MASTER_ADDR, MASTER_PORT are not/);
      assert.throws(() => resolveGroupOptions({ rank: 2, worldSize: 2, masterAddr: 'h', masterPort: 1 }), /rank: expected an integer from 0 to 1, got 2/);
      assert.throws(() => resolveGroupOptions({ rank: 0, worldSize: 2, masterAddr: 'h', masterPort: 70000 }), /master port/);
      assert.equal(groupFromArgs({}, {}), null);
      assert.deepEqual(groupFromArgs({ rank: '0', 'world-size': '3', 'master-port': '2000', 'dist-timeout': '9' }, {}), { rank: 0, worldSize: 3, masterAddr: '127.0.0.1', masterPort: 2000, timeoutSec: 9, backend: 'gloo' });
      assert.throws(() => groupFromArgs({ rank: '0' }, {}), /--rank and --world-size go together/);
    });
  });

  const skip = distBackends().includes('gloo') ? false : 'the addon was built without c10d (install libgloo-dev and run npm run build:native)';
  describe('c10d on 127.0.0.1', { skip, timeout: 120_000 }, () => {
    it('all-reduce (sum, max; float32 and float64 together), broadcast and barrier on 3 processes', async () => {
      const ends = await runGroup({ mode: 'collectives', steps: 0 }, 3);
      for (const e of ends) {
        assert.equal(e.code, 0, e.stderr);
        assert.deepEqual(e.result, { a: [6, 6], b: [3], m: [20], c: [42, 0] });
      }
    });
    for (const world of [2, 3]) {
      it(`${world} processes end with the weights of one process on the same global batch (1e-6)`, async () => {
        const steps = 6;
        const [ends, ref] = await Promise.all([runGroup({ mode: 'train', steps }, world), trainNet(0, 1, steps, false)]);
        for (const e of ends) {
          assert.equal(e.code, 0, e.stderr + JSON.stringify(e.result));
          const d = maxDiff(e.result?.weights ?? [], ref);
          assert.ok(d <= 1e-6, `max |difference| ${d}`);
        }
        assert.ok(maxDiff(ref, await trainNet(0, 2, steps, false)) > 1e-3, 'half a batch alone trains differently (the test can fail)');
      });
    }
    it('a killed worker ends the run with an error naming the dead peer, not a hang', async () => {
      const ends = await runGroup({ mode: 'train', steps: 10_000, dieRank: 1, dieAfter: 3 }, 2);
      assert.equal(ends[1]?.signal, 'SIGKILL');
      const r0 = ends[0]!;
      assert.equal(r0.code, 1, r0.stderr);
      assert.match(r0.result?.error ?? '', /rank 0 of 2, gloo, master 127\.0\.0\.1:\d+\).*peer process ended/);
      assert.ok(r0.ms < 25_000, `took ${r0.ms} ms`);
    });
    it('a rank without a master gives up after the timeout with a clear error', async () => {
      const e = await runRank({ mode: 'collectives', steps: 0 }, 1, 2, await freePort(), 30_000, { EXPNET_DIST_TIMEOUT: '2' });
      assert.notEqual(e.code, 0);
      assert.match(e.stderr, /rendezvous \(TCPStore\) failed \(rank 1 of 2.*timed out/);
    });
    it('the launcher reports the failed rank and stops the others', async () => {
      const r = await launchWorkers({
        nproc: 2,
        argv: [SELF],
        execArgv: process.execArgv.filter((a) => !a.startsWith('--test')),
        env: { ...process.env, EXPNET_DIST_TEST: JSON.stringify({ mode: 'train', steps: 10_000, dieRank: 1, dieAfter: 2 }), EXPNET_DIST_TIMEOUT: '20', NODE_TEST_CONTEXT: '' },
        threadsPerProcess: 1,
        graceSec: 10,
      });
      assert.notEqual(r.exitCode, 0);
      assert.equal(r.failures[0]?.rank, 1);
      assert.equal(r.failures[0]?.signal, 'SIGKILL');
      assert.equal(r.failures[1]?.rank, 0);
    });
  });
}
