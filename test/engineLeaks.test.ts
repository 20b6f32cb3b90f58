/** Leaks: the live-tensor count and the process RSS stay flat over long runs of train steps and small ops. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  adam, BatchNorm2d, cat, Conv2d, F, Flatten, Linear, liveTensors, manualSeed, MaxPool2d, Program, randint, randn, ReLU, Sequential, setNumThreads, tensor, tidy,
  TrainStep, type Tensor,
} from '../src/engine/index.js';

/** global.gc when node runs with --expose-gc; otherwise the same function obtained through V8 flags. */
function getGc(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc as () => void;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = getGc();
// One intra-op thread: on a busy 2-core machine, 2 OpenMP threads made these tiny steps ~20x slower.
setNumThreads(1);
/** Full GCs with turns of the event loop in between, so deferred native finalizers run too. */
async function settle(): Promise<void> {
  for (let k = 0; k < 3; k++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

const smallCnn = (): Sequential =>
  new Sequential(new Conv2d(1, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 4 * 4, 3));

describe('leaks', () => {
  it('1,000 train steps (sync and async) leave the live-tensor count at its baseline', async () => {
    const baseline = liveTensors();
    manualSeed(1);
    const net = smallCnn();
    const x = randn([8, 1, 8, 8]);
    const y = randint(0, 3, [8]);
    const ts = new TrainStep((a, b) => tidy(() => F.crossEntropy(net.forward(a), b)), [x, y], adam(net.parameters(), { lr: 1e-3 }));
    const afterSetup = liveTensors();
    let at100 = 0;
    for (let s = 0; s < 1000; s++) {
      const r = s % 10 === 9 ? await ts.stepAsync([x, y]) : ts.step([x, y]);
      assert.ok(Number.isFinite(r.loss), `step ${s}: loss ${r.loss}`);
      for (const t of r.outputs) t.dispose();
      if (s === 99) at100 = liveTensors();
    }
    assert.equal(at100, afterSetup, 'train steps must not add live tensors');
    assert.equal(liveTensors(), afterSetup);
    ts.dispose();
    net.dispose();
    x.dispose();
    y.dispose();
    assert.equal(liveTensors(), baseline);
  });

  it('programs, gradients and undisposed wrappers (collected by GC) return to the baseline', async () => {
    await settle();
    const baseline = liveTensors();
    const w = tensor(new Float32Array(16).fill(0.5), [4, 4], { requiresGrad: true });
    const prog = Program.trace((a) => F.relu(a.matmul(w)), [tidy(() => randn([2, 4]))]);
    for (let k = 0; k < 50; k++) {
      const x = randn([2, 4]);
      const [out] = prog.run([x]);
      const loss = (out as Tensor).sum();
      loss.backward();
      const g = w.grad;
      g?.dispose();
      w.zeroGrad();
      for (const t of [x, out, loss]) t?.dispose();
    }
    // Wrappers dropped without dispose() are released when the JS objects are collected.
    for (let k = 0; k < 200; k++) randn([4]).add(1);
    await settle();
    prog.dispose();
    w.dispose();
    assert.equal(liveTensors(), baseline);
  });

  it('RSS stays flat (within 5 %) over 10,000 small ops after a warm-up', async (t) => {
    const baseline = liveTensors();
    const a = randn([32, 32]);
    const k = randn([4, 1, 3, 3]);
    const idx = randint(0, 32, [16]);
    // Each iteration makes ~4 kB tensors, so leaking even one per op would add ~40 MB (> 5 % of the RSS).
    /** Runs n ops; returns the settled RSS (MiB) after every 1,000. */
    const ops = async (n: number): Promise<number[]> => {
      const rss: number[] = [];
      for (let i = 0; i < n; i++) {
        tidy(() => {
          const b = F.relu(a.matmul(a).add(i));
          const c = F.conv2d(b.reshape([1, 1, 32, 32]), k, null, { padding: 1 });
          const d = cat([c.flatten(), b.indexSelect(0, idx).flatten()]).softmax(0);
          return d.sum().item();
        });
        if (i % 4 === 0) a.add(1).dispose();
        // A disposed wrapper's small native part is freed by its finalizer, which Node runs on a later turn of the
        // event loop after a GC: without these pauses, a long synchronous loop piles them up and the malloc
        // high-water mark, not a leak, sets the RSS. A real leak survives them.
        if (i % 1000 === 999) {
          await settle();
          rss.push(process.memoryUsage().rss / 2 ** 20);
        }
      }
      return rss;
    };
    // Baseline: the highest of the last 3 warm-up samples; result: the lowest of the last 3 (a leak grows steadily,
    // so it shows in all of them; a one-off allocator spike does not).
    // 10,000 warm-up ops: glibc keeps freed memory (mallopt in the addon), so its heap reaches its working size
    // in one or two steps that must happen before the baseline is taken.
    const warm = await ops(10000);
    // A leak grows in every window; a one-off step of the allocator's heap does not recur. So a window that grew
    // more than 5 % is measured once more, from its own end: a leak fails both windows.
    let base = warm;
    let result = { before: 0, after: 0, growth: 0, curve: '' };
    for (let attempt = 0; attempt < 2; attempt++) {
      const measured = await ops(10000);
      const before = Math.max(...base.slice(-3));
      const after = Math.min(...measured.slice(-3));
      result = { before, after, growth: (after - before) / before, curve: [...base, ...measured].map((v) => v.toFixed(0)).join(' ') };
      t.diagnostic(`RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB (${(result.growth * 100).toFixed(2)} %); every 1,000 ops: ${result.curve}`);
      if (result.growth < 0.05) break;
      base = measured;
    }
    assert.ok(result.growth < 0.05, `RSS grew ${(result.growth * 100).toFixed(1)} % (${result.before.toFixed(0)} → ${result.after.toFixed(0)} MiB); every 1,000 ops: ${result.curve}`);
    for (const x of [a, k, idx]) x.dispose();
    assert.equal(liveTensors(), baseline);
  });
});
