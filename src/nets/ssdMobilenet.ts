/**
 * face-api.js's SSD MobileNetV1 face detector, as an expnet module: [N, 3, 512, 512] RGB in [0, 1]
 * (bottom/right-padded to a square, see `src/faces/netInput.ts`) → [N, 5118, 5] = the raw box encodings
 * (ty, tx, th, tw) and the face score sigmoid(class 1) per anchor. The anchors are the buffer `anchors`
 * [5118, 4] (ymin, xmin, ymax, xmax); decoding and NMS are `decodeSsdFaces` in `src/faces/`.
 * Spec: docs/FACEAPI-NETS.md §2.
 */
import { cat, zeros } from '../engine/creation.js';
import { relu6, sigmoid } from '../engine/functional.js';
import { BatchNorm2d, Conv2d } from '../engine/layers.js';
import { Module } from '../engine/module.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import { SameConv2d } from './landmarks68.js';

export const SSD_INPUT = 512;
export const SSD_NUM_ANCHORS = 5118;
/** tfjs's float32 1e-3 of face-api's depthwise batch norm. */
export const SSD_BN_EPS = 0.0010000000474974513;
/** MobileNetV1 pairs 1..13: (in, out, depthwise stride). */
export const SSD_MOBILENET_PAIRS: readonly (readonly [number, number, number])[] = [
  [32, 64, 1], [64, 128, 2], [128, 128, 1], [128, 256, 2], [256, 256, 1], [256, 512, 2],
  [512, 512, 1], [512, 512, 1], [512, 512, 1], [512, 512, 1], [512, 512, 1], [512, 1024, 2], [1024, 1024, 1],
];
/** Extra feature layers 0..7: (in, out, kernel, stride). */
export const SSD_EXTRA_LAYERS: readonly (readonly [number, number, number, number])[] = [
  [1024, 256, 1, 1], [256, 512, 3, 2], [512, 128, 1, 1], [128, 256, 3, 2],
  [256, 128, 1, 1], [128, 256, 3, 2], [256, 64, 1, 1], [64, 128, 3, 2],
];
/** Box predictors 0..5: (in channels, anchors per cell). */
export const SSD_BOX_PREDICTORS: readonly (readonly [number, number])[] = [[512, 3], [1024, 6], [512, 6], [256, 6], [256, 6], [128, 6]];

/** Depthwise 3×3 ('same') → batch norm (ε = 1e-3) → ReLU6 → pointwise 1×1 + bias (folded BN) → ReLU6. */
export class MobileNetPair extends Module {
  readonly depthwise: SameConv2d;
  readonly bn: BatchNorm2d;
  readonly pointwise: Conv2d;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly stride: number) {
    super();
    this.depthwise = this.child('depthwise', new SameConv2d(inChannels, inChannels, 3, { stride, groups: inChannels, bias: false }));
    this.bn = this.child('bn', new BatchNorm2d(inChannels, SSD_BN_EPS));
    this.pointwise = this.child('pointwise', new Conv2d(inChannels, outChannels, 1));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => relu6(this.pointwise.forward(relu6(this.bn.forward(this.depthwise.forward(x))))));
  }
}

/** One head: 1×1 convs to anchors·4 box encodings and anchors·3 class logits (no activation). */
export class BoxPredictor extends Module {
  readonly boxEncoding: Conv2d;
  readonly classes: Conv2d;
  constructor(readonly inChannels: number, readonly anchors: number) {
    super();
    this.boxEncoding = this.child('boxEncoding', new Conv2d(inChannels, anchors * 4, 1));
    this.classes = this.child('classes', new Conv2d(inChannels, anchors * 3, 1));
  }
  /** [N, H·W·A, 7]: per anchor (ty, tx, th, tw, 3 class logits), anchors in NHWC order ((row·W + col)·A + a). */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const perAnchor = (y: Tensor, k: number): Tensor => y.permute([0, 2, 3, 1]).reshape([-1, y.shape[2] ?? 0, y.shape[3] ?? 0, this.anchors, k]).flatten(1, 3);
      return cat([perAnchor(this.boxEncoding.forward(x), 4), perAnchor(this.classes.forward(x), 3)], 2);
    });
  }
}

export interface SsdOutputs {
  /** [N, 5118, 4]: raw (ty, tx, th, tw). */
  encodings: Tensor;
  /** [N, 5118]: sigmoid of the face class logit. */
  scores: Tensor;
}

export class SsdMobilenet extends Module {
  readonly conv0: SameConv2d;
  readonly pairs: readonly MobileNetPair[];
  readonly extras: readonly SameConv2d[];
  readonly predictors: readonly BoxPredictor[];
  /** [5118, 4] anchors (ymin, xmin, ymax, xmax) relative to the 512 square (`Output/extra_dim`). */
  readonly anchors: Tensor;

  constructor() {
    super();
    this.conv0 = this.child('conv0', new SameConv2d(3, 32, 3, { stride: 2 }));
    this.pairs = SSD_MOBILENET_PAIRS.map(([i, o, s], k) => this.child(`conv${k + 1}`, new MobileNetPair(i, o, s)));
    this.extras = SSD_EXTRA_LAYERS.map(([i, o, k, s], j) => this.child(`extra${j}`, new SameConv2d(i, o, k, { stride: s })));
    this.predictors = SSD_BOX_PREDICTORS.map(([c, a], k) => this.child(`box${k}`, new BoxPredictor(c, a)));
    this.anchors = this.buffer('anchors', zeros([SSD_NUM_ANCHORS, 4]));
  }

  /** Raw encodings and face scores. */
  outputs(x: Tensor): SsdOutputs {
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] !== SSD_INPUT || x.shape[3] !== SSD_INPUT) {
      throw new ExpnetError('BAD_INPUT', `SSD MobileNetV1: expected [N, 3, 512, 512], got [${x.shape.join(', ')}]`);
    }
    return tidy(() => {
      let h = relu6(this.conv0.forward(x.mul(2).sub(1)));
      let conv11: Tensor | undefined;
      this.pairs.forEach((pair, k) => {
        h = pair.forward(h);
        if (k === 10) conv11 = h;
      });
      const maps = [conv11 as Tensor, h];
      this.extras.forEach((conv, j) => {
        h = relu6(conv.forward(h));
        if (j % 2 === 1) maps.push(h);
      });
      const all = cat(this.predictors.map((p, k) => p.forward(maps[k] as Tensor)), 1);
      return { encodings: all.slice(2, 0, 4), scores: sigmoid(all.slice(2, 5, 6)).squeeze(2) };
    });
  }

  /** [N, 5118, 5]: (ty, tx, th, tw, score) per anchor; one tensor, for tracing and export. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const { encodings, scores } = this.outputs(x);
      return cat([encodings, scores.unsqueeze(2)], 2);
    });
  }
}
