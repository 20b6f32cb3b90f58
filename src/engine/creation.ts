/** Creating tensors: from typed arrays, constants, random values, and by joining tensors. */
import { ExpnetError } from '../errors.js';
import { native, type NativeArray } from './native.js';
import { run, Tensor, type Device, type DType } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

function inferDType(data: NativeArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  return 'uint8';
}

/** A tensor with a copy of `data` (a typed array or plain numbers) in `shape` (default: 1-D). */
export function tensor(data: NativeArray | readonly number[], shape?: readonly number[], options: CreateOptions = {}): Tensor {
  const arr = Array.isArray(data) ? Float32Array.from(data as readonly number[]) : (data as NativeArray);
  const dims = shape ?? [arr.length];
  const dtype = options.dtype ?? inferDType(arr);
  try {
    return new Tensor(native().fromArray(arr, dims, dtype, options.device ?? 'cpu', options.requiresGrad ?? false));
  } catch (err) {
    throw new ExpnetError('BAD_INPUT', `tensor(${dtype}[${dims.join(',')}]): ${(err as Error).message}`, { cause: err });
  }
}

/** Class indices as an int64 tensor. */
export function labels(values: ArrayLike<number>): Tensor {
  return tensor(BigInt64Array.from(Array.from(values, (v) => BigInt(v))), [values.length], { dtype: 'int64' });
}

function withGrad(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

const dt = (o: CreateOptions): [string | null, string | null] => [o.dtype ?? null, o.device ?? null];

export const zeros = (shape: readonly number[], o: CreateOptions = {}): Tensor => withGrad(run('zeros', [], [shape, ...dt(o)]), o);
export const ones = (shape: readonly number[], o: CreateOptions = {}): Tensor => withGrad(run('ones', [], [shape, ...dt(o)]), o);
export const full = (shape: readonly number[], value: number, o: CreateOptions = {}): Tensor =>
  withGrad(run('full', [], [shape, value, ...dt(o)]), o);
/** Uniform [0, 1) from libtorch's generator (seeded by manualSeed). */
export const rand = (shape: readonly number[], o: CreateOptions = {}): Tensor => withGrad(run('rand', [], [shape, ...dt(o)]), o);
/** Standard normal from libtorch's generator (seeded by manualSeed). */
export const randn = (shape: readonly number[], o: CreateOptions = {}): Tensor => withGrad(run('randn', [], [shape, ...dt(o)]), o);
export const randint = (low: number, high: number, shape: readonly number[], o: CreateOptions = {}): Tensor =>
  run('randint', [], [low, high, shape, ...dt(o)]);
export const randperm = (n: number, o: CreateOptions = {}): Tensor => run('randperm', [], [n, ...dt(o)]);
export const arange = (start: number, end: number, step = 1, o: CreateOptions = {}): Tensor =>
  run('arange', [], [start, end, step, ...dt(o)]);
export const eye = (n: number, o: CreateOptions = {}): Tensor => run('eye', [], [n, ...dt(o)]);

export const cat = (tensors: readonly Tensor[], dim = 0): Tensor => run('cat', tensors, [dim]);
export const stack = (tensors: readonly Tensor[], dim = 0): Tensor => run('stack', tensors, [dim]);
export const where = (cond: Tensor, a: Tensor, b: Tensor): Tensor => run('where', [cond, a, b]);
