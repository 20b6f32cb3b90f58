/** Standard layers. Each keeps its hyper-parameters public and readonly (the ONNX exporter reads them). */
import { rand, ones, zeros } from './creation.js';
import * as F from './functional.js';
import { Module } from './module.js';
import { noGrad } from './runtime.js';
import { tidy } from './scope.js';
import type { Tensor } from './tensor.js';

/** U(-bound, bound) with bound = 1/sqrt(fanIn): PyTorch's default for conv and linear layers. */
export function uniformInit(shape: readonly number[], fanIn: number): Tensor {
  const bound = 1 / Math.sqrt(Math.max(1, fanIn));
  return noGrad(() => tidy(() => rand(shape).mul(2 * bound).sub(bound)));
}

export interface Conv2dConfig {
  stride?: F.Pair;
  padding?: F.Pair;
  dilation?: F.Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: Required<Omit<Conv2dConfig, 'bias'>>;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: F.Pair, config: Conv2dConfig = {}) {
    super();
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    const groups = config.groups ?? 1;
    const fanIn = (inChannels / groups) * kh * kw;
    this.options = { stride: config.stride ?? 1, padding: config.padding ?? 0, dilation: config.dilation ?? 1, groups };
    this.weight = this.param('weight', uniformInit([outChannels, inChannels / groups, kh, kw], fanIn));
    this.bias = config.bias === false ? null : this.param('bias', uniformInit([outChannels], fanIn));
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.options);
  }
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  constructor(readonly channels: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super();
    this.weight = this.param('weight', ones([channels]));
    this.bias = this.param('bias', zeros([channels]));
    this.runningMean = this.buffer('running_mean', zeros([channels]));
    this.runningVar = this.buffer('running_var', ones([channels]));
  }
  forward(x: Tensor): Tensor {
    return F.batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    this.weight = this.param('weight', uniformInit([outFeatures, inFeatures], inFeatures));
    this.bias = bias ? this.param('bias', uniformInit([outFeatures], inFeatures)) : null;
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly slope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.leakyRelu(x, this.slope);
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernel: F.Pair, readonly stride: F.Pair = kernel, readonly padding: F.Pair = 0, readonly ceilMode = false) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernel, { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode });
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernel: F.Pair, readonly stride: F.Pair = kernel, readonly padding: F.Pair = 0) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernel, { stride: this.stride, padding: this.padding });
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly size: F.Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.size);
  }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim);
  }
}

/** Children named '0', '1', … applied in order; intermediates are disposed as it goes. */
export class Sequential extends Module {
  readonly layers: readonly Module[];
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => this.child(String(i), m));
    this.layers = layers;
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.layers) {
      const next = layer.forward(h);
      if (h !== x && h !== next) h.dispose(); // a layer may return its input (identity)
      h = next;
    }
    return h;
  }
}
