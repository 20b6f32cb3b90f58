/**
 * Cached feature maps, so frozen parts of a net run once per image rather than once per epoch.
 * Augmentation and caching: a cache holds a fixed set of views per image — view 0 the image itself, view 1
 * its mirror image, views 2… seeded random augmentations (`viewBatch`) — and training draws one view per image
 * per step. Fresh augmentations would need the teacher at every step, so cached stages see only these views
 * (`teacher.views` of the config); stage (b) trains with fresh augmentation every step.
 */
import { tensor } from '../engine/creation.js';
import { noGrad } from '../engine/runtime.js';
import { tidy } from '../engine/scope.js';
import type { Device, Tensor } from '../engine/tensor.js';
import type { Module } from '../engine/module.js';
import type { ImageSet } from './imageSet.js';
import { viewBatch } from './imageSet.js';

export interface FeatureCache {
  /** Images × views × per values. */
  data: Float32Array;
  views: number;
  /** Feature shape [C, H, W] (or [D]). */
  shape: number[];
  per: number;
}

/**
 * Runs `fn` (images [n, C, H, W] on `device` → features) over every image and view (views seeded by `seed`), in
 * eval mode without autograd. The cache itself is host memory (read back from the device batch by batch).
 */
export function buildCache(set: ImageSet, views: number, seed: number, model: Module, fn: (x: Tensor) => Tensor, batchSize = 64, device: Device = 'cpu'): FeatureCache {
  const n = set.y.length;
  model.eval();
  let cache: FeatureCache | null = null;
  noGrad(() => {
    for (let i = 0; i < n; i += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, n - i) }, (_, k) => i + k);
      for (let v = 0; v < views; v++) {
        tidy(() => {
          const f = fn(viewBatch(set, idx, idx.map(() => v), seed, device));
          if (!cache) {
            const shape = f.shape.slice(1);
            const per = shape.reduce((a, b) => a * b, 1);
            cache = { data: new Float32Array(n * views * per), views, shape, per };
          }
          const c: FeatureCache = cache;
          const vals = f.floats();
          idx.forEach((img, k) => c.data.set(vals.subarray(k * c.per, (k + 1) * c.per), (img * views + v) * c.per));
        });
      }
    }
  });
  if (!cache) throw new Error('buildCache: empty image set');
  return cache;
}

/** Features of images `idx`, view `views[k]` for the k-th image, as a [n, ...shape] tensor on `device`. */
export function cachedBatch(c: FeatureCache, idx: readonly number[], views: readonly number[], device: Device = 'cpu'): Tensor {
  const out = new Float32Array(idx.length * c.per);
  idx.forEach((img, k) => {
    const src = (img * c.views + (views[k] ?? 0)) * c.per;
    out.set(c.data.subarray(src, src + c.per), k * c.per);
  });
  return tensor(out, [idx.length, ...c.shape], { device });
}

/** A new cache by mapping every cached entry (sent to `device`) through `fn` (e.g. frozen features → regression targets). */
export function mapCache(c: FeatureCache, n: number, model: Module, fn: (f: Tensor) => Tensor, batchSize = 128, device: Device = 'cpu'): FeatureCache {
  model.eval();
  let out: FeatureCache | null = null;
  noGrad(() => {
    const total = n * c.views;
    for (let i = 0; i < total; i += batchSize) {
      const m = Math.min(batchSize, total - i);
      tidy(() => {
        const f = tensor(c.data.slice(i * c.per, (i + m) * c.per), [m, ...c.shape], { device });
        const g = fn(f);
        if (!out) {
          const shape = g.shape.slice(1);
          const per = shape.reduce((a, b) => a * b, 1);
          out = { data: new Float32Array(total * per), views: c.views, shape, per };
        }
        const o: FeatureCache = out;
        o.data.set(g.floats(), i * o.per);
      });
    }
  });
  if (!out) throw new Error('mapCache: empty cache');
  return out;
}

/** Class probabilities [N × C] of a classifier over inputs produced per batch, in eval mode. */
export function predictProbs(n: number, model: Module, inputs: (idx: number[]) => Tensor, logits: (x: Tensor) => Tensor, batchSize = 256): Float32Array[] {
  model.eval();
  const out: Float32Array[] = [];
  noGrad(() => {
    for (let i = 0; i < n; i += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, n - i) }, (_, k) => i + k);
      tidy(() => {
        const p = logits(inputs(idx)).softmax(1);
        const c = p.shape[1] ?? 0;
        const v = p.floats();
        for (let k = 0; k < idx.length; k++) out.push(v.slice(k * c, (k + 1) * c));
      });
    }
  });
  return out;
}

/** Fraction of rows whose arg-max equals the label. */
export function accuracyOf(probs: readonly Float32Array[], y: Int32Array): number {
  if (probs.length === 0) return 0;
  let ok = 0;
  probs.forEach((p, i) => {
    let best = 0;
    for (let c = 1; c < p.length; c++) if ((p[c] ?? 0) > (p[best] ?? 0)) best = c;
    if (best === y[i]) ok++;
  });
  return ok / probs.length;
}
