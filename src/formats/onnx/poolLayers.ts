/** Pooling layers as ONNX nodes (NCHW). */

import type { GraphBuilder } from './graphBuilder.js';
import { layerNames, pads4, pair, type LayerNaming, type Pads2d, type Pair } from './layerCommon.js';

export interface PoolOptions extends LayerNaming {
  readonly kernel: Pair;
  /** Default: the kernel size (PyTorch's convention; ONNX's own default would be 1). */
  readonly stride?: Pair;
  /** Default 0; a 4-tuple is [top, left, bottom, right]. */
  readonly pads?: Pads2d;
  /** Default false. */
  readonly ceilMode?: boolean;
}

export interface MaxPoolOptions extends PoolOptions {
  /** Default 1. */
  readonly dilation?: Pair;
}

export interface AveragePoolOptions extends PoolOptions {
  /**
   * Whether padded zeros count in the divisor. Required: PyTorch's AvgPool2d defaults to true, ONNX to false.
   */
  readonly countIncludePad: boolean;
}

function poolAttrs(base: string, opts: PoolOptions): { kernel_shape: { ints: number[] }; strides: { ints: number[] }; pads: { ints: number[] }; ceil_mode: { int: number } } {
  const kernel = pair(opts.kernel, `pool '${base}' kernel`);
  return {
    kernel_shape: { ints: kernel },
    strides: { ints: pair(opts.stride ?? kernel, `pool '${base}' stride`) },
    pads: { ints: pads4(opts.pads ?? 0) },
    ceil_mode: { int: opts.ceilMode === true ? 1 : 0 },
  };
}

/** MaxPool (padding never wins: padded cells count as −∞). */
export function maxPool(g: GraphBuilder, x: string, opts: MaxPoolOptions): string {
  const { base, out } = layerNames(g, opts, 'maxpool');
  const attrs = { ...poolAttrs(base, opts), dilations: { ints: pair(opts.dilation ?? 1, `maxPool '${base}' dilation`) } };
  return g.addNode('MaxPool', [x], [out], attrs, base);
}

export function averagePool(g: GraphBuilder, x: string, opts: AveragePoolOptions): string {
  const { base, out } = layerNames(g, opts, 'avgpool');
  const attrs = { ...poolAttrs(base, opts), count_include_pad: { int: opts.countIncludePad ? 1 : 0 } };
  return g.addNode('AveragePool', [x], [out], attrs, base);
}

/** Mean over H and W, keeping them as size-1 dims: [N, C, H, W] → [N, C, 1, 1]. */
export function globalAveragePool(g: GraphBuilder, x: string, opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'gap');
  return g.addNode('GlobalAveragePool', [x], [out], {}, base);
}
