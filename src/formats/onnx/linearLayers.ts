/** Fully connected layers and flattening as ONNX nodes. */

import type { GraphBuilder } from './graphBuilder.js';
import { badInput, checkLength, checkTensor, layerNames, type LayerNaming, type LinearWeights } from './layerCommon.js';

export interface GemmOptions extends LayerNaming {
  readonly alpha?: number;
  readonly beta?: number;
  readonly transA?: boolean;
  readonly transB?: boolean;
}

/** Gemm on existing values: Y = alpha·A'·B' + beta·C (C optional, broadcast). A must be 2-D. */
export function gemm(g: GraphBuilder, a: string, b: string, c: string | undefined, opts: GemmOptions = {}): string {
  const { base, out } = layerNames(g, opts, 'gemm');
  return g.addNode('Gemm', c === undefined ? [a, b] : [a, b, c], [out], {
    alpha: { float: opts.alpha ?? 1 },
    beta: { float: opts.beta ?? 1 },
    transA: { int: opts.transA === true ? 1 : 0 },
    transB: { int: opts.transB === true ? 1 : 0 },
  }, base);
}

/** nn.Linear on a 2-D input [N, in]: Gemm(x, W[out, in], b, transB = 1). */
export function linear(g: GraphBuilder, x: string, w: LinearWeights, opts: LayerNaming = {}): string {
  const { base } = layerNames(g, opts, 'linear');
  checkTensor(w.weight, 2, `linear '${base}' weight [out, in]`);
  const outF = w.weight.shape[0] ?? 0;
  const weight = g.addInitializer(`${base}.weight`, w.weight.shape, w.weight.data);
  let bias: string | undefined;
  if (w.bias !== undefined) {
    checkTensor(w.bias, 1, `linear '${base}' bias`);
    checkLength(w.bias.data, outF, `linear '${base}' bias`);
    bias = g.addInitializer(`${base}.bias`, w.bias.shape, w.bias.data);
  }
  return gemm(g, x, weight, bias, { ...opts, name: base, transB: true });
}

/** Flatten to 2-D: dims before `axis` → rows, the rest → columns (default 1, as torch.flatten(x, 1)). */
export function flatten(g: GraphBuilder, x: string, axis = 1, opts: LayerNaming = {}): string {
  if (!Number.isSafeInteger(axis)) badInput(`flatten: axis must be an integer, got ${axis}`);
  const { base, out } = layerNames(g, opts, 'flatten');
  return g.addNode('Flatten', [x], [out], { axis: { int: axis } }, base);
}
