/**
 * Gradient checks against central finite differences, in float64 (like torch.autograd.gradcheck):
 * L = sum(fn(inputs) * r) for a fixed random r; the analytic dL/dx from backward() must match
 * (L(x + eps) - L(x - eps)) / 2eps for every element of every checked input.
 */
import { noGrad, tensor, tidy, type Tensor } from '../../src/engine/index.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Indices of the inputs to check (default: every float64 input). */
  wrt?: readonly number[];
  /** Called before every evaluation of fn, e.g. manualSeed(…) so a dropout mask is the same each time. */
  before?: () => void;
}

export interface GradcheckResult {
  /** Elements compared. */
  checked: number;
  /** The largest |analytic - numeric|. */
  maxAbsErr: number;
  /** One line per mismatching element (at most 10). */
  failures: string[];
}

/** A deterministic pseudo-random generator (mulberry32) in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Evaluates fn at the given values of the checked inputs and returns sum(fn(...) * r). */
function lossAt(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], values: Map<number, Float64Array>, r: Float64Array, before?: () => void): number {
  return noGrad(() =>
    tidy(() => {
      before?.();
      const xs = inputs.map((t, i) => {
        const v = values.get(i);
        return v === undefined ? t : tensor(v, t.shape, { dtype: 'float64' });
      });
      const y = fn(...xs);
      return y.mul(tensor(r, y.shape, { dtype: 'float64' })).sum().item();
    }),
  );
}

/**
 * Checks fn's gradients. The inputs are not modified; the caller still owns (and disposes) them.
 * Throws if an output is not float64 or a checked input gets no gradient.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], o: GradcheckOptions = {}): GradcheckResult {
  const eps = o.eps ?? 1e-6;
  const atol = o.atol ?? 1e-5;
  const rtol = o.rtol ?? 1e-3;
  const wrt = o.wrt ?? inputs.flatMap((t, i) => (t.dtype === 'float64' ? [i] : []));
  if (wrt.length === 0) throw new Error('gradcheck: nothing to check (no float64 input)');
  const values = new Map<number, Float64Array>();
  for (const i of wrt) {
    const t = inputs[i];
    if (t?.dtype !== 'float64') throw new Error(`gradcheck: input ${i} must be float64, got ${t?.dtype}`);
    values.set(i, t.data() as Float64Array);
  }

  // Analytic gradients.
  const rand = seededRandom(1234);
  let r = new Float64Array(0);
  const analytic = tidy(() => {
    o.before?.();
    const xs = inputs.map((t, i) => {
      const v = values.get(i);
      return v === undefined ? t : tensor(v, t.shape, { dtype: 'float64', requiresGrad: true });
    });
    const y = fn(...xs);
    if (y.dtype !== 'float64') throw new Error(`gradcheck: the output must be float64, got ${y.dtype}`);
    r = Float64Array.from({ length: numel(y.shape) }, () => rand() * 2 - 1);
    y.mul(tensor(r, y.shape, { dtype: 'float64' })).sum().backward();
    const grads = new Map<number, Float64Array>();
    for (const i of wrt) {
      const g = xs[i]?.grad ?? null;
      if (g === null) throw new Error(`gradcheck: input ${i} received no gradient`);
      grads.set(i, g.data() as Float64Array);
    }
    return grads;
  });

  // Numeric gradients, one element at a time.
  const result: GradcheckResult = { checked: 0, maxAbsErr: 0, failures: [] };
  for (const i of wrt) {
    const v = values.get(i) as Float64Array;
    const a = analytic.get(i) as Float64Array;
    for (let j = 0; j < v.length; j++) {
      const keep = v[j] as number;
      v[j] = keep + eps;
      const plus = lossAt(fn, inputs, values, r, o.before);
      v[j] = keep - eps;
      const minus = lossAt(fn, inputs, values, r, o.before);
      v[j] = keep;
      const numeric = (plus - minus) / (2 * eps);
      const got = a[j] as number;
      const err = Math.abs(got - numeric);
      result.checked++;
      result.maxAbsErr = Math.max(result.maxAbsErr, err);
      if (!(err <= atol + rtol * Math.abs(numeric)) && result.failures.length < 10) {
        result.failures.push(`input ${i}[${j}]: analytic ${got}, numeric ${numeric}`);
      }
    }
  }
  return result;
}

/** Values from a seeded generator in [lo, hi), pushed at least `margin` away from each kink (e.g. 0 for relu). */
export function sample(rand: () => number, n: number, lo = -1, hi = 1, kinks: readonly number[] = [], margin = 0.05): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let v = lo + (hi - lo) * rand();
    for (const c of kinks) if (Math.abs(v - c) < margin) v = c + (v < c ? -margin : margin);
    out[k] = v;
  }
  return out;
}
