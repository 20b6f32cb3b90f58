/** Modules, state dicts, train/eval, programs and TrainStep (optimisers and schedules: engineOptim.test.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AdaptiveAvgPool2d, adam, adamw, BatchNorm2d, clipGradNorm, Conv2d, Dropout, F, Flatten, labels, Linear, liveTensors,
  manualSeed, Module, noGrad, Program, randn, ReLU, Sequential, sgd, tensor, tidy, TrainStep, type RawTensor, type Tensor,
} from '../src/engine/index.js';
import { ExpnetError } from '../src/errors.js';

class Block extends Module {
  readonly conv = this.child('conv', new Conv2d(2, 2, 1, { bias: false }));
  readonly bn = this.child('bn', new BatchNorm2d(2));
  forward(x: Tensor): Tensor {
    return tidy(() => this.bn.forward(this.conv.forward(x)));
  }
}

/** A small CNN: conv → BN → ReLU → block → pool → flatten → dropout → linear (3 classes), for 1×6×6 inputs. */
function tinyCnn(seed: number, p = 0.25): Sequential {
  manualSeed(seed);
  return new Sequential(new Conv2d(1, 2, 3, { padding: 1 }), new BatchNorm2d(2), new ReLU(), new Block(), new AdaptiveAvgPool2d(2), new Flatten(), new Dropout(p), new Linear(8, 3));
}

type Snapshot = Map<string, Float32Array | Float64Array>;
const snapshot = (m: Module): Snapshot => new Map([...m.stateDict()].map(([k, t]) => [k, t.data() as Float32Array]));
const maxDiff = (a: Snapshot, b: Snapshot): number => {
  let d = 0;
  for (const [k, v] of a) {
    const w = b.get(k);
    assert.ok(w, `missing ${k}`);
    v.forEach((x, i) => (d = Math.max(d, Math.abs(x - (w[i] as number)))));
  }
  return d;
};
const ceLoss = (net: Module) => (x: Tensor, y: Tensor): Tensor => tidy(() => F.crossEntropy(net.forward(x), y));

describe('Module', () => {
  it('names parameters and buffers by path; counts them', () => {
    const net = tinyCnn(1);
    assert.deepEqual(
      net.namedParameters().map(([n]) => n),
      ['0.weight', '0.bias', '1.weight', '1.bias', '3.conv.weight', '3.bn.weight', '3.bn.bias', '7.weight', '7.bias'],
    );
    assert.deepEqual(net.namedBuffers().map(([n]) => n), ['1.running_mean', '1.running_var', '3.bn.running_mean', '3.bn.running_var']);
    assert.equal(net.stateDict().size, 13);
    assert.equal(net.numParameters(), 2 * 9 + 2 + 2 + 2 + 4 + 2 + 2 + 24 + 3);
    assert.deepEqual(net.children().map(([n]) => n), ['0', '1', '2', '3', '4', '5', '6', '7']);
    net.dispose();
  });

  it('Sequential disposes its intermediates, also around a layer that returns its input', () => {
    class Identity extends Module {
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    manualSeed(1);
    const net = new Sequential(new Identity(), new Linear(2, 3), new Identity(), new ReLU(), new Identity(), new Linear(3, 1), new Identity());
    const x = tensor([1, 2], [1, 2]);
    const before = liveTensors();
    const y = net.forward(x);
    assert.equal(liveTensors(), before + 1, 'only the output is left');
    assert.equal(x.isDisposed, false, 'the input belongs to the caller');
    const [w1, b1, w2, b2] = net.parameters().map((p) => Array.from(p.data() as Float32Array)) as [number[], number[], number[], number[]];
    const at = (a: number[], k: number): number => a[k] ?? Number.NaN;
    // y = w2 · relu(w1 · [1, 2] + b1) + b2
    const h = [0, 1, 2].map((j) => Math.max(0, at(w1, 2 * j) + 2 * at(w1, 2 * j + 1) + at(b1, j)));
    const want = h.reduce((s, v, j) => s + v * at(w2, j), at(b2, 0));
    assert.ok(Math.abs(y.item() - want) < 1e-5, `${y.item()} vs ${want}`);
    y.dispose();
    x.dispose();
    net.dispose();
  });

  it('strict loadStateDict rejects missing, unexpected, wrong-shape and wrong-dtype entries and changes nothing', () => {
    const net = tinyCnn(2);
    const before = snapshot(net);
    const good = (): Map<string, RawTensor> =>
      new Map([...net.stateDict()].map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: (t.data() as Float32Array).map((v) => v + 1) }]));
    const cases: [string, (s: Map<string, RawTensor>) => void, RegExp][] = [
      ['missing', (s) => s.delete('7.bias'), /missing '7\.bias'/],
      ['unexpected', (s) => s.set('8.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) }), /unexpected '8\.weight'/],
      ['shape', (s) => s.set('0.weight', { dtype: 'float32', shape: [2, 1, 9], data: new Float32Array(18) }), /'0\.weight': shape \[2,1,9\] but the module has \[2,1,3,3\]/],
      ['dtype', (s) => s.set('7.bias', { dtype: 'float64', shape: [3], data: new Float64Array(3) }), /'7\.bias': dtype float64 but the module has float32/],
    ];
    for (const [what, spoil, message] of cases) {
      const state = good();
      spoil(state);
      assert.throws(() => net.loadStateDict(state), (err: unknown) => err instanceof ExpnetError && err.code === 'BAD_WEIGHTS' && message.test(err.message), what);
      assert.equal(maxDiff(before, snapshot(net)), 0, `${what}: a failed load must leave the weights unchanged`);
    }
    // A good state dict loads, and non-strict mode ignores extras and gaps.
    net.loadStateDict(good());
    assert.ok(Math.abs(maxDiff(before, snapshot(net)) - 1) < 1e-6, 'a good load adds the +1');
    const partial = good();
    partial.delete('0.weight');
    partial.set('extra', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    net.loadStateDict(partial, false);
    // Tensor sources work too (another module's state).
    const other = tinyCnn(3);
    net.loadStateDict(other.stateDict());
    assert.equal(maxDiff(snapshot(other), snapshot(net)), 0);
    other.dispose();
    net.dispose();
  });

  it('freeze / unfreeze a subtree: frozen parameters get no gradient', () => {
    const net = tinyCnn(4);
    const first = net.layers[0] as Conv2d;
    first.freeze();
    assert.equal(first.weight.requiresGrad, false);
    assert.equal(net.trainableParameters().length, net.parameters().length - 2);
    const x = randn([2, 1, 6, 6]);
    const loss = net.forward(x).sum();
    loss.backward();
    assert.equal(first.weight.grad, null);
    const g = (net.layers[7] as Linear).weight.grad;
    assert.ok(g !== null, 'the trainable layer has a gradient');
    g.dispose();
    net.unfreeze();
    assert.equal(net.trainableParameters().length, net.parameters().length);
    net.freeze();
    assert.equal(net.trainableParameters().length, 0);
    for (const t of [x, loss]) t.dispose();
    net.dispose();
  });

  it('train/eval: BatchNorm running stats move only in train mode; dropout is the identity in eval', () => {
    const bn = new BatchNorm2d(2);
    const x = tidy(() => randn([4, 2, 3, 3]).mul(3).add(2));
    const stats = (): number[] => [...bn.runningMean.data(), ...bn.runningVar.data()].map(Number);
    const s0 = stats();
    bn.eval().forward(x).dispose();
    assert.deepEqual(stats(), s0, 'eval must not touch running stats');
    bn.train().forward(x).dispose();
    const s1 = stats();
    assert.notDeepEqual(s1, s0);
    // running_mean = 0.9 * 0 + 0.1 * batch mean
    const mean = tidy(() => x.mean([0, 2, 3]).data());
    assert.ok(Math.abs((s1[0] as number) - 0.1 * (mean[0] as number)) < 1e-5, `running mean ${s1[0]} vs 0.1 * ${mean[0]}`);

    const drop = new Dropout(0.5);
    const ones = tensor(new Float32Array(1000).fill(1), [1000]);
    const train = drop.forward(ones);
    const kept = Array.from(train.data() as Float32Array);
    assert.ok(kept.every((v) => v === 0 || v === 2), 'kept units are scaled by 1/(1-p)');
    const dropped = kept.filter((v) => v === 0).length;
    assert.ok(dropped > 400 && dropped < 600, `${dropped} of 1000 dropped at p = 0.5`);
    const evalOut = drop.eval().forward(ones);
    assert.deepEqual(evalOut.data(), ones.data());
    for (const t of [x, ones, train, evalOut]) t.dispose();
    bn.dispose();
  });
});

describe('programs and TrainStep', () => {
  const data = (seed: number, n = 8): { x: Tensor; y: Tensor } => {
    manualSeed(seed);
    return { x: randn([n, 1, 6, 6]), y: labels(Array.from({ length: n }, (_, k) => k % 3)) };
  };

  it('a traced program replays the forward pass (sync and async, with noGrad)', async () => {
    const net = tinyCnn(5, 0).eval();
    const { x, y } = data(6);
    const prog = Program.trace((t) => net.forward(t), [x]);
    assert.ok(prog.numSteps > 5, `${prog.numSteps} steps recorded`);
    const other = tidy(() => randn([3, 1, 6, 6]));
    const direct = noGrad(() => net.forward(other));
    const [sync] = prog.run([other], { noGrad: true });
    const [asyncOut] = await prog.runAsync([other]);
    assert.deepEqual(sync?.data(), direct.data());
    assert.deepEqual(asyncOut?.data(), direct.data());
    assert.equal(sync?.requiresGrad, false);
    assert.equal(asyncOut?.requiresGrad, true);
    for (const t of [x, y, other, direct, sync, asyncOut]) t?.dispose();
    prog.dispose();
    net.dispose();
  });

  it('step and stepAsync give bitwise-identical weights', async () => {
    const run = async (useAsync: boolean): Promise<Snapshot> => {
      const net = tinyCnn(7);
      const { x, y } = data(8);
      const ts = new TrainStep(ceLoss(net), [x, y], adam(net.parameters(), { lr: 0.01 }));
      manualSeed(9);
      for (let s = 0; s < 5; s++) {
        const r = useAsync ? await ts.stepAsync([x, y]) : ts.step([x, y]);
        for (const t of r.outputs) t.dispose();
      }
      const snap = snapshot(net);
      ts.dispose();
      for (const t of [x, y]) t.dispose();
      net.dispose();
      return snap;
    };
    const a = await run(false);
    const b = await run(true);
    assert.equal(maxDiff(a, b), 0);
  });

  it('a TrainStep step equals forward + backward + optimizer.step by hand (to 1e-6)', () => {
    const { x, y } = data(10);
    const netA = tinyCnn(11);
    const netB = tinyCnn(11);
    const optA = adamw(netA.parameters(), { lr: 0.01, weightDecay: 0.05 });
    const optB = adamw(netB.parameters(), { lr: 0.01, weightDecay: 0.05 });
    const ts = new TrainStep(ceLoss(netA), [x, y], optA, 1.0);
    for (let s = 0; s < 3; s++) {
      manualSeed(100 + s);
      const r = ts.step([x, y]);
      manualSeed(100 + s);
      optB.zeroGrad();
      const loss = ceLoss(netB)(x, y);
      loss.backward();
      clipGradNorm(netB.parameters(), 1.0);
      optB.step();
      assert.ok(Math.abs(r.loss - loss.item()) < 1e-6, `step ${s}: loss ${r.loss} vs ${loss.item()}`);
      for (const t of [...r.outputs, loss]) t.dispose();
      // (BatchNorm running stats differ by the extra forward pass the trace ran, so compare parameters only.)
      const pa = new Map(netA.namedParameters().map(([k, t]) => [k, t.data() as Float32Array]));
      const pb = new Map(netB.namedParameters().map(([k, t]) => [k, t.data() as Float32Array]));
      assert.ok(maxDiff(pa, pb) < 1e-6, `step ${s}: weights differ by ${maxDiff(pa, pb)}`);
    }
    ts.dispose();
    for (const t of [x, y]) t.dispose();
    netA.dispose();
    netB.dispose();
  });

  it('the JS event loop keeps running while stepAsync works', async () => {
    manualSeed(12);
    const net = new Sequential(new Conv2d(3, 16, 3, { padding: 1 }), new ReLU(), new Conv2d(16, 16, 3, { padding: 1 }), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 3));
    const x = randn([16, 3, 32, 32]);
    const y = labels(Array.from({ length: 16 }, (_, k) => k % 3));
    const ts = new TrainStep(ceLoss(net), [x, y], sgd(net.parameters(), { lr: 0.01 }));
    let ticks = 0;
    let running = true;
    const tick = (): void => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const t0 = performance.now();
    let during = 0;
    for (let s = 0; s < 3; s++) {
      const start = ticks;
      const r = await ts.stepAsync([x, y]);
      during += ticks - start;
      for (const t of r.outputs) t.dispose();
    }
    running = false;
    const ms = performance.now() - t0;
    assert.ok(during >= 3, `only ${during} event-loop turns in ${ms.toFixed(0)} ms of async steps`);
    ts.dispose();
    for (const t of [x, y]) t.dispose();
    net.dispose();
  });

  it('the loss goes down on a tiny synthetic task', () => {
    // Two Gaussian blobs in 4-D, separated along a random direction.
    manualSeed(13);
    const n = 64;
    const y = labels(Array.from({ length: n }, (_, k) => k % 2));
    const x = tidy(() => randn([n, 4]).add(y.to('float32').mul(2).sub(1).unsqueeze(1).mul(tensor([1.5, -1, 0.5, 1], [1, 4]))));
    const net = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));
    const ts = new TrainStep(ceLoss(net), [x, y], adam(net.parameters(), { lr: 0.05 }));
    const losses: number[] = [];
    for (let s = 0; s < 60; s++) {
      const r = ts.step([x, y]);
      losses.push(r.loss);
      for (const t of r.outputs) t.dispose();
    }
    const first = losses[0] as number;
    const last = losses[losses.length - 1] as number;
    assert.ok(last < 0.5 * first && last < 0.3, `loss ${first} → ${last}`);
    const acc = noGrad(() => tidy(() => net.forward(x).argmax(1).eq(y).to('float32').mean().item()));
    assert.ok(acc > 0.9, `accuracy ${acc}`);
    ts.dispose();
    for (const t of [x, y]) t.dispose();
    net.dispose();
  });

  it('leaves no tensors behind', () => {
    const before = liveTensors();
    const net = tinyCnn(14);
    const { x, y } = data(15);
    const ts = new TrainStep(ceLoss(net), [x, y], sgd(net.parameters(), { lr: 0.1, momentum: 0.9 }));
    for (let s = 0; s < 3; s++) for (const t of ts.step([x, y]).outputs) t.dispose();
    ts.dispose();
    for (const t of [x, y]) t.dispose();
    net.dispose();
    assert.equal(liveTensors(), before);
  });
});
