/**
 * Devices: Module.to, the CUDA checks of the engine, the config, trainMethod and the CLI, and (only where this
 * libtorch has CUDA) a few training steps on a GPU compared with the CPU.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint, saveCheckpoint } from '../src/engine/checkpoint.js';
import { randn, tensor } from '../src/engine/creation.js';
import { mseLoss } from '../src/engine/functional.js';
import { Linear } from '../src/engine/layers.js';
import { Module, setData } from '../src/engine/module.js';
import { Optimizer } from '../src/engine/optim.js';
import { checkDevice, cudaAvailable, cudaDeviceCount, liveTensors, manualSeed } from '../src/engine/runtime.js';
import { tidy } from '../src/engine/scope.js';
import type { Device, Tensor } from '../src/engine/tensor.js';
import { ExpnetError } from '../src/errors.js';
import { ExpNet } from '../src/nets/expNet.js';
import { deviceOfRank, resolveConfig, type TrainConfig } from '../src/train/config.js';
import type { ImageSet } from '../src/train/imageSet.js';
import { createRunContext } from '../src/train/runContext.js';
import { trainMethod } from '../src/train/trainMethod.js';
import { localRankFromEnv } from '../src/cli/trainArgs.js';

const CUDA = cudaAvailable();
const NO_CUDA = /this libtorch build has no CUDA; build the addon with LIBTORCH=<a CUDA libtorch>, see docs\/DISTRIBUTED\.md/;
const isConfigError = (re: RegExp) => (e: unknown): boolean => e instanceof ExpnetError && e.code === 'BAD_CONFIG' && re.test(e.message);

/** A few SGD steps of a small regression; returns the losses. */
function trainSteps(model: Linear, steps: number, device: Device = 'cpu'): number[] {
  manualSeed(7);
  const x = randn([16, 4]).to(null, device);
  const y = randn([16, 3]).to(null, device);
  const opt = new Optimizer('sgd', model.parameters(), { lr: 0.1, momentum: 0.9 });
  const out: number[] = [];
  for (let k = 0; k < steps; k++) {
    opt.zeroGrad();
    const loss = mseLoss(model.forward(x), y);
    loss.backward();
    opt.step();
    out.push(loss.item());
    loss.dispose();
  }
  x.dispose();
  y.dispose();
  return out;
}

const seeded = (seed: number): Linear => {
  manualSeed(seed);
  return new Linear(4, 3);
};

/** A tiny image set (random pixels, 3 classes) for trainMethod. */
function tinySet(n: number, seed: number): ImageSet {
  let s = seed;
  const x = Float32Array.from({ length: n * 16 * 16 }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296));
  return { x, y: Int32Array.from({ length: n }, (_, i) => i % 3), sampleIndex: Array.from({ length: n }, (_, i) => i), shape: { channels: 1, height: 16, width: 16 }, skipped: [] };
}
const tinyConfig = (over: Record<string, unknown> = {}): TrainConfig =>
  resolveConfig({ method: 'scratch', student: { inputSize: 16, widths: [4, 4, 4, 4, 4], fcHidden: 8, dropout: 0 }, stageB: { epochs: 2, batchSize: 4, warmupEpochs: 0, augment: false } }, over);

class WithConstant extends Module {
  readonly lin = this.child('lin', new Linear(2, 2));
  readonly offset = this.constant('offset', tensor([1, 2]));
  forward(x: Tensor): Tensor {
    return this.lin.forward(x.add(this.offset));
  }
}

describe('devices', () => {
  test('this libtorch: cudaAvailable() and cudaDeviceCount() agree (CPU-only Debian libtorch: false, 0)', () => {
    assert.equal(cudaDeviceCount() > 0, CUDA);
    if (!CUDA) assert.equal(cudaDeviceCount(), 0);
  });

  test('checkDevice: names, and CUDA on a libtorch without it is a clear BAD_CONFIG error', () => {
    assert.equal(checkDevice('cpu'), 'cpu');
    for (const bad of ['gpu', 'cuda:', 'cuda:x', 'CUDA', 'cuda:-1', ''])
      assert.throws(() => checkDevice(bad, 'flag --device'), isConfigError(/flag --device: expected 'cpu', 'cuda' or 'cuda:N'/), bad);
    if (CUDA) {
      assert.equal(checkDevice('cuda'), 'cuda');
      assert.throws(() => checkDevice(`cuda:${cudaDeviceCount()}`), isConfigError(/does not exist/));
    } else {
      for (const d of ['cuda', 'cuda:0', 'cuda:3']) assert.throws(() => checkDevice(d, 'x'), isConfigError(NO_CUDA), d);
    }
  });

  test("Module.to('cpu') is a no-op: the same tensors, values and training", () => {
    const a = seeded(3);
    const b = seeded(3);
    const before = b.parameters();
    const values = before.map((p) => p.floats());
    assert.equal(b.to('cpu'), b);
    assert.equal(b.device, 'cpu');
    b.parameters().forEach((p, i) => {
      assert.equal(p, before[i]);
      assert.deepEqual(p.floats(), values[i]);
    });
    assert.deepEqual(trainSteps(b, 5), trainSteps(a, 5));
    a.parameters().forEach((p, i) => assert.deepEqual(p.floats(), b.parameters()[i]?.floats()));
    a.dispose();
    b.dispose();
  });

  test('Module.to(cuda) without CUDA throws the clear error before moving anything; the module stays usable', { skip: CUDA && 'this libtorch has CUDA' }, () => {
    const m = seeded(1);
    const w = m.weight.floats();
    assert.throws(() => m.to('cuda'), isConfigError(NO_CUDA));
    assert.throws(() => m.to('cuda:1'), isConfigError(/Linear\.to: 'cuda:1'/));
    assert.equal(m.device, 'cpu');
    assert.deepEqual(m.weight.floats(), w);
    assert.equal(trainSteps(m, 2).length, 2);
    m.dispose();
  });

  test('setData (behind Module.to) replaces data in place: optimisers made before see it, the grad follows', () => {
    const m = seeded(2);
    const w = m.weight;
    const opt = new Optimizer('sgd', [w], { lr: 1 });
    tidy(() => mseLoss(m.forward(tensor(new Float32Array(8).fill(1), [2, 4])), tensor(new Float32Array(6), [2, 3])).backward());
    const fresh = tensor(new Float32Array(12).fill(0.5), [3, 4]);
    setData(w, fresh);
    fresh.dispose();
    assert.equal(m.weight, w);
    assert.deepEqual(Array.from(w.floats()), new Array(12).fill(0.5));
    assert.equal(w.requiresGrad, true);
    const g = w.grad;
    assert.ok(g, 'the gradient survives');
    const expected = Array.from(w.floats(), (v, i) => v - (g.floats()[i] ?? 0));
    g.dispose();
    opt.step(); // the optimiser holds the same tensor, now with the new data
    Array.from(w.floats()).forEach((v, i) => assert.ok(Math.abs(v - (expected[i] ?? 0)) < 1e-6));
    m.dispose();
  });

  test('constants move with to(), stay out of the state dict, and are disposed with the module', () => {
    const base = liveTensors();
    const m = new WithConstant().to('cpu');
    assert.deepEqual([...m.stateDict().keys()].sort(), ['lin.bias', 'lin.weight']);
    assert.deepEqual(Array.from(m.offset.floats()), [1, 2]);
    tidy(() => assert.deepEqual(m.forward(tensor([0, 0], [1, 2])).shape, [1, 2]));
    m.dispose();
    assert.equal(liveTensors(), base);
  });

  test('config: device defaults to cpu, is validated, and cuda maps to each rank’s GPU', () => {
    assert.equal(resolveConfig().device, 'cpu');
    assert.equal(resolveConfig({ device: 'cpu' }).device, 'cpu');
    assert.throws(() => resolveConfig({ device: 'tpu' }), isConfigError(/config\.device: expected 'cpu', 'cuda' or 'cuda:N', got "tpu"/));
    assert.throws(() => resolveConfig({ device: 0 }), isConfigError(/config\.device: expected a string/));
    if (!CUDA) assert.throws(() => resolveConfig({ device: 'cuda' }), isConfigError(/config\.device: 'cuda' was asked for but this libtorch build has no CUDA/));
    assert.equal(deviceOfRank('cuda', 2), 'cuda:2');
    assert.equal(deviceOfRank('cuda:1', 2), 'cuda:1');
    assert.equal(deviceOfRank('cpu', 2), 'cpu');
    assert.equal(localRankFromEnv(5, { LOCAL_RANK: '3' }), 3);
    assert.equal(localRankFromEnv(5, {}), 5);
    assert.throws(() => localRankFromEnv(0, { LOCAL_RANK: 'x' }), isConfigError(/LOCAL_RANK/));
  });

  test('trainMethod: device cpu trains and checkpoints; cuda without CUDA fails first with the clear error', async () => {
    const splits = { train: tinySet(12, 1), val: tinySet(6, 2) };
    const dir = mkdtempSync(join(tmpdir(), 'expnet-device-'));
    const t = await trainMethod(tinyConfig({ device: 'cpu' }), splits, createRunContext(dir, { seed: 1 }), 3);
    assert.equal(t.model.device, 'cpu');
    assert.equal(t.predict(splits.val).length, 6);
    assert.ok(existsSync(join(dir, 'stageB.ckpt.safetensors')));
    t.dispose();
    if (CUDA) return;
    const empty = mkdtempSync(join(tmpdir(), 'expnet-device-'));
    const cfg: TrainConfig = { ...tinyConfig(), device: 'cuda' }; // as a library caller might build it, unresolved
    await assert.rejects(trainMethod(cfg, splits, createRunContext(empty, { seed: 1 }), 3), isConfigError(/config\.device: 'cuda' was asked for but this libtorch build has no CUDA/));
    assert.ok(!existsSync(join(empty, 'stageB.ckpt.safetensors')));
  });

  test('CLI: --device cuda without CUDA exits with the config error code and the hint', { skip: CUDA && 'this libtorch has CUDA' }, () => {
    const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    const out = mkdtempSync(join(tmpdir(), 'expnet-device-cli-'));
    const data = join(out, 'faces.csv'); // never read: the config is resolved first
    for (const [cmd, device] of [['train', 'cuda'], ['cv', 'cuda:0']] as const) {
      const r = spawnSync(process.execPath, [...process.execArgv, main, cmd, '--data', data, '--device', device, '--out', join(out, cmd), '--quiet'], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, NO_CUDA);
      assert.doesNotMatch(r.stderr, /Aborted|core dumped|terminate called/);
    }
    const bad = spawnSync(process.execPath, [...process.execArgv, main, 'train', '--data', data, '--device', 'gpu', '--out', join(out, 'bad')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /config\.device: expected 'cpu', 'cuda' or 'cuda:N', got "gpu"/);
  });

  test('GPU: a few steps on cuda match the CPU, and a GPU checkpoint loads on the CPU', { skip: !CUDA && 'no CUDA in this libtorch build (Debian libtorch is CPU-only); see docs/DISTRIBUTED.md' }, async () => {
    const cpu = seeded(5);
    const gpu = seeded(5).to('cuda');
    assert.match(gpu.weight.device, /^cuda/);
    const lc = trainSteps(cpu, 5);
    const lg = trainSteps(gpu, 5, 'cuda');
    lc.forEach((v, i) => assert.ok(Math.abs(v - (lg[i] ?? 0)) < 1e-4 * Math.max(1, Math.abs(v)), `step ${i}: cpu ${v}, cuda ${lg[i]}`));
    const dir = mkdtempSync(join(tmpdir(), 'expnet-device-gpu-'));
    const opt = new Optimizer('adam', gpu.parameters(), { lr: 1e-3 });
    saveCheckpoint(join(dir, 'g.safetensors'), { model: gpu, optimizer: opt });
    const back = seeded(9);
    loadCheckpoint(join(dir, 'g.safetensors'), { model: back });
    back.parameters().forEach((p, i) => assert.deepEqual(p.floats(), gpu.parameters()[i]?.floats()));
    const splits = { train: tinySet(12, 1), val: tinySet(6, 2) };
    const t = await trainMethod(tinyConfig({ device: 'cuda' }), splits, createRunContext(mkdtempSync(join(tmpdir(), 'expnet-device-gpu-')), { seed: 1 }), 3);
    assert.match(t.model.device, /^cuda/);
    assert.ok(t.model instanceof ExpNet);
    t.dispose();
    for (const m of [cpu, gpu, back]) m.dispose();
  });
});
