/**
 * Mixed precision through libtorch's autocast: what is bf16 and what stays float32 (eager, traced, TrainStep on
 * the JS thread and on a worker thread), scopes that restore, determinism, and the precision resolver with the
 * CPU-support override. Emulated bfloat16 is exact too, so these tests run on any x86 CPU.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  adam, autocast, autocastState, BatchNorm2d, Conv2d, cudaAvailable, F, Flatten, Linear, liveTensors, manualSeed, noGrad, Program,
  randint, randn, ReLU, resolvePrecision, Sequential, tidy, TrainStep, type Tensor,
} from '../src/engine/index.js';
import { ExpnetError } from '../src/errors.js';

const BF16 = { dtype: 'bfloat16' } as const;

function smallNet(): Sequential {
  return new Sequential(new Conv2d(1, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new Conv2d(8, 8, 3, { stride: 2 }), new ReLU(), new Flatten(), new Linear(8 * 3 * 3, 3));
}

function stateBits(net: Sequential): Map<string, Buffer> {
  return new Map([...net.stateDict()].map(([k, t]) => {
    const d = t.data();
    return [k, Buffer.from(d.buffer, d.byteOffset, d.byteLength)] as const;
  }));
}

/** `steps` TrainStep steps of the small CNN on seeded data; returns the losses and the final state's bytes. */
async function trainSmall(seed: number, precision: 'fp32' | 'bf16', steps: number, useAsync: boolean): Promise<{ losses: number[]; bits: Map<string, Buffer>; logitsDType: string }> {
  manualSeed(seed);
  const net = smallNet();
  const x = randn([16, 1, 8, 8]);
  const y = randint(0, 3, [16]);
  const opts = precision === 'bf16' ? { autocast: BF16 } : {};
  const ts = new TrainStep((a, b) => tidy(() => {
    const logits = net.forward(a);
    return [F.crossEntropy(logits, b), logits];
  }), [x, y], adam(net.parameters(), { lr: 0.01 }), 0, opts);
  const losses: number[] = [];
  let logitsDType = '';
  for (let s = 0; s < steps; s++) {
    const r = useAsync ? await ts.stepAsync([x, y]) : ts.step([x, y]);
    losses.push(r.loss);
    assert.equal(r.outputs[0]?.dtype, 'float32', 'the loss stays float32');
    logitsDType = r.outputs[1]?.dtype ?? '';
    for (const t of r.outputs) t.dispose();
  }
  for (const p of net.parameters()) assert.equal(p.dtype, 'float32');
  const bits = stateBits(net);
  ts.dispose();
  x.dispose();
  y.dispose();
  net.dispose();
  return { losses, bits, logitsDType };
}

const differing = (a: Map<string, Buffer>, b: Map<string, Buffer>): string[] => [...a].filter(([k, v]) => Buffer.compare(v, b.get(k) ?? Buffer.alloc(0)) !== 0).map(([k]) => k);

describe('autocast (bfloat16 on the CPU)', () => {
  const before = liveTensors();
  after(() => assert.equal(liveTensors(), before, 'every tensor of these tests was disposed'));

  it('convolutions and linear layers run in bf16; parameters, gradients, BatchNorm statistics and losses stay float32', () => {
    manualSeed(1);
    const net = smallNet();
    const bn = net.children()[1]?.[1] as BatchNorm2d;
    tidy(() => {
      const x = randn([4, 1, 8, 8]);
      const y = randint(0, 3, [4]);
      const loss = autocast(BF16, () => {
        const conv = (net.children()[0]?.[1] as Conv2d).forward(x);
        assert.equal(conv.dtype, 'bfloat16');
        const logits = net.forward(x);
        assert.equal(logits.dtype, 'bfloat16');
        const l = F.crossEntropy(logits, y);
        assert.equal(l.dtype, 'float32');
        assert.equal(F.mseLoss(conv, randn(conv.shape)).dtype, 'float32');
        return l;
      });
      loss.backward();
      for (const p of net.parameters()) {
        assert.equal(p.dtype, 'float32');
        assert.equal(p.grad?.dtype, 'float32');
      }
      for (const [, b] of bn.namedBuffers()) assert.ok(b.dtype === 'float32' || b.dtype === 'int64', `BatchNorm buffer ${b.dtype}`);
      assert.equal(net.forward(x).dtype, 'float32', 'outside the scope ops are float32 again');
    });
    net.dispose();
  });

  it('scopes nest and restore, also when the function throws; async functions are refused', () => {
    assert.equal(autocastState().cpu, false);
    autocast(BF16, () => {
      assert.equal(autocastState().cpu, true);
      assert.equal(autocastState().cpuDtype, 'bfloat16');
      autocast({ enabled: false }, () => assert.equal(autocastState().cpu, false));
      assert.equal(autocastState().cpu, true);
    });
    assert.throws(() => autocast(BF16, () => {
      throw new Error('boom');
    }), /boom/);
    assert.deepEqual([autocastState().cpu, autocastState().depth], [false, 0]);
    assert.throws(() => autocast(BF16, async () => 1), (e: unknown) => e instanceof ExpnetError && /synchronous function/.test(e.message));
    assert.equal(autocastState().cpu, false);
    assert.throws(() => autocast({ dtype: 'float16' }, () => 0), /only 'bfloat16'/);
  });

  it('a program replays in the precision it was traced under, on the JS thread and on a worker thread', async () => {
    manualSeed(2);
    const net = smallNet();
    net.eval();
    const x = randn([2, 1, 8, 8]);
    const p16 = Program.trace((a) => net.forward(a), [x], { autocast: BF16 });
    const p32 = Program.trace((a) => net.forward(a), [x]);
    const outs = [...p16.run([x], { noGrad: true }), ...(await p16.runAsync([x], { noGrad: true }))];
    assert.deepEqual(outs.map((t) => t.dtype), ['bfloat16', 'bfloat16']);
    assert.deepEqual(outs[0]?.floats(), outs[1]?.floats());
    const inScope = autocast(BF16, () => p32.run([x], { noGrad: true }));
    assert.equal(inScope[0]?.dtype, 'float32', 'an fp32 program stays fp32 inside a bf16 scope');
    const eager = noGrad(() => autocast(BF16, () => net.forward(x)));
    assert.deepEqual(eager.floats(), outs[0]?.floats(), 'eager and traced bf16 agree');
    for (const t of [...outs, ...inScope, eager, x]) t.dispose();
    p16.dispose();
    p32.dispose();
    net.dispose();
  });

  it('a bf16 TrainStep lowers the loss; step and stepAsync (worker thread) are bitwise identical and deterministic', async () => {
    const a = await trainSmall(7, 'bf16', 25, false);
    const b = await trainSmall(7, 'bf16', 25, true);
    assert.equal(a.logitsDType, 'bfloat16');
    assert.equal(b.logitsDType, 'bfloat16', 'the worker thread ran the traced forward under autocast');
    assert.ok((a.losses.at(-1) ?? Infinity) < 0.5 * (a.losses[0] ?? 0), `loss ${a.losses[0]} -> ${a.losses.at(-1)}`);
    assert.deepEqual(a.losses, b.losses);
    assert.deepEqual(differing(a.bits, b.bits), []);
    const c = await trainSmall(7, 'bf16', 25, true);
    assert.deepEqual(differing(b.bits, c.bits), []);
    const f = await trainSmall(7, 'fp32', 25, true);
    assert.equal(f.logitsDType, 'float32');
    assert.ok(differing(f.bits, c.bits).length > 0, 'bf16 training is not fp32 training');
  });

  it('toMemoryFormat lays 4-D weights out channels-last in place (one-channel kernels too) and back; values unchanged', () => {
    manualSeed(4);
    const net = smallNet();
    const conv1 = net.children()[0]?.[1] as Conv2d;
    const w = conv1.parameters()[0] as Tensor;
    const before = stateBits(net);
    assert.equal(w.memoryFormat, 'contiguous');
    net.toMemoryFormat('channelsLast');
    assert.equal(w.memoryFormat, 'channelsLast', 'a [8,1,3,3] kernel gets channels-last strides explicitly');
    assert.equal((net.children()[3]?.[1] as Conv2d).parameters()[0]?.memoryFormat, 'channelsLast');
    assert.deepEqual(differing(before, stateBits(net)), []);
    tidy(() => {
      const x = randn([2, 1, 8, 8]).contiguous('channelsLast');
      const y = autocast(BF16, () => (net.children()[0]?.[1] as Conv2d).forward(x));
      assert.deepEqual([y.dtype, y.memoryFormat], ['bfloat16', 'channelsLast']);
    });
    net.toMemoryFormat('contiguous');
    assert.equal(w.memoryFormat, 'contiguous');
    assert.deepEqual(differing(before, stateBits(net)), []);
    net.dispose();
  });

  it('resolvePrecision: auto follows the CPU; bf16 without CPU support is a clear error (EXPNET_CPU_BF16 override)', () => {
    const saved = process.env['EXPNET_CPU_BF16'];
    try {
      process.env['EXPNET_CPU_BF16'] = '0';
      assert.equal(resolvePrecision('auto', 'cpu').precision, 'fp32');
      assert.equal(resolvePrecision('fp32', 'cpu').precision, 'fp32');
      assert.throws(() => resolvePrecision('bf16', 'cpu', '--precision'), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_CONFIG' && /--precision: bf16 .* no native bfloat16/.test(e.message));
      process.env['EXPNET_CPU_BF16'] = '1';
      assert.equal(resolvePrecision('auto', 'cpu').precision, 'bf16');
      assert.equal(resolvePrecision('bf16', 'cpu').precision, 'bf16');
      assert.equal(resolvePrecision('auto', 'cuda').precision, 'fp32');
      assert.throws(() => resolvePrecision('fp16' as 'fp32', 'cpu'), /expected fp32, bf16 or auto/);
    } finally {
      if (saved === undefined) delete process.env['EXPNET_CPU_BF16'];
      else process.env['EXPNET_CPU_BF16'] = saved;
    }
  });

  it('CUDA autocast (float16) where a GPU is present', { skip: cudaAvailable() ? false : 'no CUDA in this libtorch build' }, () => {
    manualSeed(3);
    const net = new Linear(4, 2).to('cuda');
    tidy(() => {
      const out = autocast({ device: 'cuda' }, () => net.forward(randn([3, 4]).to(null, 'cuda')));
      assert.equal(out.dtype, 'float16');
    });
    net.dispose();
  });
});
