/**
 * The face net fine-tuned on expression labels (the paper's first step, and its "fine-tune" baseline): the
 * pretrained ResNet up to its last conv block, global average pooling, dropout and a new linear classifier.
 * Blocks up to `frozenUntil` stay frozen, so their output can be computed once and cached.
 */
import { dropout } from '../engine/functional.js';
import { Linear } from '../engine/layers.js';
import { Module } from '../engine/module.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { FACE_NET_BLOCKS, type FaceNet, type FaceNetFeature } from './faceNet.js';

export class FaceNetClassifier extends Module {
  readonly head: Linear;
  constructor(readonly net: FaceNet, readonly numClasses: number, readonly frozenUntil: FaceNetFeature = 'conv256_down', readonly dropoutP = 0.5) {
    super();
    this.child('net', net);
    this.head = this.child('head', new Linear(256, numClasses));
    net.unfreeze();
    const frozen = new Set<string>(['conv32_down']);
    for (const [name] of FACE_NET_BLOCKS) {
      frozen.add(name);
      if (name === frozenUntil) break;
    }
    for (const [name, p] of net.namedParameters()) if (frozen.has(name.split('.')[0] ?? '')) p.requiresGrad = false;
    net.fc.freeze();
  }

  /** Logits from the frozen part's output (a cached `frozenUntil` feature map). */
  fromFrozen(h: Tensor): Tensor {
    return tidy(() => {
      const avg = this.net.featuresFrom(h, this.frozenUntil, 'avg').get('avg') as Tensor;
      return this.head.forward(dropout(avg, this.dropoutP, this.training));
    });
  }

  /** A feature of the fine-tuned net from a cached `frozenUntil` map (stage a targets). */
  featureFromFrozen(h: Tensor, layer: FaceNetFeature): Tensor {
    return tidy(() => this.net.featuresFrom(h, this.frozenUntil, layer).get(layer) as Tensor);
  }

  /** The frozen part's output for a [N, 3, 150, 150] batch in [0, 1]. */
  frozen(x: Tensor): Tensor {
    return this.net.featureAt(x, this.frozenUntil);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.fromFrozen(this.frozen(x)));
  }
}
