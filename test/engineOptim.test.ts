/** Optimisers (vs a hand computation of the update rules), per-group learning rates, clipping, schedules. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  adam, adamw, clipGradNorm, cosineLr, ReduceOnPlateau, sgd, stepLr, tensor, tidy, warmup,
  type Optimizer, type OptimizerKind, type OptimizerOptions, type Tensor,
} from '../src/engine/index.js';

/** Hand implementations of libtorch's update rules (same as PyTorch's) on plain arrays. */
interface HandState { step: number; buf?: number[]; m?: number[]; v?: number[]; vmax?: number[] }
function handStep(kind: OptimizerKind, o: OptimizerOptions, p: number[], g: number[], s: HandState): number[] {
  const lr = o.lr;
  s.step++;
  if (kind === 'sgd') {
    const wd = o.weightDecay ?? 0;
    const mom = o.momentum ?? 0;
    const damp = o.dampening ?? 0;
    const d = g.map((gi, i) => gi + wd * (p[i] as number));
    if (mom === 0) return p.map((pi, i) => pi - lr * (d[i] as number));
    s.buf = s.buf === undefined ? [...d] : s.buf.map((b, i) => mom * b + (1 - damp) * (d[i] as number));
    const buf = s.buf;
    const step = o.nesterov ? d.map((di, i) => di + mom * (buf[i] as number)) : buf;
    return p.map((pi, i) => pi - lr * (step[i] as number));
  }
  const [b1, b2, eps] = [o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.eps ?? 1e-8];
  const wd = o.weightDecay ?? (kind === 'adamw' ? 1e-2 : 0);
  let q = p;
  let grad = g;
  if (kind === 'adamw') q = p.map((pi) => pi * (1 - lr * wd));
  else grad = g.map((gi, i) => gi + wd * (p[i] as number));
  s.m = (s.m ?? grad.map(() => 0)).map((m, i) => b1 * m + (1 - b1) * (grad[i] as number));
  s.v = (s.v ?? grad.map(() => 0)).map((v, i) => b2 * v + (1 - b2) * (grad[i] as number) ** 2);
  const v = o.amsgrad ? (s.vmax = (s.vmax ?? s.v.map(() => 0)).map((x, i) => Math.max(x, s.v?.[i] ?? 0))) : s.v;
  const bc1 = 1 - b1 ** s.step;
  const bc2 = 1 - b2 ** s.step;
  const m = s.m;
  return q.map((qi, i) => qi - (lr / bc1) * ((m[i] as number) / (Math.sqrt(v[i] as number) / Math.sqrt(bc2) + eps)));
}

describe('optimisers match a hand computation for 2 steps', () => {
  const cases: [OptimizerKind, OptimizerOptions][] = [
    ['sgd', { lr: 0.1 }],
    ['sgd', { lr: 0.1, momentum: 0.9 }],
    ['sgd', { lr: 0.1, momentum: 0.9, dampening: 0.3, weightDecay: 0.05 }],
    ['sgd', { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 }],
    ['adam', { lr: 0.1 }],
    ['adam', { lr: 0.05, beta1: 0.8, beta2: 0.9, eps: 1e-6, weightDecay: 0.1 }],
    ['adam', { lr: 0.05, amsgrad: true }],
    ['adamw', { lr: 0.1, weightDecay: 0.1 }],
    ['adamw', { lr: 0.1 }],
  ];
  const c = [0.5, -1.5, 2, 1];
  for (const [kind, o] of cases) {
    it(`${kind} ${JSON.stringify(o)}`, () => {
      const p0 = [1, -2, 0.5, 3];
      const p = tensor(Float64Array.from(p0), [4], { dtype: 'float64', requiresGrad: true });
      const opt = kind === 'sgd' ? sgd([p], o) : kind === 'adam' ? adam([p], o) : adamw([p], o);
      const cw = tensor(Float64Array.from(c), [4], { dtype: 'float64' });
      let want = p0;
      const st: HandState = { step: 0 };
      for (let s = 0; s < 2; s++) {
        // L = sum(c * p^3) / 3 → dL/dp = c * p^2 (a gradient that changes between steps)
        opt.zeroGrad();
        const loss = tidy(() => p.pow(3).mul(cw).sum().div(3));
        loss.backward();
        loss.dispose();
        const g = want.map((pi, i) => (c[i] as number) * pi * pi);
        opt.step();
        want = handStep(kind, o, want, g, st);
        const got = Array.from(p.data() as Float64Array);
        got.forEach((v, i) => assert.ok(Math.abs(v - (want[i] as number)) < 1e-12, `step ${s + 1} [${i}]: ${v} vs ${want[i]}`));
      }
      p.dispose();
      cw.dispose();
    });
  }

  it('per-group learning rates, setLr and scaleLr', () => {
    const a = tensor(Float64Array.from([1, 1]), [2], { dtype: 'float64', requiresGrad: true });
    const b = tensor(Float64Array.from([1, 1]), [2], { dtype: 'float64', requiresGrad: true });
    const opt: Optimizer = sgd([{ params: [a] }, { params: [b], lr: 0.01 }], { lr: 0.1 });
    assert.deepEqual([opt.getLr(0), opt.getLr(1)], [0.1, 0.01]);
    const stepOnce = (): void => {
      opt.zeroGrad();
      const l = tidy(() => a.sum().add(b.sum()));
      l.backward();
      l.dispose();
      opt.step();
    };
    stepOnce();
    assert.deepEqual(Array.from(a.data() as Float64Array), [0.9, 0.9]);
    assert.deepEqual(Array.from(b.data() as Float64Array), [0.99, 0.99]);
    opt.scaleLr(0.5);
    assert.deepEqual([opt.getLr(0), opt.getLr(1)], [0.05, 0.005]);
    opt.setLr(1, 1);
    assert.deepEqual([opt.getLr(0), opt.getLr(1)], [0.05, 1]);
    opt.setLr(0.2);
    assert.deepEqual([opt.getLr(0), opt.getLr(1)], [0.2, 0.2]);
    stepOnce();
    assert.ok(Math.abs((a.data()[0] as number) - 0.7) < 1e-12, `a = ${a.data()[0]}`);
    a.dispose();
    b.dispose();
  });

  it('clipGradNorm scales gradients to the max norm and returns the norm before clipping', () => {
    const a = tensor(Float64Array.from([1, 1]), [2], { dtype: 'float64', requiresGrad: true });
    const b = tensor(Float64Array.from([1]), [1], { dtype: 'float64', requiresGrad: true });
    const l = tidy(() => a.mul(tensor(Float64Array.from([3, 4]), [2], { dtype: 'float64' })).sum().add(b.mul(12).sum()));
    l.backward();
    assert.ok(Math.abs(clipGradNorm([a, b], 100) - 13) < 1e-9, 'a large max norm leaves gradients alone');
    assert.ok(Math.abs(clipGradNorm([a, b], 6.5) - 13) < 1e-9, 'the norm before clipping');
    const ga = a.grad as Tensor;
    const gb = b.grad as Tensor;
    assert.ok(Math.abs((ga.data()[0] as number) - 1.5) < 1e-6 && Math.abs((gb.data()[0] as number) - 6) < 1e-6, 'gradients halved');
    for (const t of [a, b, l, ga, gb]) t.dispose();
  });
});

describe('schedules', () => {
  const near = (got: number, want: number): void => assert.ok(Math.abs(got - want) < 1e-12, `${got} vs ${want}`);
  it('step, cosine and warm-up factors', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 6].map(stepLr(2, 0.5)), [1, 1, 0.5, 0.5, 0.25, 0.125]);
    const cos = cosineLr(4);
    near(cos(0), 1);
    near(cos(1), (1 + Math.cos(Math.PI / 4)) / 2);
    near(cos(2), 0.5);
    near(cos(4), 0);
    near(cos(9), 0);
    near(cosineLr(4, 0.1)(4), 0.1);
    near(cosineLr(4, 0.1)(2), 0.55);
    const w = warmup(4, cosineLr(10), 0.2);
    near(w(0), 0.2);
    near(w(2), 0.6);
    near(w(4), 1);
    near(w(9), (1 + Math.cos(Math.PI / 2)) / 2);
  });

  it('reduce-on-plateau: waits `patience` bad evaluations, then scales; state round-trips', () => {
    const r = new ReduceOnPlateau({ patience: 2, factor: 0.5, minFactor: 0.2 });
    assert.deepEqual([1, 0.9, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8].map((v) => r.observe(v)), [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]);
    const saved = r.state();
    for (let k = 0; k < 3; k++) r.observe(1);
    assert.equal(r.factor, 0.2, 'never below minFactor');
    r.restore(saved);
    assert.deepEqual(r.state(), saved);
    const up = new ReduceOnPlateau({ mode: 'max', patience: 0, factor: 0.1 });
    assert.deepEqual([0.5, 0.6, 0.6].map((v) => up.observe(v)), [1, 1, 0.1]);
  });

  it('a schedule drives the optimiser through scaleLr', () => {
    const p = tensor(Float32Array.from([1]), [1], { requiresGrad: true });
    const opt = sgd([p], { lr: 0.4 });
    const sched = stepLr(1, 0.5);
    const lrs = [0, 1, 2].map((s) => (opt.scaleLr(sched(s)), opt.getLr()));
    assert.deepEqual(lrs, [0.4, 0.2, 0.1]);
    p.dispose();
  });
});
