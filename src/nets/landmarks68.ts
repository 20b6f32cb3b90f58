/**
 * face-api.js's 68-point landmark net (FaceFeatureExtractor: four dense blocks of separable convs, 112×112 RGB
 * → 256 features → 136 values), as expnet modules in NCHW. Also home of the tfjs-'same' conv layers the
 * face-api ports share (see docs/FACEAPI-NETS.md §0: tfjs pads the extra pixel bottom/right).
 */
import { tensor } from '../engine/creation.js';
import { avgPool2d, conv2d, pad, relu } from '../engine/functional.js';
import { Conv2d, Linear } from '../engine/layers.js';
import { Module } from '../engine/module.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';

export const LANDMARKS68_INPUT = 112;
/** face-api's mean RGB (0..255) for the feature extractor; input is `(x − mean) / 255`. */
export const LANDMARKS68_MEAN_RGB = [122.782, 117.001, 104.298] as const;

/** tfjs 'same' padding of one spatial dim: [before, after] (the extra pixel goes after). */
export function tfjsSamePadding(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + kernel - size);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** A Conv2d with tfjs 'same' padding: symmetric pads go to the conv, asymmetric ones to an explicit F.pad. */
export class SameConv2d extends Conv2d {
  constructor(inChannels: number, outChannels: number, kernel: number, config: { stride?: number; groups?: number; bias?: boolean } = {}) {
    super(inChannels, outChannels, kernel, { ...config, padding: 0 });
  }
  override forward(x: Tensor): Tensor {
    const k = this.kernel as number;
    const s = this.options.stride as number;
    const [top, bottom] = tfjsSamePadding(x.shape[2] ?? 0, k, s);
    const [left, right] = tfjsSamePadding(x.shape[3] ?? 0, k, s);
    if (top === bottom && left === right) return conv2d(x, this.weight, this.bias, { ...this.options, padding: [top, left] });
    return tidy(() => conv2d(pad(x, [left, right, top, bottom]), this.weight, this.bias, this.options));
  }
}

/** tfjs `separableConv2d(x, dw, pw, stride, 'same') + bias`: depthwise 3×3, then pointwise 1×1 with the bias. */
export class SeparableConv extends Module {
  readonly depthwise: SameConv2d;
  readonly pointwise: Conv2d;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly stride = 1) {
    super();
    this.depthwise = this.child('depthwise', new SameConv2d(inChannels, inChannels, 3, { stride, groups: inChannels, bias: false }));
    this.pointwise = this.child('pointwise', new Conv2d(inChannels, outChannels, 1));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.pointwise.forward(this.depthwise.forward(x)));
  }
}

/** face-api `denseBlock4`: a stride-2 entry conv and three separable convs with dense (summed) shortcuts. */
export class DenseBlock4 extends Module {
  readonly conv0: SameConv2d | SeparableConv;
  readonly conv1: SeparableConv;
  readonly conv2: SeparableConv;
  readonly conv3: SeparableConv;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly isFirst: boolean) {
    super();
    this.conv0 = this.child('conv0', isFirst ? new SameConv2d(inChannels, outChannels, 3, { stride: 2 }) : new SeparableConv(inChannels, outChannels, 2));
    this.conv1 = this.child('conv1', new SeparableConv(outChannels, outChannels));
    this.conv2 = this.child('conv2', new SeparableConv(outChannels, outChannels));
    this.conv3 = this.child('conv3', new SeparableConv(outChannels, outChannels));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const out1 = relu(this.conv0.forward(x));
      const out2 = this.conv1.forward(out1);
      const out3 = this.conv2.forward(relu(out1.add(out2)));
      const out4 = this.conv3.forward(relu(out1.add(out2.add(out3))));
      return relu(out1.add(out2.add(out3.add(out4))));
    });
  }
}

/** Channel widths of dense0..dense3. */
export const FEATURE_EXTRACTOR_CHANNELS = [32, 64, 128, 256] as const;

/** face-api's FaceFeatureExtractor: [N, 3, 112, 112] RGB in [0, 1] → [N, 256] (after the 7×7 average pool). */
export class FaceFeatureExtractor extends Module {
  readonly blocks: readonly DenseBlock4[];
  readonly #mean: Tensor;
  constructor() {
    super();
    let cin = 3;
    this.blocks = FEATURE_EXTRACTOR_CHANNELS.map((c, i) => {
      const block = this.child(`dense${i}`, new DenseBlock4(cin, c, i === 0));
      cin = c;
      return block;
    });
    this.#mean = this.constant('mean', tensor(LANDMARKS68_MEAN_RGB.map((m) => m / 255), [1, 3, 1, 1])); // moved by to(), not in the state dict
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x.sub(this.#mean);
      for (const block of this.blocks) h = block.forward(h);
      return avgPool2d(h, 7, { stride: 2 }).flatten(1);
    });
  }
}

/**
 * The 68-point landmark net: [N, 3, 112, 112] RGB in [0, 1] (centred-padded, see `src/faces/netInput.ts`) →
 * [N, 136] = x0, y0, x1, y1, … relative to the 112×112 input (map back with `landmarksToCrop`).
 */
export class Landmarks68 extends Module {
  readonly extractor: FaceFeatureExtractor;
  readonly fc: Linear;
  constructor(readonly outFeatures = 136) {
    super();
    this.extractor = this.child('extractor', new FaceFeatureExtractor());
    this.fc = this.child('fc', new Linear(256, outFeatures));
  }
  /** The 256 bottleneck features. */
  features(x: Tensor): Tensor {
    return this.extractor.forward(x);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.fc.forward(this.extractor.forward(x)));
  }
}
