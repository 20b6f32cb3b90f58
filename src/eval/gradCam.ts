/**
 * Class activation maps from gradients, for class c at a layer with activations A (channels k, positions p):
 * - `gradcam` (Selvaraju et al. 2017): each channel is weighted by the spatial mean of ∂logit_c/∂A_k, and the
 *   map is ReLU(Σ_k α_k A_k). Faithful when the head global-average-pools (the gradient is the same at every
 *   position), which ExpNet's head does not do.
 * - `hirescam` (Draelos & Carin 2020), the default: the map is ReLU(Σ_k ∂logit_c/∂A_k(p) · A_k(p)), the gradient
 *   taken element-wise. It equals Grad-CAM under a global-average-pooling head, and for ExpNet's head (max-pool,
 *   flatten, fully connected: a weight per channel *and position*) it is what the logit adds up: the head is
 *   piecewise linear, so the unrectified map sums to the logit less what the biases after the layer add.
 *   Grad-CAM's spatial mean there mixes positions whose gradients differ in sign (the max-pool passes gradient
 *   to one position per window) and on confident faces gave a map negative everywhere, so all zero after the
 *   ReLU (block 5 of the bundled expnet-mix: the astronaut and every face of a group photo).
 * The gradient is of the logit (never the softmax probability, which saturates) w.r.t. the activations themselves
 * (a detached leaf fed to the rest of the net); parameters get no gradient.
 */
import { maxPool2d, relu } from '../engine/functional.js';
import type { Module } from '../engine/module.js';
import { noGrad } from '../engine/runtime.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import type { ExpNet } from '../nets/expNet.js';

/** A net split at the layer to explain: features [1, C, h, w] and the rest that maps them to logits. */
export interface CamNet {
  /** The module holding every parameter of both parts (switched to eval mode while explaining). */
  model: Module;
  features(x: Tensor): Tensor;
  classify(features: Tensor): Tensor;
}

/** An ExpNet split after conv block `block` (1–5; 5 = the regression point, the paper's high-level layer). */
export function expNetAt(net: ExpNet, block = 5): CamNet {
  if (!Number.isInteger(block) || block < 1 || block > net.blocks.length) throw new ExpnetError('BAD_CONFIG', `Grad-CAM layer: expected block1..block${net.blocks.length}, got block${block}`);
  if (block === net.blocks.length) return { model: net, features: (x) => net.features(x), classify: (f) => net.classify(f) };
  const run = (h: Tensor, from: number, to: number): Tensor => {
    for (let i = from; i < to; i++) {
      h = (net.blocks[i] as Module).forward(h);
      if (i < 4) h = maxPool2d(h, 2);
    }
    return h;
  };
  return {
    model: net,
    features: (x) => tidy(() => (net.blocks.slice(0, block).reduce<Tensor>((h, b, i) => (i > 0 ? b.forward(maxPool2d(h, 2)) : b.forward(h)), x))),
    classify: (f) => tidy(() => net.classify(run(maxPool2d(f, 2), block, net.blocks.length))),
  };
}

export type CamMethod = 'hirescam' | 'gradcam';
export const CAM_METHODS: readonly CamMethod[] = ['hirescam', 'gradcam'];
/** The map method unless one is chosen (see the file's comment for why not plain Grad-CAM). */
export const DEFAULT_CAM_METHOD: CamMethod = 'hirescam';

export interface GradCam {
  /** Logits and softmax probabilities of the input. */
  logits: Float32Array;
  probs: Float32Array;
  /** Per requested class: the h×w map (ReLU(Σ_k α_k A_k) for gradcam, ReLU(Σ_k g_k A_k) for hirescam), row-major, not normalised. */
  maps: Float32Array[];
  /** Per requested class: the channel weights α_k (the spatial mean of the gradient; both methods). */
  weights: Float32Array[];
  height: number;
  width: number;
}

/** Gradient maps of one input [1, C, H, W] for each of `classes` (the net is run in eval mode). */
export function gradCam(cam: CamNet, x: Tensor, classes: readonly number[], method: CamMethod = DEFAULT_CAM_METHOD): GradCam {
  if (x.shape[0] !== 1) throw new ExpnetError('BAD_INPUT', `gradCam: expected one image [1, C, H, W], got shape [${x.shape.join(', ')}]`);
  const net = cam.model;
  const wasTraining = net.training;
  const trainable = net.parameters().filter((p) => p.requiresGrad);
  net.eval();
  for (const p of trainable) p.requiresGrad = false; // no gradient accumulates in the parameters
  try {
    const a = noGrad(() => cam.features(x));
    try {
      const [, channels = 0, height = 0, width = 0] = a.shape;
      const { logits, probs } = tidy(() => {
        const z = noGrad(() => cam.classify(a));
        return { logits: z.floats(), probs: z.softmax(1).floats() };
      });
      const maps: Float32Array[] = [];
      const weights: Float32Array[] = [];
      for (const c of classes) {
        if (!Number.isInteger(c) || c < 0 || c >= logits.length) throw new ExpnetError('BAD_INPUT', `gradCam: class ${c} is not an output index (0..${logits.length - 1})`);
        const r = tidy(() => {
          const leaf = a.detach();
          leaf.requiresGrad = true;
          cam.classify(leaf).narrow(1, c, 1).sum().backward();
          const g = leaf.grad;
          if (!g) throw new ExpnetError('NATIVE', 'gradCam: no gradient reached the features');
          const alpha = g.mean([2, 3]); // [1, C]
          const heat = relu(a.mul(method === 'gradcam' ? alpha.view([1, channels, 1, 1]) : g).sum(1)); // [1, h, w]
          return { map: heat.floats(), alpha: alpha.floats() };
        });
        maps.push(r.map);
        weights.push(r.alpha);
      }
      return { logits, probs, maps, weights, height, width };
    } finally {
      a.dispose();
    }
  } finally {
    for (const p of trainable) p.requiresGrad = true;
    net.train(wasTraining);
  }
}

/** The map scaled to [0, 1] by its maximum (all zeros stay zeros). */
export function normaliseMap(map: Float32Array): Float32Array {
  const m = map.reduce((a, b) => Math.max(a, b), 0);
  return m > 0 ? map.map((v) => v / m) : new Float32Array(map.length);
}
