/**
 * fitStage data parallel on 127.0.0.1: 2 processes end with the weights and the logged (rank-reduced) losses of
 * one process; only rank 0 writes checkpoints and metrics; a run whose worker was killed continues from the last
 * checkpoint with --resume and ends where an uninterrupted run ends. This file is also its own worker.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Conv2d, F, Flatten, Linear, manualSeed, ReLU, Sequential, tensor, labels, noGrad } from '../src/engine/index.js';
import { distBackends, groupFromEnv, initProcessGroup } from '../src/engine/distributed.js';
import type { StageConfig } from '../src/train/config.js';
import { fitStage } from '../src/train/fitStage.js';
import { createRunContext, silentReporter, withPrecision, type RunContext } from '../src/train/runContext.js';
import { freePort } from '../src/train/distributedLauncher.js';

const SELF = fileURLToPath(import.meta.url);
const N = 40;
const CONFIG: StageConfig = { epochs: 3, batchSize: 12, optimizer: 'sgd', lr: 0.1, weightDecay: 0, momentum: 0.9, warmupEpochs: 0, augment: false, degrade: { blur: 0, downscale: 0, jpeg: 0 }, labelSmoothing: 0, classBalance: 'none', clipNorm: 1 };
const X = Array.from({ length: N }, (_, i) => Array.from({ length: 5 }, (_, j) => Math.cos(i * 1.7 + j * 0.9)));
const Y = X.map((r) => (r[0]! > 0 ? (r[1]! > 0 ? 0 : 1) : 2));

interface Role {
  dir: string;
  resume: boolean;
  /** Rank that kills itself when it starts this epoch (1-based). */
  dieRank?: number;
  dieEpoch?: number;
  /** bf16: the tiny conv net under autocast (channels-last), as `--precision bf16` trains. */
  precision?: 'bf16';
}

/** One stage of the tiny MLP; returns its final weights. */
async function train(ctx: RunContext, rank: number, role: Role): Promise<number[]> {
  manualSeed(rank === 0 ? 5 : 6); // rank 0's weights are broadcast at the start
  const bf16 = role.precision === 'bf16';
  if (bf16) ctx = withPrecision(ctx, 'bf16');
  // bf16: the 5 features as a 1×1×5 image through a conv (4-D weights go channels-last) and the MLP head.
  const net = bf16
    ? new Sequential(new Conv2d(1, 4, [1, 3], { padding: [0, 1] }), new ReLU(), new Flatten(), new Linear(20, 12), new ReLU(), new Linear(12, 3))
    : new Sequential(new Linear(5, 12), new ReLU(), new Linear(12, 3));
  const shape = (n: number): number[] => (bf16 ? [n, 1, 1, 5] : [n, 5]);
  let calls = 0;
  const perEpoch = 4; // 12 + 12 + 12 + 4 images in 2 processes
  await fitStage(ctx, {
    name: 'mlp',
    config: CONFIG,
    model: net,
    params: net.parameters(),
    size: N,
    batch: (idx) => {
      if (rank === role.dieRank && Math.floor(calls / perEpoch) + 1 === role.dieEpoch && calls % perEpoch === 1) process.kill(process.pid, 'SIGKILL');
      calls++;
      return [tensor(idx.flatMap((i) => X[i]!), shape(idx.length)), labels(idx.map((i) => Y[i]!))];
    },
    loss: (x, y) => [F.crossEntropy(net.forward(x!), y!)],
    validate: () =>
      noGrad(() => {
        const logits = net.forward(tensor(X.slice(0, 16).flat(), shape(16))).floats();
        return Y.slice(0, 16).filter((y, i) => [0, 1, 2].reduce((b, c) => (logits[i * 3 + c]! > logits[i * 3 + b]! ? c : b), 0) === y).length / 16;
      }),
  });
  return net.parameters().flatMap((p) => Array.from(p.floats()));
}

async function worker(role: Role): Promise<void> {
  const g = groupFromEnv();
  if (!g) throw new Error('worker without RANK/WORLD_SIZE');
  await initProcessGroup(g);
  const ctx: RunContext = g.rank === 0 ? createRunContext(role.dir, { seed: 9, resume: role.resume }) : { dir: role.dir, seed: 9, resume: role.resume, deadline: 0, reporter: silentReporter, log: () => {} };
  const w = await train(ctx, g.rank, role);
  process.stdout.write(`RESULT ${JSON.stringify(w)}\n`);
}

interface Ended {
  code: number | null;
  signal: string | null;
  weights: number[] | null;
  stderr: string;
}

function runRank(role: Role, rank: number, world: number, port: number): Promise<Ended> {
  const env: NodeJS.ProcessEnv = { ...process.env, EXPNET_DIST_TEST_FIT: JSON.stringify(role), RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), EXPNET_NUM_THREADS: '1', EXPNET_DIST_TIMEOUT: '20' };
  delete env['NODE_TEST_CONTEXT'];
  const child = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), SELF], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({ code, signal, weights: line ? (JSON.parse(line.slice(7)) as number[]) : null, stderr: err });
    });
  });
}

async function runGroup(role: Role, world: number): Promise<Ended[]> {
  const port = await freePort();
  return Promise.all(Array.from({ length: world }, (_, r) => runRank(role, r, world, port)));
}

const maxDiff = (a: readonly number[], b: readonly number[]): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? Number.NaN))), a.length === b.length ? 0 : Infinity);
const losses = (dir: string): number[] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);

const fitRole = process.env['EXPNET_DIST_TEST_FIT'];
if (fitRole) {
  await worker(JSON.parse(fitRole) as Role);
} else {
  const skip = distBackends().includes('gloo') ? false : 'the addon was built without c10d (install libgloo-dev and run npm run build:native)';
  describe('fitStage on 2 processes', { skip, timeout: 180_000 }, () => {
    const root = mkdtempSync(join(tmpdir(), 'expnet-distfit-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    const refDir = join(root, 'one');
    let ref: number[] = [];

    it('ends with the weights and the logged losses of one process; only rank 0 writes', async () => {
      ref = await train(createRunContext(refDir, { seed: 9 }), 0, { dir: refDir, resume: false });
      const dir = join(root, 'two');
      const ends = await runGroup({ dir, resume: false }, 2);
      for (const e of ends) {
        assert.equal(e.code, 0, e.stderr);
        assert.ok(maxDiff(e.weights ?? [], ref) <= 1e-6, `max |difference| ${maxDiff(e.weights ?? [], ref)}`);
      }
      assert.deepEqual(readdirSync(dir).sort(), readdirSync(refDir).sort());
      const [a, b] = [losses(dir), losses(refDir)];
      assert.equal(a.length, 3);
      assert.ok(maxDiff(a, b) <= 1e-5, `losses ${a.join(', ')} vs ${b.join(', ')}`);
    });

    it('a killed worker stops the run; --resume continues from the last checkpoint to the same weights', async () => {
      const dir = join(root, 'crash');
      const crashed = await runGroup({ dir, resume: false, dieRank: 1, dieEpoch: 2 }, 2);
      assert.equal(crashed[1]?.signal, 'SIGKILL');
      assert.notEqual(crashed[0]?.code, 0);
      assert.match(crashed[0]?.stderr ?? '', /peer process ended/);
      assert.ok(existsSync(join(dir, 'mlp.ckpt.safetensors')));
      assert.equal(losses(dir).length, 1);
      const resumed = await runGroup({ dir, resume: true }, 2);
      for (const e of resumed) {
        assert.equal(e.code, 0, e.stderr);
        assert.ok(maxDiff(e.weights ?? [], ref) <= 1e-6, `max |difference| ${maxDiff(e.weights ?? [], ref)}`);
      }
      assert.equal(losses(dir).length, 3);
    });

    it('bf16 (autocast, channels-last conv weights, gradients bucketed by the Reducer): 2 processes agree with each other and with one', async () => {
      const oneDir = join(root, 'bf16-one');
      const one = await train(createRunContext(oneDir, { seed: 9 }), 0, { dir: oneDir, resume: false, precision: 'bf16' });
      const ends = await runGroup({ dir: join(root, 'bf16-two'), resume: false, precision: 'bf16' }, 2);
      for (const e of ends) assert.equal(e.code, 0, e.stderr);
      const [a, b] = [ends[0]?.weights ?? [], ends[1]?.weights ?? []];
      assert.ok(maxDiff(a, b) === 0, `the ranks differ by ${maxDiff(a, b)}`);
      // bf16 rounds each rank's half-batch products differently from one process's whole batch: close, not equal.
      assert.ok(maxDiff(a, one) <= 0.05, `max |difference| to one process ${maxDiff(a, one)}`);
      assert.ok(one.length === 4 * 3 + 4 + 20 * 12 + 12 + 12 * 3 + 3);
    });
  });
}
