/**
 * Shared by the face-api.js weight importers: takes tfjs tensors by name (each exactly once, shape-checked),
 * converts them to PyTorch layouts, and fails loudly on anything left over.
 */
import type { Module, RawTensor } from '../engine/module.js';
import type { TfjsTensor, TfjsWeightMap } from '../formats/tfjs/tfjsDecodeWeights.js';
import { denseToLinear, depthwiseToOihw, hwioToOihw, takeWeight } from '../formats/tfjs/tfjsLayout.js';
import { ExpnetError } from '../errors.js';

const raw = (shape: readonly number[], data: Float32Array): RawTensor => ({ dtype: 'float32', shape, data });

/** A state dict under construction from a tfjs weight map; `finish()` checks every tfjs weight was used once. */
export class FaceApiWeightReader {
  readonly state = new Map<string, RawTensor>();
  readonly #used = new Set<string>();

  constructor(readonly map: TfjsWeightMap, readonly source: string) {}

  /** The tfjs tensor `name` (float32), checked against `shape`; a second take of the same name is an error. */
  take(name: string, shape: readonly number[] | null): TfjsTensor & { data: Float32Array } {
    if (this.#used.has(name)) throw new ExpnetError('BAD_WEIGHTS', `${this.source}: weight '${name}' used twice`);
    const t = takeWeight(this.map, name, shape, this.source);
    if (!(t.data instanceof Float32Array)) {
      throw new ExpnetError('BAD_WEIGHTS', `${this.source}: weight '${name}' is int32, expected float32`);
    }
    this.#used.add(name);
    return t as TfjsTensor & { data: Float32Array };
  }

  /**
   * Consumes a graph constant that no forward uses (any dtype), checking its values against `expected`
   * (to 1e-6 relative), so a manifest with different constants is rejected rather than silently ignored.
   */
  constant(name: string, expected: readonly number[]): void {
    if (this.#used.has(name)) throw new ExpnetError('BAD_WEIGHTS', `${this.source}: weight '${name}' used twice`);
    const t = takeWeight(this.map, name, null, this.source);
    this.#used.add(name);
    const ok = t.data.length === expected.length && expected.every((v, i) => Math.abs((t.data[i] ?? NaN) - v) <= 1e-6 * Math.max(1, Math.abs(v)));
    if (!ok) throw new ExpnetError('BAD_WEIGHTS', `${this.source}: constant '${name}' is [${Array.from(t.data).join(', ')}], expected [${expected.join(', ')}]`);
  }

  /** Puts a state-dict entry; each key once. */
  put(key: string, shape: readonly number[], data: Float32Array): void {
    if (this.state.has(key)) throw new ExpnetError('BAD_WEIGHTS', `${this.source}: state entry '${key}' written twice`);
    this.state.set(key, raw(shape, data));
  }

  /** Conv filters HWIO `[kh, kw, in, out]` → `key` (OIHW). */
  conv(key: string, name: string, shape: readonly [number, number, number, number]): void {
    const w = hwioToOihw(this.take(name, shape));
    this.put(key, w.shape, w.data);
  }

  /** Depthwise filters `[kh, kw, C, 1]` → `key` ([C, 1, kh, kw], for groups = C). */
  depthwise(key: string, name: string, shape: readonly [number, number, number, 1]): void {
    const w = depthwiseToOihw(this.take(name, shape));
    this.put(key, w.shape, w.data);
  }

  /** Dense `[in, out]` → Linear weight `[out, in]`. */
  dense(key: string, name: string, shape: readonly [number, number]): void {
    const w = denseToLinear(this.take(name, shape));
    this.put(key, w.shape, w.data);
  }

  /** A vector (bias, BN statistics) as is. */
  vector(key: string, name: string, length: number): void {
    this.put(key, [length], Float32Array.from(this.take(name, [length]).data));
  }

  /** The state dict, after checking that no tfjs weight was left unused. */
  finish(): Map<string, RawTensor> {
    const left = [...this.map.keys()].filter((k) => !this.#used.has(k));
    if (left.length > 0) throw new ExpnetError('BAD_WEIGHTS', `${this.source}: unused weights ${left.join(', ')}`);
    return this.state;
  }
}

/** Loads a state dict into a new net (disposing the net if the weights do not fit) and returns it in eval mode. */
export function withWeights<M extends Module>(net: M, state: ReadonlyMap<string, RawTensor>): M {
  try {
    net.loadStateDict(state);
  } catch (err) {
    net.dispose();
    throw err;
  }
  return net.eval();
}
