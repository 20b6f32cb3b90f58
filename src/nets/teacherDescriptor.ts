/**
 * What a training loop needs to know about a teacher net without building it: its name, native input size,
 * the feature names it exposes (in forward order), their shapes, and a factory for a pretrained instance.
 */
import type { Module } from '../engine/module.js';
import type { Tensor } from '../engine/tensor.js';

/** A teacher: a module with named features, each a function of a [N, 3, S, S] RGB batch in [0, 1]. */
export interface FeatureNet<F extends string> extends Module {
  /** Every feature up to `until` (default: the last), in forward order. */
  features(x: Tensor, until?: F): Map<F, Tensor>;
  /** The features after `after` up to `until`, continuing from `h` (the output of `after`). */
  featuresFrom(h: Tensor, after: F, until?: F): Map<F, Tensor>;
  /** One feature, disposing the others. */
  featureAt(x: Tensor, layer: F): Tensor;
}

export interface TeacherDescriptor<F extends string, N extends FeatureNet<F>> {
  readonly name: string;
  /** The side the net was trained at (inputs are resized to it by the caller). */
  readonly inputSize: number;
  /** How the module maps its [0, 1] RGB input, stated for model cards (the module does it itself). */
  readonly normalisation: string;
  /** Feature names in forward order. */
  readonly layers: readonly F[];
  /** Channels of `layer`. */
  channels(layer: F): number;
  /** The feature's shape per image ([C, H, W] for maps, [C] for vectors) at input side `size` (default inputSize). */
  shape(layer: F, size?: number): number[];
  /** A pretrained instance in eval mode (weights read from node_modules unless `modelDir` is given). */
  create(modelDir?: string): Promise<N>;
}
