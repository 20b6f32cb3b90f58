/** Plain weight types (PyTorch layouts) and small helpers shared by the layer functions. */

import { ExpnetError } from '../../errors.js';
import type { GraphBuilder } from './graphBuilder.js';

/** A float32 tensor as plain data: row-major values and their shape. */
export interface FloatTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Conv2d parameters: weight OIHW = [outC, inC / group, kH, kW], bias [outC]. */
export interface ConvWeights {
  readonly weight: FloatTensor;
  readonly bias?: FloatTensor;
}

/** nn.Linear parameters: weight [out, in], bias [out]. */
export interface LinearWeights {
  readonly weight: FloatTensor;
  readonly bias?: FloatTensor;
}

/** nn.BatchNorm2d parameters and running statistics, each of length C. */
export interface BatchNormParams {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly runningMean: Float32Array;
  readonly runningVar: Float32Array;
  readonly eps: number;
}

/** Naming shared by every layer function. */
export interface LayerNaming {
  /** Base name: node name, output value name, and prefix of its constants (`<name>.weight`). */
  readonly name?: string;
  /** Output value name, if it must differ from `name` (e.g. a graph output such as 'logits'). */
  readonly output?: string;
}

export type Pair = number | readonly [number, number];
/** Spatial pads: p (all sides), [pH, pW] (symmetric), or [top, left, bottom, right]. */
export type Pads2d = number | readonly [number, number] | readonly [number, number, number, number];

export function bad(message: string): never {
  throw new ExpnetError('BAD_WEIGHTS', message);
}

export function badInput(message: string): never {
  throw new ExpnetError('BAD_INPUT', message);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function checkTensor(t: FloatTensor, rank: number, what: string): void {
  if (t.shape.length !== rank) bad(`${what}: expected rank ${rank}, got shape [${t.shape.join(', ')}]`);
  if (t.data.length !== numel(t.shape)) {
    bad(`${what}: shape [${t.shape.join(', ')}] needs ${numel(t.shape)} values, got ${t.data.length}`);
  }
}

export function checkLength(a: Float32Array, n: number, what: string): void {
  if (a.length !== n) bad(`${what}: expected ${n} values, got ${a.length}`);
}

/** Resolve a layer's base and output names. */
export function layerNames(g: GraphBuilder, naming: LayerNaming, prefix: string): { base: string; out: string } {
  const base = naming.name ?? g.fresh(prefix);
  return { base, out: naming.output ?? base };
}

export function pair(v: Pair, what: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isSafeInteger(x) && x >= 1)) badInput(`${what}: expected positive integers, got ${String(v)}`);
  return p;
}

/** Spatial pads in ONNX order [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right]. */
export function pads4(v: Pads2d): [number, number, number, number] {
  let p: [number, number, number, number];
  if (typeof v === 'number') p = [v, v, v, v];
  else if (v.length === 2) p = [v[0], v[1], v[0], v[1]];
  else p = [v[0], v[1], v[2], v[3]];
  if (!p.every((x) => Number.isSafeInteger(x) && x >= 0)) badInput(`pads: expected non-negative integers, got ${String(v)}`);
  return p;
}
