/**
 * The expression net (student) of FaceNet2ExpNet: 5 conv blocks (3×3 conv [+BN] + ReLU, max-pool after
 * blocks 1–4) whose last conv output is the stage-(a) regression point, then max-pool + FC head (+ dropout).
 */
import { maxPool2d } from '../engine/functional.js';
import { BatchNorm2d, Conv2d, Dropout, Linear, ReLU, Sequential } from '../engine/layers.js';
import { Module } from '../engine/module.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';

export interface ExpNetConfig {
  /** Square input size in pixels. */
  inputSize: number;
  /** 1 = gray, 3 = RGB. */
  inChannels: number;
  /** Output channels of the 5 conv blocks. */
  widths: readonly [number, number, number, number, number];
  batchNorm: boolean;
  /** Hidden FC width (0 = a single linear classifier). */
  fcHidden: number;
  dropout: number;
  numClasses: number;
}

/**
 * Defaults, chosen for a 2-core CPU: 48×48 gray is the native resolution of FER2013 and CK+48 (upsampling adds
 * cost, not information); widths are the paper's 64-128-256-512-512 halved; ~1.6 M parameters.
 */
export const EXPNET_DEFAULTS: Readonly<ExpNetConfig> = Object.freeze({
  inputSize: 48,
  inChannels: 1,
  widths: [32, 64, 128, 256, 256] as const,
  batchNorm: true,
  fcHidden: 256,
  dropout: 0.5,
  numClasses: 7,
});

function block(cIn: number, cOut: number, bn: boolean): Sequential {
  const conv = new Conv2d(cIn, cOut, 3, { padding: 1, bias: !bn });
  return bn ? new Sequential(conv, new BatchNorm2d(cOut), new ReLU()) : new Sequential(conv, new ReLU());
}

export class ExpNet extends Module {
  readonly config: ExpNetConfig;
  readonly blocks: readonly Sequential[];
  readonly head: Sequential;

  constructor(config: Partial<ExpNetConfig> = {}) {
    super();
    const c: ExpNetConfig = { ...EXPNET_DEFAULTS, ...config };
    if (c.inputSize % 16 !== 0 || c.inputSize < 16) {
      throw new ExpnetError('BAD_CONFIG', `expnet inputSize must be a multiple of 16 (4 poolings), got ${c.inputSize}`);
    }
    this.config = c;
    let cin = c.inChannels;
    this.blocks = c.widths.map((w, i) => {
      const b = this.child(`block${i + 1}`, block(cin, w, c.batchNorm));
      cin = w;
      return b;
    });
    const side = Math.ceil(c.inputSize / 32);
    const flat = cin * side * side;
    this.head =
      c.fcHidden > 0
        ? this.child('head', new Sequential(new Linear(flat, c.fcHidden), new ReLU(), new Dropout(c.dropout), new Linear(c.fcHidden, c.numClasses)))
        : this.child('head', new Sequential(new Dropout(c.dropout), new Linear(flat, c.numClasses)));
  }

  /** Shape [C, H, W] of the regression point (the 5th block's output). */
  get featureShape(): [number, number, number] {
    const s = this.config.inputSize / 16;
    return [this.config.widths[4], s, s];
  }

  /** The conv features (stage a's output): [N, C, H/16, W/16]. */
  features(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      this.blocks.forEach((b, i) => {
        h = b.forward(h);
        if (i < 4) h = maxPool2d(h, 2);
      });
      return h;
    });
  }

  /** Logits from the conv features. */
  classify(features: Tensor): Tensor {
    return tidy(() => this.head.forward(maxPool2d(features, 2, { ceilMode: true }).flatten(1)));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.classify(this.features(x)));
  }

  /** The conv blocks' parameters (trained in stage a). */
  convParameters(): Tensor[] {
    return this.blocks.flatMap((b) => b.parameters());
  }
}
