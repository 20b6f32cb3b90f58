/** Converting tfjs weight layouts to PyTorch's (what expnet modules use). */
import { ExpnetError } from '../../errors.js';
import type { TfjsTensor, TfjsWeightMap } from './tfjsDecodeWeights.js';

/** The named tensor, checked for rank and (optionally) shape; loud when missing. */
export function takeWeight(map: TfjsWeightMap, name: string, shape: readonly number[] | null, source: string): TfjsTensor {
  const t = map.get(name);
  if (!t) throw new ExpnetError('BAD_WEIGHTS', `${source}: weight '${name}' is missing`);
  if (shape && t.shape.join(',') !== shape.join(',')) {
    throw new ExpnetError('BAD_WEIGHTS', `${source}: weight '${name}' has shape [${t.shape}], expected [${shape}]`);
  }
  return t;
}

/** Conv filters HWIO → OIHW. */
export function hwioToOihw(t: TfjsTensor): { shape: [number, number, number, number]; data: Float32Array } {
  const [h, w, i, o] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < i; c++)
        for (let k = 0; k < o; k++) out[((k * i + c) * h + y) * w + x] = t.data[((y * w + x) * i + c) * o + k] as number;
  return { shape: [o, i, h, w], data: out };
}

/** Depthwise filters HWC1 (or HWCM) → PyTorch grouped-conv layout [C*M, 1, H, W]. */
export function depthwiseToOihw(t: TfjsTensor): { shape: [number, number, number, number]; data: Float32Array } {
  const [h, w, c, m] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++)
        for (let k = 0; k < m; k++) out[((ch * m + k) * h + y) * w + x] = t.data[((y * w + x) * c + ch) * m + k] as number;
  return { shape: [c * m, 1, h, w], data: out };
}

/** Dense [in, out] → Linear weight [out, in]. */
export function denseToLinear(t: TfjsTensor): { shape: [number, number]; data: Float32Array } {
  const [i, o] = t.shape as [number, number];
  const out = new Float32Array(t.data.length);
  for (let a = 0; a < i; a++) for (let b = 0; b < o; b++) out[b * i + a] = t.data[a * o + b] as number;
  return { shape: [o, i], data: out };
}
