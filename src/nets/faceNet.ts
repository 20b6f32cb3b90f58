/**
 * The teacher: face-api.js's face-recognition ResNet (dlib-derived, 150×150 RGB → 128-D descriptor), as an
 * expnet module. Every block output is a named feature, the regression targets of FaceNet2ExpNet's stage (a).
 * The tfjs per-channel scale/offset after each conv is folded into the conv at import (same function).
 */
import { avgPool2d, maxPool2d, pad, relu } from '../engine/functional.js';
import { tensor } from '../engine/creation.js';
import { Conv2d, Linear } from '../engine/layers.js';
import { Module } from '../engine/module.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';

/** face-api's mean RGB (0..255); @vladmandic/face-api divides by 255 after subtracting it (pinned by a test). */
export const FACE_NET_MEAN_RGB = [122.782, 117.001, 104.298] as const;
export const FACE_NET_INPUT = 150;

/** conv-ReLU-conv + shortcut; a 'down' block halves the map (3×3 stride 2 'valid') and pools the shortcut. */
export class ResBlock extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly down: boolean) {
    super();
    this.conv1 = this.child('conv1', new Conv2d(inChannels, outChannels, 3, { stride: down ? 2 : 1, padding: down ? 0 : 1 }));
    this.conv2 = this.child('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1 }));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let out = this.conv2.forward(relu(this.conv1.forward(x)));
      if (!this.down) return relu(out.add(x));
      let short = avgPool2d(x, 2);
      const dh = (short.shape[2] ?? 0) - (out.shape[2] ?? 0);
      const dw = (short.shape[3] ?? 0) - (out.shape[3] ?? 0);
      if (dh > 0 || dw > 0) out = pad(out, [0, Math.max(0, dw), 0, Math.max(0, dh)]);
      const dc = this.outChannels - this.inChannels;
      if (dc > 0) short = pad(short, [0, 0, 0, 0, 0, dc]);
      return relu(out.add(short));
    });
  }
}

/** Block names in order, with their (in, out, down) channels; each name is also a feature name. */
export const FACE_NET_BLOCKS: readonly (readonly [string, number, number, boolean])[] = [
  ['conv32_1', 32, 32, false],
  ['conv32_2', 32, 32, false],
  ['conv32_3', 32, 32, false],
  ['conv64_down', 32, 64, true],
  ['conv64_1', 64, 64, false],
  ['conv64_2', 64, 64, false],
  ['conv64_3', 64, 64, false],
  ['conv128_down', 64, 128, true],
  ['conv128_1', 128, 128, false],
  ['conv128_2', 128, 128, false],
  ['conv256_down', 128, 256, true],
  ['conv256_1', 256, 256, false],
  ['conv256_2', 256, 256, false],
  ['conv256_down_out', 256, 256, true],
];

export type FaceNetFeature = 'input' | 'conv32_down' | 'pool' | (typeof FACE_NET_BLOCKS)[number][0] | 'avg' | 'descriptor';

/** Every feature in forward order (the teacher registry's and the fine-tuning classifier's layout). */
export const FACE_NET_FEATURES: readonly FaceNetFeature[] = ['input', 'conv32_down', 'pool', ...FACE_NET_BLOCKS.map(([n]) => n as FaceNetFeature), 'avg', 'descriptor'];

export class FaceNet extends Module {
  readonly stem: Conv2d;
  readonly blocks: readonly ResBlock[];
  readonly fc: Linear;
  readonly #mean: Tensor;

  constructor() {
    super();
    this.stem = this.child('conv32_down', new Conv2d(3, 32, 7, { stride: 2 }));
    this.blocks = FACE_NET_BLOCKS.map(([name, i, o, down]) => this.child(name, new ResBlock(i, o, down)));
    this.fc = this.child('fc', new Linear(256, 128, false));
    this.#mean = this.constant('mean', tensor(FACE_NET_MEAN_RGB.map((m) => m / 255), [1, 3, 1, 1])); // moved by to(), not in the state dict
  }

  /** Every feature up to `until` (default: all), from a [N, 3, 150, 150] RGB batch in [0, 1]. */
  features(x: Tensor, until: FaceNetFeature = 'descriptor'): Map<FaceNetFeature, Tensor> {
    const input = x.sub(this.#mean);
    if (until === 'input') return new Map([['input', input]]);
    let h = relu(this.stem.forward(input));
    const out = new Map<FaceNetFeature, Tensor>([['input', input], ['conv32_down', h]]);
    if (until === 'conv32_down') return out;
    h = maxPool2d(h, 3, { stride: 2 });
    out.set('pool', h);
    if (until === 'pool') return out;
    for (const [k, v] of this.featuresFrom(h, 'pool', until)) out.set(k, v);
    return out;
  }

  /** The features after `after` up to `until`, continuing from `h` (the output of `after`). */
  featuresFrom(h: Tensor, after: FaceNetFeature, until: FaceNetFeature = 'descriptor'): Map<FaceNetFeature, Tensor> {
    const out = new Map<FaceNetFeature, Tensor>();
    const start = after === 'pool' ? 0 : FACE_NET_BLOCKS.findIndex(([n]) => n === after) + 1;
    if (start < 0 || after === 'avg' || after === 'descriptor' || after === 'input' || after === 'conv32_down') {
      throw new ExpnetError('BAD_CONFIG', `face net: cannot continue after '${after}'`);
    }
    for (let i = start; i < this.blocks.length; i++) {
      h = (this.blocks[i] as ResBlock).forward(h);
      const name = FACE_NET_BLOCKS[i]?.[0] as FaceNetFeature;
      out.set(name, h);
      if (name === until) return out;
    }
    h = h.mean([2, 3]);
    out.set('avg', h);
    if (until === 'avg') return out;
    out.set('descriptor', this.fc.forward(h));
    return out;
  }

  /** One feature, disposing the others. */
  featureAt(x: Tensor, layer: FaceNetFeature): Tensor {
    return tidy(() => this.features(x, layer).get(layer) as Tensor);
  }

  /** The 128-D descriptor. */
  forward(x: Tensor): Tensor {
    return this.featureAt(x, 'descriptor');
  }

}
