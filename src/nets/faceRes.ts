/**
 * HSE "faceres" (@vladmandic/human's face description net, github.com/HSE-asavchenko/HSE_FaceRec_tf): a
 * MobileNet-v1 (α = 1) trained on VGGFace2 identities, then age/gender heads. Here as an expnet teacher: every
 * conv layer's output (after its ReLU6) is a named feature, then the global average pool `avg` (1024-D, Human's
 * "descriptor") and the `feats` embedding (dense 1024 → 256 + ReLU, the layer the age/gender heads read; the
 * heads themselves are left out). Batch norm is folded into the convs at import, exactly as the tfjs graph has
 * it for the 1×1 and stem convs (`merged_input` + `sub`) and as conv·mul + sub for the depthwise ones.
 *
 * Input: [N, 3, S, S] RGB in [0, 1], S = 224 natively; any S works up to `feats` (all convs are 'same', the
 * pool is global). Normalisation inside the module, as Human's `faceres.enhance` does it: × 255, nothing else
 * (no mean, no std; Human's resize to 224 is the caller's job).
 */
import { relu } from '../engine/functional.js';
import { Conv2d, Linear } from '../engine/layers.js';
import { Module } from '../engine/module.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import { SameConv2d } from './landmarks68.js';

export const FACE_RES_INPUT = 224;
/** Human multiplies its [0, 1] crop by this before the graph. */
export const FACE_RES_SCALE = 255;
/** Stem: 3×3 stride 2, 3 → 32. */
export const FACE_RES_STEM_CHANNELS = 32;
/** MobileNet-v1 pairs 1..13: (in, out, depthwise stride); conv_dw_k is depthwise 3×3, conv_pw_k pointwise 1×1. */
export const FACE_RES_PAIRS: readonly (readonly [number, number, 1 | 2])[] = [
  [32, 64, 1], [64, 128, 2], [128, 128, 1], [128, 256, 2], [256, 256, 1], [256, 512, 2],
  [512, 512, 1], [512, 512, 1], [512, 512, 1], [512, 512, 1], [512, 512, 1], [512, 1024, 2], [1024, 1024, 1],
];
export const FACE_RES_EMBEDDING = 256;

type PairIndex = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13;
export type FaceResConvLayer = 'conv1' | `conv_dw_${PairIndex}` | `conv_pw_${PairIndex}`;
export type FaceResFeature = 'input' | FaceResConvLayer | 'avg' | 'feats';

/** The conv layers in forward order (each is also a top-level child and a feature name). */
export const FACE_RES_CONV_LAYERS: readonly FaceResConvLayer[] = [
  'conv1',
  ...FACE_RES_PAIRS.flatMap((_, k) => [`conv_dw_${k + 1}`, `conv_pw_${k + 1}`] as FaceResConvLayer[]),
];
/** Every feature in forward order. */
export const FACE_RES_FEATURES: readonly FaceResFeature[] = ['input', ...FACE_RES_CONV_LAYERS, 'avg', 'feats'];

/** (in, out, kernel, stride, groups) of a conv layer. */
export function faceResConvSpec(layer: FaceResConvLayer): { inChannels: number; outChannels: number; kernel: 1 | 3; stride: 1 | 2; depthwise: boolean } {
  if (layer === 'conv1') return { inChannels: 3, outChannels: FACE_RES_STEM_CHANNELS, kernel: 3, stride: 2, depthwise: false };
  const k = Number(layer.slice(layer.lastIndexOf('_') + 1));
  const [cin, cout, stride] = FACE_RES_PAIRS[k - 1] ?? [0, 0, 1];
  return layer.startsWith('conv_dw_')
    ? { inChannels: cin, outChannels: cin, kernel: 3, stride, depthwise: true }
    : { inChannels: cin, outChannels: cout, kernel: 1, stride: 1, depthwise: false };
}

/** Channels of a feature. */
export function faceResChannels(layer: FaceResFeature): number {
  if (layer === 'input') return 3;
  if (layer === 'avg') return 1024;
  if (layer === 'feats') return FACE_RES_EMBEDDING;
  return faceResConvSpec(layer).outChannels;
}

/** Per-image shape of a feature at input side `size`: [C, H, W] for maps ('same' stride 2 → ceil(H / 2)), [C] for vectors. */
export function faceResShape(layer: FaceResFeature, size: number = FACE_RES_INPUT): number[] {
  if (layer === 'avg' || layer === 'feats') return [faceResChannels(layer)];
  let s = size;
  if (layer !== 'input') {
    for (const l of FACE_RES_CONV_LAYERS) {
      s = Math.ceil(s / faceResConvSpec(l).stride);
      if (l === layer) break;
    }
  }
  return [faceResChannels(layer), s, s];
}

export class FaceRes extends Module {
  /** conv1, conv_dw_1, conv_pw_1, …, conv_pw_13, in forward order; each a child named after its layer. */
  readonly convs: readonly Conv2d[];
  readonly feats: Linear;

  constructor() {
    super();
    this.convs = FACE_RES_CONV_LAYERS.map((name) => {
      const s = faceResConvSpec(name);
      const conv = s.kernel === 1 ? new Conv2d(s.inChannels, s.outChannels, 1) : new SameConv2d(s.inChannels, s.outChannels, 3, { stride: s.stride, groups: s.depthwise ? s.inChannels : 1 });
      return this.child(name, conv);
    });
    this.feats = this.child('feats', new Linear(1024, FACE_RES_EMBEDDING));
  }

  /** Every feature up to `until` (default: all), from a [N, 3, S, S] RGB batch in [0, 1]. */
  features(x: Tensor, until: FaceResFeature = 'feats'): Map<FaceResFeature, Tensor> {
    if (x.shape.length !== 4 || x.shape[1] !== 3) {
      throw new ExpnetError('BAD_INPUT', `faceres: expected a [N, 3, S, S] RGB batch, got [${x.shape.join(', ')}]`);
    }
    const input = x.mul(FACE_RES_SCALE);
    const out = new Map<FaceResFeature, Tensor>([['input', input]]);
    if (until === 'input') return out;
    for (const [k, v] of this.featuresFrom(input, 'input', until)) out.set(k, v);
    return out;
  }

  /** The features after `after` up to `until`, continuing from `h` (the output of `after`). */
  featuresFrom(h: Tensor, after: FaceResFeature, until: FaceResFeature = 'feats'): Map<FaceResFeature, Tensor> {
    const start = FACE_RES_FEATURES.indexOf(after);
    const end = FACE_RES_FEATURES.indexOf(until);
    if (start < 0 || end <= start) throw new ExpnetError('BAD_CONFIG', `faceres: cannot go from '${after}' to '${until}'`);
    const out = new Map<FaceResFeature, Tensor>();
    for (let i = start + 1; i <= end; i++) {
      const name = FACE_RES_FEATURES[i] as FaceResFeature;
      if (name === 'avg') h = h.mean([2, 3]);
      else if (name === 'feats') h = tidy(() => relu(this.feats.forward(h)));
      else h = tidy(() => (this.convs[i - 1] as Conv2d).forward(h).clamp(0, 6)); // = relu6; libtorch 1.13 has no bf16 CPU backward for relu6
      out.set(name, h);
    }
    return out;
  }

  /** One feature, disposing the others. */
  featureAt(x: Tensor, layer: FaceResFeature): Tensor {
    return tidy(() => this.features(x, layer).get(layer) as Tensor);
  }

  /** The 1024-D pooled descriptor (Human's `global_pooling/Mean`). */
  forward(x: Tensor): Tensor {
    return this.featureAt(x, 'avg');
  }
}
