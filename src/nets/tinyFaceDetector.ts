/**
 * face-api.js's tiny face detector (Tiny-YOLOv2 with separable convs), as an expnet module:
 * [N, 3, S, S] RGB in [0, 1] (S a multiple of 32, default 416; bottom/right-padded, see `src/faces/netInput.ts`)
 * → the raw grid [N, 25, S/32, S/32], channel = anchor·5 + (tx, ty, tw, th, to). Decoding (sigmoid/exp,
 * anchors, threshold, NMS) is `decodeTinyFaces` in `src/faces/`. Spec: docs/FACEAPI-NETS.md §3.
 */
import { tensor } from '../engine/creation.js';
import { leakyRelu, maxPool2d, pad } from '../engine/functional.js';
import { Conv2d } from '../engine/layers.js';
import { Module } from '../engine/module.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import { SeparableConv } from './landmarks68.js';

export const TINY_FACE_INPUT = 416;
export const TINY_FACE_MEAN_RGB = [117.001, 114.697, 97.404] as const;
/** Anchor (width, height) in grid cells, in output-channel order. */
export const TINY_FACE_ANCHORS: readonly (readonly [number, number])[] = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];
/** tfjs's float32 0.1 of face-api's `leaky` (relu(x − 0.1x) + 0.1x). */
const LEAKY_SLOPE = 0.10000000149011612;
/** Channels of conv1..conv5 (conv0 is a full 3×3 conv to 16). */
export const TINY_FACE_CHANNELS = [16, 32, 64, 128, 256, 512] as const;

export class TinyFaceDetector extends Module {
  readonly conv0: Conv2d;
  readonly convs: readonly SeparableConv[];
  readonly conv8: Conv2d;
  readonly #mean: Tensor;

  constructor() {
    super();
    this.conv0 = this.child('conv0', new Conv2d(3, 16, 3));
    this.convs = TINY_FACE_CHANNELS.slice(1).map((c, i) => this.child(`conv${i + 1}`, new SeparableConv(TINY_FACE_CHANNELS[i] ?? 0, c)));
    this.conv8 = this.child('conv8', new Conv2d(512, 5 * TINY_FACE_ANCHORS.length, 1));
    this.#mean = this.constant('mean', tensor(TINY_FACE_MEAN_RGB.map((m) => m / 255), [1, 3, 1, 1])); // moved by to(), not in the state dict
  }

  forward(x: Tensor): Tensor {
    const size = x.shape[2] ?? 0;
    if (x.rank !== 4 || x.shape[1] !== 3 || size !== x.shape[3] || size % 32 !== 0 || size === 0) {
      throw new ExpnetError('BAD_INPUT', `tiny face detector: expected [N, 3, S, S] with S a multiple of 32, got [${x.shape.join(', ')}]`);
    }
    return tidy(() => {
      // conv0 is 'valid'; the 2×2 stride-2 'same' pools only pad odd sizes, where ceil mode is the same.
      let h = leakyRelu(this.conv0.forward(x.sub(this.#mean)), LEAKY_SLOPE);
      h = maxPool2d(h, 2, { stride: 2, ceilMode: true });
      this.convs.forEach((conv, i) => {
        h = leakyRelu(conv.forward(h), LEAKY_SLOPE);
        // After conv5: 2×2 stride 1 'same' pads bottom/right by one cell that never wins.
        h = i < 4 ? maxPool2d(h, 2, { stride: 2, ceilMode: true }) : maxPool2d(pad(h, [0, 1, 0, 1], 'constant', -Infinity), 2, { stride: 1 });
      });
      return this.conv8.forward(h);
    });
  }

}
