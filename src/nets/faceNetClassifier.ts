/**
 * A face net fine-tuned on expression labels (the paper's first step, and its "fine-tune" baseline): any registry
 * teacher (src/nets/teachers.ts) up to its last conv feature, global average pooling (`avg`), dropout and a new
 * linear classifier. Layers up to `frozenUntil` stay frozen, so their output can be computed once and cached; layers
 * after `avg` (dlib's descriptor, faceres' embedding) are never used and stay frozen too.
 * The state dict is `net.*` + `head.*` whatever the teacher (checkpoints of dlib runs keep loading).
 */
import { dropout } from '../engine/functional.js';
import { Linear } from '../engine/layers.js';
import { Module } from '../engine/module.js';
import { tidy } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';
import { FACE_NET_FEATURES } from './faceNet.js';
import type { TeacherNet } from './teachers.js';

export interface TeacherLayout {
  /** Feature names in forward order ('input' first, then 'avg'); a top-level child named like a feature produces it. */
  features: readonly string[];
  /** Channels of `avg`. */
  pooled: number;
}

export class FaceNetClassifier extends Module {
  readonly head: Linear;
  readonly net: TeacherNet;
  constructor(net: TeacherNet | Module, readonly numClasses: number, readonly frozenUntil = 'conv256_down', readonly dropoutP = 0.5, readonly layout: TeacherLayout = { features: FACE_NET_FEATURES, pooled: 256 }) {
    super();
    this.net = net as TeacherNet;
    this.child('net', this.net);
    this.head = this.child('head', new Linear(layout.pooled, numClasses));
    const f = layout.features;
    const last = f.indexOf(frozenUntil);
    const avg = f.indexOf('avg');
    if (last <= 0 || last >= avg) throw new ExpnetError('BAD_CONFIG', `teacher: cannot freeze until '${frozenUntil}' (expected one of ${f.slice(1, avg).join(', ')})`);
    const trainable = new Set(f.slice(last + 1, avg));
    this.net.unfreeze();
    for (const [name, p] of this.net.namedParameters()) if (!trainable.has(name.split('.')[0] ?? '')) p.requiresGrad = false;
  }

  /** Logits from the frozen part's output (a cached `frozenUntil` feature map). */
  fromFrozen(h: Tensor): Tensor {
    return tidy(() => {
      const avg = this.net.featuresFrom(h, this.frozenUntil, 'avg').get('avg') as Tensor;
      return this.head.forward(dropout(avg, this.dropoutP, this.training));
    });
  }

  /** A feature of the fine-tuned net from a cached `frozenUntil` map (stage a targets). */
  featureFromFrozen(h: Tensor, layer: string): Tensor {
    return tidy(() => this.net.featuresFrom(h, this.frozenUntil, layer).get(layer) as Tensor);
  }

  /** The frozen part's output for a [N, 3, S, S] batch in [0, 1]. */
  frozen(x: Tensor): Tensor {
    return this.net.featureAt(x, this.frozenUntil);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.fromFrozen(this.frozen(x)));
  }
}
