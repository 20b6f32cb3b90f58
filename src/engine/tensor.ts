/** Tensor: an owned handle to a libtorch tensor, with the ops CNN training needs. */
import { ExpnetError } from '../errors.js';
import { native, type AttrValue, type NativeArray, type NativeTensor } from './native.js';
import { track, type Disposable } from './scope.js';

/** Memory layout of 4-D tensors: NCHW ('contiguous') or NHWC strides ('channelsLast', oneDNN's preferred bf16 layout). */
export type MemoryFormat = 'contiguous' | 'channelsLast';
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8' | 'bool';
/** 'cpu', or 'cuda' / 'cuda:N' when libtorch was built with CUDA. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type TensorData = NativeArray;
type Operand = Tensor | number;

function nativeError(err: unknown): never {
  if (err instanceof Error && !(err instanceof ExpnetError) && !(err instanceof TypeError) && !(err instanceof RangeError)) {
    throw new ExpnetError('NATIVE', err.message, { cause: err });
  }
  throw err;
}

/** Runs one op of the addon's table; returns its single output. */
export function run(name: string, inputs: readonly (Tensor | null)[], attrs?: readonly AttrValue[]): Tensor {
  const out = runMulti(name, inputs, attrs);
  if (out.length !== 1) throw new ExpnetError('NATIVE', `${name} returned ${out.length} tensors, expected 1`);
  return out[0] as Tensor;
}

/** "float32[2,3], none, disposed": the inputs of an op, for error messages (the addon's format). */
function describeInputs(inputs: readonly (Tensor | null)[]): string {
  return inputs.map((t) => (t == null ? 'none' : t.isDisposed ? 'disposed' : `${t.dtype}[${t.shape.join(',')}]`)).join(', ');
}

/** Runs one op of the addon's table; returns all of its outputs. */
export function runMulti(name: string, inputs: readonly (Tensor | null)[], attrs?: readonly AttrValue[]): Tensor[] {
  let out: NativeTensor | NativeTensor[];
  const handles = inputs.map((t, k) => {
    if (t == null) return null;
    if (t.isDisposed) throw new ExpnetError('BAD_INPUT', `${name}: input ${k} was already disposed (inputs: ${describeInputs(inputs)})`);
    return t.handle;
  });
  try {
    out = native().op(name, handles, attrs);
  } catch (err) {
    // Errors raised before the op ran (attributes, input types) do not list the inputs yet.
    if (err instanceof Error && !err.message.includes('(inputs:')) err.message += ` (inputs: ${describeInputs(inputs)})`;
    nativeError(err);
  }
  return Array.isArray(out) ? out.map((h) => new Tensor(h)) : [new Tensor(out)];
}

export class Tensor implements Disposable {
  #handle: NativeTensor | null;
  #shape: readonly number[] | undefined;

  /** Wraps a native handle (owned from now on by this Tensor and the current scope). */
  constructor(handle: NativeTensor) {
    this.#handle = handle;
    track(this);
  }

  get handle(): NativeTensor {
    if (this.#handle === null) throw new ExpnetError('BAD_INPUT', 'this tensor was already disposed');
    return this.#handle;
  }
  get isDisposed(): boolean {
    return this.#handle === null;
  }
  dispose(): void {
    this.#handle?.dispose();
    this.#handle = null;
  }

  get shape(): readonly number[] {
    this.#shape ??= Object.freeze(this.handle.shape());
    return this.#shape;
  }
  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    return this.handle.dtype() as DType;
  }
  get device(): string {
    return this.handle.device();
  }
  get requiresGrad(): boolean {
    return this.handle.requiresGrad();
  }
  set requiresGrad(on: boolean) {
    try {
      this.handle.setRequiresGrad(on);
    } catch (err) {
      nativeError(err);
    }
  }
  /** The accumulated gradient (a new handle on it; dispose it when done), or null. */
  get grad(): Tensor | null {
    const g = this.handle.grad();
    return g === null ? null : new Tensor(g);
  }
  zeroGrad(): void {
    this.handle.zeroGrad();
  }
  backward(grad?: Tensor, retainGraph = false): void {
    try {
      this.handle.backward(grad?.handle ?? null, retainGraph);
    } catch (err) {
      nativeError(err);
    }
  }

  /** A copy of the values as a typed array (int64 → BigInt64Array, bool → Uint8Array of 0/1). */
  data(): TensorData {
    return this.handle.toArray();
  }
  /** float32 values as a Float32Array (converting other dtypes). */
  floats(): Float32Array {
    if (this.dtype === 'float32') return this.data() as Float32Array;
    const t = this.to('float32');
    try {
      return t.data() as Float32Array;
    } finally {
      t.dispose();
    }
  }
  item(): number {
    try {
      return this.handle.item();
    } catch (err) {
      nativeError(err);
    }
  }
  /** Copies values into this tensor in place, without autograd (shapes must match). */
  assign(src: Tensor | TensorData): void {
    try {
      this.handle.copyFrom(src instanceof Tensor ? src.handle : src);
    } catch (err) {
      nativeError(err);
    }
  }

  // ---- arithmetic (a number operand is a scalar) ----
  add(b: Operand): Tensor {
    return typeof b === 'number' ? run('add_scalar', [this], [b]) : run('add', [this, b]);
  }
  sub(b: Operand): Tensor {
    return typeof b === 'number' ? run('sub_scalar', [this], [b]) : run('sub', [this, b]);
  }
  mul(b: Operand): Tensor {
    return typeof b === 'number' ? run('mul_scalar', [this], [b]) : run('mul', [this, b]);
  }
  div(b: Operand): Tensor {
    return typeof b === 'number' ? run('div_scalar', [this], [b]) : run('div', [this, b]);
  }
  pow(b: Operand): Tensor {
    return typeof b === 'number' ? run('pow_scalar', [this], [b]) : run('pow', [this, b]);
  }
  neg(): Tensor { return run('neg', [this]); }
  abs(): Tensor { return run('abs', [this]); }
  exp(): Tensor { return run('exp', [this]); }
  log(): Tensor { return run('log', [this]); }
  sqrt(): Tensor { return run('sqrt', [this]); }
  square(): Tensor { return run('square', [this]); }
  sign(): Tensor { return run('sign', [this]); }
  clamp(min: number | null, max: number | null = null): Tensor { return run('clamp', [this], [min, max]); }
  maximum(b: Tensor): Tensor { return run('maximum', [this, b]); }
  minimum(b: Tensor): Tensor { return run('minimum', [this, b]); }
  matmul(b: Tensor): Tensor { return run('matmul', [this, b]); }
  eq(b: Operand): Tensor { return typeof b === 'number' ? run('eq_scalar', [this], [b]) : run('eq', [this, b]); }
  ne(b: Tensor): Tensor { return run('ne', [this, b]); }
  lt(b: Operand): Tensor { return typeof b === 'number' ? run('lt_scalar', [this], [b]) : run('lt', [this, b]); }
  le(b: Tensor): Tensor { return run('le', [this, b]); }
  gt(b: Operand): Tensor { return typeof b === 'number' ? run('gt_scalar', [this], [b]) : run('gt', [this, b]); }
  ge(b: Tensor): Tensor { return run('ge', [this, b]); }

  // ---- reductions ----
  sum(dims: number | readonly number[] | null = null, keepDim = false): Tensor { return run('sum', [this], [dims, keepDim]); }
  mean(dims: number | readonly number[] | null = null, keepDim = false): Tensor { return run('mean', [this], [dims, keepDim]); }
  var(dims: number | readonly number[] | null = null, keepDim = false, unbiased = true): Tensor {
    return run('var', [this], [dims, keepDim, unbiased]);
  }
  std(dims: number | readonly number[] | null = null, keepDim = false, unbiased = true): Tensor {
    return run('std', [this], [dims, keepDim, unbiased]);
  }
  /** The maximum over all elements. */
  max(): Tensor { return run('max', [this]); }
  min(): Tensor { return run('min', [this]); }
  /** The maximum along `dim`: values and indices. */
  maxAlong(dim: number, keepDim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = runMulti('max', [this], [dim, keepDim]) as [Tensor, Tensor];
    return { values, indices };
  }
  minAlong(dim: number, keepDim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = runMulti('min', [this], [dim, keepDim]) as [Tensor, Tensor];
    return { values, indices };
  }
  argmax(dim: number | null = null, keepDim = false): Tensor { return run('argmax', [this], [dim, keepDim]); }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [values, indices] = runMulti('topk', [this], [k, dim, largest, sorted]) as [Tensor, Tensor];
    return { values, indices };
  }
  softmax(dim: number): Tensor { return run('softmax', [this], [dim]); }
  logSoftmax(dim: number): Tensor { return run('log_softmax', [this], [dim]); }

  // ---- shape ----
  reshape(shape: readonly number[]): Tensor { return run('reshape', [this], [shape]); }
  view(shape: readonly number[]): Tensor { return run('view', [this], [shape]); }
  permute(dims: readonly number[]): Tensor { return run('permute', [this], [dims]); }
  transpose(d0: number, d1: number): Tensor { return run('transpose', [this], [d0, d1]); }
  flatten(start = 0, end = -1): Tensor { return run('flatten', [this], [start, end]); }
  squeeze(dim: number | null = null): Tensor { return run('squeeze', [this], [dim]); }
  unsqueeze(dim: number): Tensor { return run('unsqueeze', [this], [dim]); }
  expand(shape: readonly number[]): Tensor { return run('expand', [this], [shape]); }
  repeat(times: readonly number[]): Tensor { return run('repeat', [this], [times]); }
  /** A copy in `format` (or this tensor's data when already so): 'channelsLast' = NHWC strides for 4-D tensors. */
  contiguous(format: MemoryFormat = 'contiguous'): Tensor { return run('contiguous', [this], [format === 'channelsLast' ? 'channels_last' : 'contiguous']); }
  /** How the elements lie in memory: 'channelsLast' for a 4-D NHWC-strided tensor, else 'contiguous' or 'strided'. */
  get memoryFormat(): MemoryFormat | 'strided' {
    const f = this.handle.memoryFormat();
    return f === 'channels_last' ? 'channelsLast' : f;
  }
  clone(): Tensor { return run('clone', [this]); }
  detach(): Tensor { return run('detach', [this]); }
  /** Elements start..end (exclusive; null = to the end) with a step, along `dim`. */
  slice(dim: number, start: number, end: number | null = null, step = 1): Tensor { return run('slice', [this], [dim, start, end, step]); }
  narrow(dim: number, start: number, length: number): Tensor { return run('narrow', [this], [dim, start, length]); }
  indexSelect(dim: number, index: Tensor): Tensor { return run('index_select', [this, index], [dim]); }
  gather(dim: number, index: Tensor): Tensor { return run('gather', [this, index], [dim]); }
  flip(dims: readonly number[]): Tensor { return run('flip', [this], [dims]); }
  to(dtype: DType | null, device: Device | null = null): Tensor { return run('to', [this], [dtype, device]); }
  oneHot(numClasses: number): Tensor { return run('one_hot', [this], [numClasses]); }
}
