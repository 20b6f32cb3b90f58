/** Activation functions as ONNX nodes. */

import type { GraphBuilder } from './graphBuilder.js';
import { layerNames, type LayerNaming } from './layerCommon.js';

export function relu(g: GraphBuilder, x: string, opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'relu');
  return g.addNode('Relu', [x], [out], {}, base);
}

/** LeakyRelu; alpha defaults to 0.01 (PyTorch's default). */
export function leakyRelu(g: GraphBuilder, x: string, alpha = 0.01, opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'leakyrelu');
  return g.addNode('LeakyRelu', [x], [out], { alpha: { float: alpha } }, base);
}

/** Clip (opset 11+ form: min and max are scalar float inputs `<name>.min`, `<name>.max`). */
export function clip(g: GraphBuilder, x: string, min: number, max: number, opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'clip');
  const lo = g.addInitializer(`${base}.min`, [], new Float32Array([min]));
  const hi = g.addInitializer(`${base}.max`, [], new Float32Array([max]));
  return g.addNode('Clip', [x, lo, hi], [out], {}, base);
}

/** ReLU6 = Clip(x, 0, 6). */
export function relu6(g: GraphBuilder, x: string, opts: LayerNaming = {}): string {
  return clip(g, x, 0, 6, { ...opts, name: opts.name ?? g.fresh('relu6') });
}

export function sigmoid(g: GraphBuilder, x: string, opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'sigmoid');
  return g.addNode('Sigmoid', [x], [out], {}, base);
}

/** Softmax along one axis (opset 13 semantics); default the last axis. */
export function softmax(g: GraphBuilder, x: string, axis = -1, opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'softmax');
  return g.addNode('Softmax', [x], [out], { axis: { int: axis } }, base);
}
