/** Straightforward reference implementations (float64 accumulation) of the ONNX ops the writer emits. */

import type { BatchNormParams, FloatTensor } from '../../src/formats/onnx/index.js';

export type T = FloatTensor;
type Quad = readonly [number, number, number, number];
type Two = readonly [number, number];

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const at = (a: ArrayLike<number>, i: number): number => a[i] ?? Number.NaN;
const dims4 = (x: T): [number, number, number, number] => {
  if (x.shape.length !== 4) throw new Error(`expected NCHW, got [${x.shape.join(', ')}]`);
  return x.shape as unknown as [number, number, number, number];
};

export function tensor(shape: readonly number[], f: (i: number) => number): T {
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = f(i);
  return { data, shape: [...shape] };
}

export function map(x: T, f: (v: number) => number): T {
  return tensor(x.shape, (i) => f(at(x.data, i)));
}

export const relu = (x: T): T => map(x, (v) => Math.max(0, v));
export const leakyRelu = (x: T, alpha: number): T => map(x, (v) => (v >= 0 ? v : alpha * v));
export const clip = (x: T, lo: number, hi: number): T => map(x, (v) => Math.min(hi, Math.max(lo, v)));
export const sigmoid = (x: T): T => map(x, (v) => 1 / (1 + Math.exp(-v)));

export interface ConvRef {
  stride: Two;
  pads: Quad;
  dilation: Two;
  group: number;
}

export function conv2d(x: T, w: T, b: Float32Array | undefined, o: ConvRef): T {
  const [n, c, h, wd] = dims4(x);
  const [oc, icg, kh, kw] = dims4(w);
  const oh = Math.floor((h + o.pads[0] + o.pads[2] - o.dilation[0] * (kh - 1) - 1) / o.stride[0]) + 1;
  const ow = Math.floor((wd + o.pads[1] + o.pads[3] - o.dilation[1] * (kw - 1) - 1) / o.stride[1]) + 1;
  const ocg = oc / o.group;
  if (icg * o.group !== c) throw new Error(`conv: ${c} channels vs weight ${icg}×${o.group}`);
  const out = new Float32Array(n * oc * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let co = 0; co < oc; co++) {
      const gi = Math.floor(co / ocg);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let acc = b === undefined ? 0 : at(b, co);
          for (let ci = 0; ci < icg; ci++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * o.stride[0] - o.pads[0] + ky * o.dilation[0];
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xx * o.stride[1] - o.pads[1] + kx * o.dilation[1];
                if (ix < 0 || ix >= wd) continue;
                const cin = gi * icg + ci;
                acc += at(x.data, ((ni * c + cin) * h + iy) * wd + ix) * at(w.data, ((co * icg + ci) * kh + ky) * kw + kx);
              }
            }
          out[((ni * oc + co) * oh + y) * ow + xx] = acc;
        }
    }
  return { data: out, shape: [n, oc, oh, ow] };
}

export function batchNorm(x: T, bn: BatchNormParams): T {
  const [, c, h, w] = dims4(x);
  return tensor(x.shape, (i) => {
    const ch = Math.floor(i / (h * w)) % c;
    return ((at(x.data, i) - at(bn.runningMean, ch)) / Math.sqrt(at(bn.runningVar, ch) + bn.eps)) * at(bn.weight, ch) + at(bn.bias, ch);
  });
}

export interface PoolRef {
  kernel: Two;
  stride: Two;
  pads: Quad;
  ceilMode: boolean;
  dilation?: Two;
}

function poolOut(inp: number, k: number, s: number, p0: number, p1: number, d: number, ceil: boolean): number {
  const span = inp + p0 + p1 - d * (k - 1) - 1;
  return (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
}

function pool(x: T, o: PoolRef, reduce: (vals: number[], windowInPad: number) => number): T {
  const [n, c, h, w] = dims4(x);
  const [dh, dw] = o.dilation ?? [1, 1];
  const oh = poolOut(h, o.kernel[0], o.stride[0], o.pads[0], o.pads[2], dh, o.ceilMode);
  const ow = poolOut(w, o.kernel[1], o.stride[1], o.pads[1], o.pads[3], dw, o.ceilMode);
  const out = new Float32Array(n * c * oh * ow);
  for (let nc = 0; nc < n * c; nc++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        const vals: number[] = [];
        let inPad = 0;
        for (let ky = 0; ky < o.kernel[0]; ky++)
          for (let kx = 0; kx < o.kernel[1]; kx++) {
            const iy = y * o.stride[0] - o.pads[0] + ky * dh;
            const ix = xx * o.stride[1] - o.pads[1] + kx * dw;
            if (iy < h + o.pads[2] && ix < w + o.pads[3]) inPad++;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) vals.push(at(x.data, (nc * h + iy) * w + ix));
          }
        out[(nc * oh + y) * ow + xx] = reduce(vals, inPad);
      }
  return { data: out, shape: [n, c, oh, ow] };
}

export const maxPool = (x: T, o: PoolRef): T => pool(x, o, (v) => Math.max(...v));

export function avgPool(x: T, o: PoolRef, countIncludePad: boolean): T {
  return pool(x, o, (v, inPad) => v.reduce((a, b) => a + b, 0) / (countIncludePad ? inPad : v.length));
}

export function globalAvgPool(x: T): T {
  const [n, c, h, w] = dims4(x);
  return tensor([n, c, 1, 1], (i) => {
    let s = 0;
    for (let j = 0; j < h * w; j++) s += at(x.data, i * h * w + j);
    return s / (h * w);
  });
}

/** x [N, K] · Wᵀ (W [O, K]) + b. */
export function linear(x: T, w: T, b: Float32Array | undefined): T {
  const [n, k] = x.shape as [number, number];
  const [o] = w.shape as [number, number];
  return tensor([n, o], (i) => {
    const r = Math.floor(i / o);
    const col = i % o;
    let s = b === undefined ? 0 : at(b, col);
    for (let j = 0; j < k; j++) s += at(x.data, r * k + j) * at(w.data, col * k + j);
    return s;
  });
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = (s[i + 1] ?? 1) * (shape[i + 1] ?? 1);
  return s;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx: number[] = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] ?? 1;
    idx[d] = i % n;
    i = Math.floor(i / n);
  }
  return idx;
}

export function softmax(x: T, axis: number): T {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const st = strides(x.shape)[ax] ?? 1;
  const len = x.shape[ax] ?? 1;
  return tensor(x.shape, (i) => {
    const pos = Math.floor(i / st) % len;
    const base = i - pos * st;
    let m = -Infinity;
    for (let j = 0; j < len; j++) m = Math.max(m, at(x.data, base + j * st));
    let s = 0;
    for (let j = 0; j < len; j++) s += Math.exp(at(x.data, base + j * st) - m);
    return Math.exp(at(x.data, i) - m) / s;
  });
}

/** NumPy-style broadcasting binary op. */
export function binary(a: T, b: T, f: (p: number, q: number) => number): T {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array<number>(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => Math.max(d, pb[i] ?? 1));
  const sa = strides(pa);
  const sb = strides(pb);
  return tensor(shape, (i) => {
    const idx = unravel(i, shape);
    let ia = 0;
    let ib = 0;
    idx.forEach((v, d) => {
      ia += (pa[d] === 1 ? 0 : v) * (sa[d] ?? 0);
      ib += (pb[d] === 1 ? 0 : v) * (sb[d] ?? 0);
    });
    return f(at(a.data, ia), at(b.data, ib));
  });
}

export function transpose(x: T, perm: readonly number[]): T {
  const shape = perm.map((p) => x.shape[p] ?? 1);
  const sx = strides(x.shape);
  return tensor(shape, (i) => {
    const idx = unravel(i, shape);
    return at(x.data, idx.reduce((acc, v, d) => acc + v * (sx[perm[d] ?? 0] ?? 0), 0));
  });
}

export function concat(xs: readonly T[], axis: number): T {
  const first = xs[0];
  if (first === undefined) throw new Error('concat of nothing');
  const ax = axis < 0 ? axis + first.shape.length : axis;
  const shape = [...first.shape];
  shape[ax] = xs.reduce((s, t) => s + (t.shape[ax] ?? 0), 0);
  return tensor(shape, (i) => {
    const idx = unravel(i, shape);
    let k = idx[ax] ?? 0;
    for (const t of xs) {
      const len = t.shape[ax] ?? 0;
      if (k < len) {
        idx[ax] = k;
        return at(t.data, idx.reduce((acc, v, d) => acc + v * (strides(t.shape)[d] ?? 0), 0));
      }
      k -= len;
    }
    return Number.NaN;
  });
}

export type PadMode = 'constant' | 'reflect' | 'edge';

/** Pad with ONNX-ordered pads [b0..bn-1, e0..en-1] (non-negative). */
export function pad(x: T, pads: readonly number[], mode: PadMode, value: number): T {
  const r = x.shape.length;
  const shape = x.shape.map((d, i) => d + (pads[i] ?? 0) + (pads[i + r] ?? 0));
  const sx = strides(x.shape);
  return tensor(shape, (i) => {
    const idx = unravel(i, shape);
    let off = 0;
    for (let d = 0; d < r; d++) {
      const n = x.shape[d] ?? 1;
      let v = (idx[d] ?? 0) - (pads[d] ?? 0);
      if (v < 0 || v >= n) {
        if (mode === 'constant') return value;
        if (mode === 'edge') v = Math.min(n - 1, Math.max(0, v));
        else v = v < 0 ? -v : 2 * (n - 1) - v;
      }
      off += v * (sx[d] ?? 0);
    }
    return at(x.data, off);
  });
}

/** Resize H, W of NCHW by scales: nearest (asymmetric, floor) or linear (pytorch_half_pixel). */
export function resize(x: T, sh: number, sw: number, mode: 'nearest' | 'linear'): T {
  const [n, c, h, w] = dims4(x);
  const oh = Math.floor(h * sh);
  const ow = Math.floor(w * sw);
  const src = (o: number, scale: number, len: number, outLen: number): number =>
    mode === 'nearest' ? Math.min(Math.floor(o / scale), len - 1) : outLen > 1 ? Math.min(Math.max((o + 0.5) / scale - 0.5, 0), len - 1) : 0;
  return tensor([n, c, oh, ow], (i) => {
    const xx = i % ow;
    const y = Math.floor(i / ow) % oh;
    const nc = Math.floor(i / (ow * oh));
    const fy = src(y, sh, h, oh);
    const fx = src(xx, sw, w, ow);
    const px = (yy: number, xv: number): number => at(x.data, (nc * h + yy) * w + xv);
    if (mode === 'nearest') return px(fy, fx);
    const y0 = Math.floor(fy);
    const x0 = Math.floor(fx);
    const y1 = Math.min(y0 + 1, h - 1);
    const x1 = Math.min(x0 + 1, w - 1);
    const ly = fy - y0;
    const lx = fx - x0;
    return (px(y0, x0) * (1 - lx) + px(y0, x1) * lx) * (1 - ly) + (px(y1, x0) * (1 - lx) + px(y1, x1) * lx) * ly;
  });
}
