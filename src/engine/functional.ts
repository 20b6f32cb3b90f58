/** Neural-network functions over tensors (PyTorch's torch.nn.functional, the parts expnet uses). */
import { run, type Tensor } from './tensor.js';

export type Pair = number | readonly [number, number];
const pair = (v: Pair): readonly number[] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** groups = in channels (= out channels / multiplier) gives a depthwise conv. */
  groups?: number;
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return run('conv2d', [x, weight, bias], [pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1]);
}

/** Depthwise conv (one filter per channel) followed by a 1x1 pointwise conv. */
export function separableConv2d(x: Tensor, depthwise: Tensor, pointwise: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  const channels = x.shape[1] ?? 0;
  const d = conv2d(x, depthwise, null, { ...o, groups: channels });
  try {
    return conv2d(d, pointwise, bias);
  } finally {
    d.dispose();
  }
}

export const linear = (x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor => run('linear', [x, weight, bias]);

export interface BatchNormOptions {
  training: boolean;
  momentum?: number;
  eps?: number;
}
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  o: BatchNormOptions,
): Tensor {
  return run('batch_norm', [x, weight, bias, runningMean, runningVar], [o.training, o.momentum ?? 0.1, o.eps ?? 1e-5]);
}

export const relu = (x: Tensor): Tensor => run('relu', [x]);
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => run('leaky_relu', [x], [slope]);
export const relu6 = (x: Tensor): Tensor => run('relu6', [x]);
export const sigmoid = (x: Tensor): Tensor => run('sigmoid', [x]);
export const tanh = (x: Tensor): Tensor => run('tanh', [x]);
export const gelu = (x: Tensor): Tensor => run('gelu', [x]);
export const softmax = (x: Tensor, dim = -1): Tensor => run('softmax', [x], [dim]);
export const logSoftmax = (x: Tensor, dim = -1): Tensor => run('log_softmax', [x], [dim]);

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}
export const maxPool2d = (x: Tensor, kernel: Pair, o: PoolOptions & { dilation?: Pair } = {}): Tensor =>
  run('max_pool2d', [x], [pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.ceilMode ?? false]);
export const avgPool2d = (x: Tensor, kernel: Pair, o: PoolOptions & { countIncludePad?: boolean } = {}): Tensor =>
  run('avg_pool2d', [x], [pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), o.ceilMode ?? false, o.countIncludePad ?? true]);
export const adaptiveAvgPool2d = (x: Tensor, size: Pair): Tensor => run('adaptive_avg_pool2d', [x], [pair(size)]);
export const adaptiveMaxPool2d = (x: Tensor, size: Pair): Tensor => run('adaptive_max_pool2d', [x], [pair(size)]);
export const dropout = (x: Tensor, p: number, training: boolean): Tensor => run('dropout', [x], [p, training]);
export const dropout2d = (x: Tensor, p: number, training: boolean): Tensor => run('dropout2d', [x], [p, training]);

export type Reduction = 'mean' | 'sum' | 'none';
export interface CrossEntropyOptions {
  weight?: Tensor;
  reduction?: Reduction;
  labelSmoothing?: number;
  ignoreIndex?: number;
}
/** Softmax cross-entropy of logits [N, C] against int64 class indices [N] (or class probabilities [N, C]). */
export const crossEntropy = (logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor =>
  run('cross_entropy', [logits, target, o.weight ?? null], [o.reduction ?? 'mean', o.labelSmoothing ?? 0, o.ignoreIndex ?? -100]);
export const mseLoss = (a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor => run('mse_loss', [a, b], [reduction]);
export const l1Loss = (a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor => run('l1_loss', [a, b], [reduction]);
export const smoothL1Loss = (a: Tensor, b: Tensor, reduction: Reduction = 'mean', beta = 1): Tensor =>
  run('smooth_l1_loss', [a, b], [reduction, beta]);

export interface InterpolateOptions {
  size?: Pair;
  scaleFactor?: number;
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}
export const interpolate = (x: Tensor, o: InterpolateOptions): Tensor =>
  run('interpolate', [x], [o.size === undefined ? null : pair(o.size), o.scaleFactor ?? null, o.mode ?? 'nearest', o.alignCorners ?? false]);

/** Pads the last dims: [left, right, top, bottom, ...] as torch.nn.functional.pad. */
export const pad = (x: Tensor, pads: readonly number[], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor =>
  run('pad', [x], [pads, mode, value]);

/** Sampling grid [N, H, W, 2] for affine matrices theta [N, 2, 3] (normalised coordinates, as PyTorch). */
export const affineGrid = (theta: Tensor, size: readonly [number, number, number, number], alignCorners = false): Tensor =>
  run('affine_grid', [theta], [size, alignCorners]);
export const gridSample = (
  x: Tensor,
  grid: Tensor,
  mode: 'bilinear' | 'nearest' | 'bicubic' = 'bilinear',
  padding: 'zeros' | 'border' | 'reflection' = 'zeros',
  alignCorners = false,
): Tensor => run('grid_sample', [x, grid], [mode, padding, alignCorners]);
