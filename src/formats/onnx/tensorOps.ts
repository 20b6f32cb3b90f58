/** Shape, elementwise and resampling ops as ONNX nodes. */

import type { GraphBuilder } from './graphBuilder.js';
import { badInput, checkTensor, layerNames, type FloatTensor, type LayerNaming } from './layerCommon.js';

/** An operand: an existing value name, a float scalar, or a constant float tensor (broadcast by ONNX rules). */
export type Operand = string | number | FloatTensor;

function operand(g: GraphBuilder, v: Operand, base: string, suffix: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return g.addInitializer(`${base}.${suffix}`, [], new Float32Array([v]));
  checkTensor(v, v.shape.length, `'${base}' operand ${suffix}`);
  return g.addInitializer(`${base}.${suffix}`, v.shape, v.data);
}

function binary(op: string, g: GraphBuilder, a: Operand, b: Operand, opts: LayerNaming): string {
  const { base, out } = layerNames(g, opts, op.toLowerCase());
  return g.addNode(op, [operand(g, a, base, 'a'), operand(g, b, base, 'b')], [out], {}, base);
}

export function add(g: GraphBuilder, a: Operand, b: Operand, opts: LayerNaming = {}): string {
  return binary('Add', g, a, b, opts);
}
export function sub(g: GraphBuilder, a: Operand, b: Operand, opts: LayerNaming = {}): string {
  return binary('Sub', g, a, b, opts);
}
export function mul(g: GraphBuilder, a: Operand, b: Operand, opts: LayerNaming = {}): string {
  return binary('Mul', g, a, b, opts);
}
export function div(g: GraphBuilder, a: Operand, b: Operand, opts: LayerNaming = {}): string {
  return binary('Div', g, a, b, opts);
}

/** Reshape to `shape` (int64 constant `<name>.shape`); 0 copies the input dim, -1 is inferred. */
export function reshape(g: GraphBuilder, x: string, shape: readonly number[], opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'reshape');
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= -1) || shape.filter((d) => d === -1).length > 1) {
    badInput(`reshape '${base}': shape entries must be integers ≥ -1 with at most one -1, got [${shape.join(', ')}]`);
  }
  const s = g.addInitializer(`${base}.shape`, [shape.length], shape, { elemType: 'int64' });
  return g.addNode('Reshape', [x, s], [out], {}, base);
}

export function concat(g: GraphBuilder, xs: readonly string[], axis: number, opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'concat');
  if (xs.length === 0) badInput(`concat '${base}': no inputs`);
  return g.addNode('Concat', xs, [out], { axis: { int: axis } }, base);
}

export function transpose(g: GraphBuilder, x: string, perm: readonly number[], opts: LayerNaming = {}): string {
  const { base, out } = layerNames(g, opts, 'transpose');
  const sorted = [...perm].sort((p, q) => p - q);
  if (!sorted.every((p, i) => p === i)) badInput(`transpose '${base}': perm must be a permutation of 0..${perm.length - 1}, got [${perm.join(', ')}]`);
  return g.addNode('Transpose', [x], [out], { perm: { ints: perm } }, base);
}

export type CoordinateTransformationMode = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric';
export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';

export interface ResizeOptions extends LayerNaming {
  /** One scale per input dim, e.g. [1, 1, 2, 2] to double H and W of NCHW; output dim = floor(dim · scale). */
  readonly scales: readonly number[];
  readonly mode: 'nearest' | 'linear';
  /**
   * Defaults match torch.nn.functional.interpolate: nearest → 'asymmetric' with nearestMode 'floor';
   * linear (align_corners=False) → 'pytorch_half_pixel'.
   */
  readonly coordinateTransformationMode?: CoordinateTransformationMode;
  readonly nearestMode?: NearestMode;
}

/** Resize (opset 13 form: inputs X, roi = '', scales = `<name>.scales`). */
export function resize(g: GraphBuilder, x: string, opts: ResizeOptions): string {
  const { base, out } = layerNames(g, opts, 'resize');
  if (!opts.scales.every((s) => Number.isFinite(s) && s > 0)) badInput(`resize '${base}': scales must be positive, got [${opts.scales.join(', ')}]`);
  const nearest = opts.mode === 'nearest';
  const ctm = opts.coordinateTransformationMode ?? (nearest ? 'asymmetric' : 'pytorch_half_pixel');
  const scales = g.addInitializer(`${base}.scales`, [opts.scales.length], new Float32Array(opts.scales));
  const attrs = { mode: opts.mode, coordinate_transformation_mode: ctm, ...(nearest ? { nearest_mode: opts.nearestMode ?? 'floor' } : {}) };
  return g.addNode('Resize', [x, '', scales], [out], attrs, base);
}

export type PadMode = 'constant' | 'reflect' | 'edge';

export interface PadOptions extends LayerNaming {
  /** Default 'constant'. */
  readonly mode?: PadMode;
  /** Fill value for 'constant' mode; default 0. */
  readonly value?: number;
}

/** ONNX pads for NCHW from spatial [top, left, bottom, right]: [0, 0, top, left, 0, 0, bottom, right]. */
export function spatialPads(top: number, left: number, bottom: number, right: number): number[] {
  return [0, 0, top, left, 0, 0, bottom, right];
}

/** Pad (opset 11+ form); `pads` in ONNX order [x1_begin, …, xn_begin, x1_end, …, xn_end], may be negative (crop). */
export function pad(g: GraphBuilder, x: string, pads: readonly number[], opts: PadOptions = {}): string {
  const { base, out } = layerNames(g, opts, 'pad');
  if (pads.length % 2 !== 0 || !pads.every(Number.isSafeInteger)) {
    badInput(`pad '${base}': pads must be 2·rank integers, got [${pads.join(', ')}]`);
  }
  const mode = opts.mode ?? 'constant';
  const inputs = [x, g.addInitializer(`${base}.pads`, [pads.length], pads, { elemType: 'int64' })];
  if (mode === 'constant' && opts.value !== undefined && opts.value !== 0) {
    inputs.push(g.addInitializer(`${base}.value`, [], new Float32Array([opts.value])));
  }
  return g.addNode('Pad', inputs, [out], { mode }, base);
}
