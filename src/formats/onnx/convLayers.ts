/** Convolution and batch normalisation as ONNX nodes, from PyTorch-layout weights (NCHW input, OIHW weight). */

import type { GraphBuilder } from './graphBuilder.js';
import { foldBatchNorm } from './foldBatchNorm.js';
import {
  bad,
  checkLength,
  checkTensor,
  layerNames,
  pads4,
  pair,
  type BatchNormParams,
  type ConvWeights,
  type LayerNaming,
  type Pads2d,
  type Pair,
} from './layerCommon.js';

export interface Conv2dOptions extends LayerNaming {
  /** Default 1. */
  readonly stride?: Pair;
  /** Default 0. A 4-tuple is [top, left, bottom, right], which is ONNX's [x1_begin, x2_begin, x1_end, x2_end]. */
  readonly pads?: Pads2d;
  /** Default 1. */
  readonly dilation?: Pair;
  /** Default 1; group = C with weight [C, 1, kH, kW] is a depthwise convolution. */
  readonly group?: number;
}

/** Conv (opset 11+) with the weights as initializers `<name>.weight` / `<name>.bias`; returns the output name. */
export function conv2d(g: GraphBuilder, x: string, w: ConvWeights, opts: Conv2dOptions = {}): string {
  const { base, out } = layerNames(g, opts, 'conv');
  checkTensor(w.weight, 4, `conv2d '${base}' weight (OIHW)`);
  const [outC, , kH, kW] = w.weight.shape as [number, number, number, number];
  const group = opts.group ?? 1;
  if (!Number.isSafeInteger(group) || group < 1 || outC % group !== 0) {
    bad(`conv2d '${base}': group must be a positive divisor of ${outC} output channels, got ${group}`);
  }
  const inputs = [x, g.addInitializer(`${base}.weight`, w.weight.shape, w.weight.data)];
  if (w.bias !== undefined) {
    checkTensor(w.bias, 1, `conv2d '${base}' bias`);
    checkLength(w.bias.data, outC, `conv2d '${base}' bias`);
    inputs.push(g.addInitializer(`${base}.bias`, w.bias.shape, w.bias.data));
  }
  return g.addNode(
    'Conv',
    inputs,
    [out],
    {
      kernel_shape: { ints: [kH, kW] },
      strides: { ints: pair(opts.stride ?? 1, `conv2d '${base}' stride`) },
      pads: { ints: pads4(opts.pads ?? 0) },
      dilations: { ints: pair(opts.dilation ?? 1, `conv2d '${base}' dilation`) },
      group: { int: group },
    },
    base,
  );
}

/** Conv followed by an inference-mode BatchNorm, folded into one Conv. */
export function conv2dBn(g: GraphBuilder, x: string, w: ConvWeights, bn: BatchNormParams, opts: Conv2dOptions = {}): string {
  return conv2d(g, x, foldBatchNorm(w, bn), opts);
}

/** Unfolded BatchNormalization (inference mode) over channel axis 1. */
export function batchNorm(g: GraphBuilder, x: string, bn: BatchNormParams, opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'bn');
  const c = bn.weight.length;
  checkLength(bn.bias, c, `batchNorm '${base}' bias`);
  checkLength(bn.runningMean, c, `batchNorm '${base}' runningMean`);
  checkLength(bn.runningVar, c, `batchNorm '${base}' runningVar`);
  const inputs = [
    g.addInitializer(`${base}.weight`, [c], bn.weight),
    g.addInitializer(`${base}.bias`, [c], bn.bias),
    g.addInitializer(`${base}.running_mean`, [c], bn.runningMean),
    g.addInitializer(`${base}.running_var`, [c], bn.runningVar),
  ];
  return g.addNode('BatchNormalization', [x, ...inputs], [out], { epsilon: { float: bn.eps } }, base);
}
