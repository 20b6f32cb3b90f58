/**
 * The faceres teacher's costs in bench/train-throughput.ts (expnet only; no PyTorch peer), on seeded random
 * weights (throughput does not depend on them), per precision fp32 / bf16 (autocast, NCHW) / bf16cl (autocast,
 * weights and batch channels-last):
 *   top block: fine-tuning its last two pairs from a cached conv_pw_11 map [B, 512, 14, 14]: conv_dw_12 …
 *              conv_pw_13 → avg → linear 1024 → 7 → cross-entropy, forward + backward + Adam (TrainStep, traced);
 *   depthwise: one depthwise 3×3 conv + ReLU6 (as clamp, like FaceRes) on [B, 512, 14, 14] (conv_dw_11's shape), forward + backward (eager);
 *   forward:   the frozen teacher's forward at 224 up to conv_pw_13 (stage (a) targets), no grad.
 */
import { adam, autocast, F, manualSeed, noGrad, rand, randint, setNumThreads, tidy, TrainStep, type Tensor } from '../src/engine/index.js';
import { Conv2d, Linear } from '../src/engine/layers.js';
import { FaceRes } from '../src/nets/faceRes.js';
import { SameConv2d } from '../src/nets/landmarks68.js';

export type FaceResPrecision = 'fp32' | 'bf16' | 'bf16cl';
export type FaceResWorkload = 'top block' | 'depthwise' | 'forward';
export interface FaceResBenchOptions {
  precisions: readonly FaceResPrecision[];
  threads: readonly number[];
  steps: number;
  warmup: number;
  repeats: number;
  batch: number;
  seed: number;
}

const BF16 = { dtype: 'bfloat16' as const };
const median = (v: readonly number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1] ?? NaN;

/** One workload at one precision: `step()` runs one batch; `dispose()` frees it. */
interface Runner {
  step(): void;
  dispose(): void;
}

function layout(t: Tensor, p: FaceResPrecision): Tensor {
  if (p !== 'bf16cl') return t;
  const cl = t.contiguous('channelsLast');
  t.dispose();
  return cl;
}

function topBlock(p: FaceResPrecision, batch: number): Runner {
  const net = new FaceRes().train();
  const head = new Linear(1024, 7);
  if (p === 'bf16cl') net.toMemoryFormat('channelsLast');
  const top = ['conv_dw_12', 'conv_pw_12', 'conv_dw_13', 'conv_pw_13'];
  const params = net.namedParameters().filter(([n]) => top.includes(n.split('.')[0] ?? '')).map(([, t]) => t);
  const opt = adam([...params, ...head.parameters()], { lr: 1e-4 });
  const h = layout(rand([batch, 512, 14, 14]).mul(6), p);
  const y = randint(0, 7, [batch], { dtype: 'int64' });
  const loss = (hb: Tensor, yb: Tensor): Tensor => F.crossEntropy(head.forward(net.featuresFrom(hb, 'conv_pw_11', 'avg').get('avg') as Tensor), yb);
  const step = new TrainStep(loss, [h, y], opt, 0, p === 'fp32' ? {} : { autocast: BF16 });
  return {
    step: () => {
      const r = step.step([h, y]);
      for (const t of r.outputs) t.dispose();
    },
    dispose: () => {
      step.dispose();
      for (const t of [h, y]) t.dispose();
      net.dispose();
      head.dispose();
    },
  };
}

function depthwise(p: FaceResPrecision, batch: number): Runner {
  const conv: Conv2d = new SameConv2d(512, 512, 3, { groups: 512 });
  if (p === 'bf16cl') conv.toMemoryFormat('channelsLast');
  const x = layout(rand([batch, 512, 14, 14]).mul(6), p);
  x.requiresGrad = true;
  const f = (): Tensor => conv.forward(x).clamp(0, 6).mean(); // FaceRes's ReLU6
  return {
    step: () => {
      tidy(() => {
        const l = p === 'fp32' ? f() : autocast(BF16, f);
        l.backward();
      });
      for (const t of [conv.weight, conv.bias, x]) t?.zeroGrad();
    },
    dispose: () => {
      conv.dispose();
      x.dispose();
    },
  };
}

function forward(p: FaceResPrecision, batch: number): Runner {
  const net = new FaceRes().eval();
  if (p === 'bf16cl') net.toMemoryFormat('channelsLast');
  const x = layout(rand([batch, 3, 224, 224]), p);
  const f = (): Tensor => net.featureAt(x, 'conv_pw_13');
  return {
    step: () => noGrad(() => (p === 'fp32' ? f() : autocast(BF16, f)).dispose()),
    dispose: () => {
      net.dispose();
      x.dispose();
    },
  };
}

const BUILD: Record<FaceResWorkload, (p: FaceResPrecision, batch: number) => Runner> = { 'top block': topBlock, depthwise, forward };

/** Runs every workload × precision × thread count, rounds interleaved; prints a table; returns median images/s. */
export function benchFaceRes(o: FaceResBenchOptions): Map<string, number> {
  manualSeed(o.seed);
  const key = (w: FaceResWorkload, p: FaceResPrecision, t: number): string => `${w}/${p}/${t}`;
  const samples = new Map<string, number[]>();
  const workloads = Object.keys(BUILD) as FaceResWorkload[];
  console.log(`\nfaceres (batch ${o.batch}, ${o.steps} steps + ${o.warmup} warm-up, ${o.repeats} round(s); random weights):`);
  for (const w of workloads) {
    const runners = new Map(o.precisions.map((p) => [p, BUILD[w](p, o.batch)] as const));
    try {
      for (const t of o.threads)
        for (let r = 0; r < o.repeats; r++)
          for (let k = 0; k < o.precisions.length; k++) {
            const p = o.precisions[(k + r) % o.precisions.length] as FaceResPrecision;
            const run = runners.get(p) as Runner;
            setNumThreads(t);
            for (let i = 0; i < o.warmup; i++) run.step();
            const t0 = performance.now();
            for (let i = 0; i < o.steps; i++) run.step();
            const ips = (o.steps * o.batch) / ((performance.now() - t0) / 1000);
            samples.set(key(w, p, t), [...(samples.get(key(w, p, t)) ?? []), ips]);
            console.log(`  ${w} threads ${t} round ${r + 1}: ${p.padEnd(6)} ${ips.toFixed(1).padStart(8)} images/s`);
          }
    } finally {
      for (const run of runners.values()) run.dispose();
    }
  }
  const med = new Map([...samples].map(([k, v]) => [k, median(v)] as const));
  console.log('\n| workload | threads | ' + o.precisions.map((p) => `${p} img/s`).join(' | ') + ' | ' + o.precisions.filter((p) => p !== 'fp32').map((p) => `${p} / fp32`).join(' | ') + ' |');
  console.log('|---|---|' + o.precisions.map(() => '---|').join('') + o.precisions.filter((p) => p !== 'fp32').map(() => '---|').join(''));
  for (const w of workloads)
    for (const t of o.threads) {
      const v = (p: FaceResPrecision): number => med.get(key(w, p, t)) ?? NaN;
      const ratios = o.precisions.filter((p) => p !== 'fp32').map((p) => `${(v(p) / v('fp32')).toFixed(2)}×`);
      console.log(`| ${w} | ${t} | ${o.precisions.map((p) => v(p).toFixed(1)).join(' | ')} | ${ratios.join(' | ')} |`);
    }
  return med;
}
