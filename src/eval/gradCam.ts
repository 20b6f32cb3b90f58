/**
 * Grad-CAM (Selvaraju et al. 2017) over a net's last conv features: for class c, each feature channel k is
 * weighted by the spatial mean of ∂logit_c/∂A_k, and the map is ReLU(Σ_k α_k A_k). The gradient is taken
 * w.r.t. the features themselves (a detached leaf fed to the classifier head), and parameters get no gradient.
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

export interface GradCam {
  /** Logits and softmax probabilities of the input. */
  logits: Float32Array;
  probs: Float32Array;
  /** Per requested class: the h×w map ReLU(Σ_k α_k A_k), row-major, not normalised. */
  maps: Float32Array[];
  /** Per requested class: the channel weights α_k. */
  weights: Float32Array[];
  height: number;
  width: number;
}

/** Grad-CAM maps of one input [1, C, H, W] for each of `classes` (the net is run in eval mode). */
export function gradCam(cam: CamNet, x: Tensor, classes: readonly number[]): GradCam {
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
          const heat = relu(a.mul(alpha.view([1, channels, 1, 1])).sum(1)); // [1, h, w]
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
