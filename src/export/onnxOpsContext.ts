/**
 * The per-step view an op emitter gets while the exporter turns a traced program into ONNX nodes: value names
 * of its inputs (initializers are created on first use, named after the module's parameters), traced shapes at
 * both batch sizes, output naming, and small node-building helpers.
 */
import type { AttrValue as EngineAttr, NativeArray, ProgramRef, ProgramStep } from '../engine/native.js';
import { ExpnetError } from '../errors.js';
import type { AttrValue, GraphBuilder } from '../formats/onnx/graphBuilder.js';
import type { ElemType } from '../formats/onnx/onnxTypes.js';
import type { ExportTrace, TracedSlot } from './onnxOpsTrace.js';

/** ONNX TensorProto data types of the engine's dtypes. */
export const ONNX_DTYPE: Readonly<Record<string, number>> = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };

const INITIALIZER_TYPES: Readonly<Record<string, ElemType>> = { float32: 'float32', int64: 'int64', int32: 'int32' };
export const INT64_MAX = 9223372036854775807n;

/** Shared state of one export: the graph, the trace, and the value name of every slot emitted so far. */
export class ExportState {
  readonly names = new Map<number, string>();
  readonly constNames = new Map<number, string>();
  /** Graph output name per slot (the first output using the slot). */
  readonly outputSlots = new Map<number, string>();
  constructor(
    readonly g: GraphBuilder,
    readonly trace: ExportTrace,
    readonly opset: number,
  ) {}

  slot(index: number): TracedSlot {
    const s = this.trace.slots[index];
    if (s === undefined) throw new ExpnetError('BAD_MODEL', `exportOnnx: internal: slot ${index} was never produced`);
    return s;
  }

  /** Value name of a slot: graph input, parameter initializer, folded constant or an earlier node's output. */
  slotValue(index: number): string {
    const known = this.names.get(index);
    if (known !== undefined) return known;
    const s = this.slot(index);
    if (s.source.kind === 'param') {
      const name = this.initializer(s.source.name, s.shape, s.source.tensor.data(), s.dtype, `parameter '${s.source.name}'`);
      this.names.set(index, name);
      return name;
    }
    if (s.source.kind === 'const') {
      const name = this.initializer(this.g.fresh(`const_${index}`), s.shape, s.source.data, s.dtype, `constant value (slot ${index})`);
      this.names.set(index, name);
      return name;
    }
    throw new ExpnetError('BAD_MODEL', `exportOnnx: internal: slot ${index} is used before the node producing it`);
  }

  constValue(index: number, hint: string): string {
    const known = this.constNames.get(index);
    if (known !== undefined) return known;
    const c = this.trace.consts[index];
    if (c === undefined) throw new ExpnetError('BAD_MODEL', `exportOnnx: internal: no captured constant ${index}`);
    const name = this.initializer(this.g.fresh(hint), c.shape, c.data, c.dtype, `captured constant '${hint}'`);
    this.constNames.set(index, name);
    return name;
  }

  initializer(name: string, shape: readonly number[], data: NativeArray, dtype: string, what: string): string {
    const elemType = INITIALIZER_TYPES[dtype];
    if (elemType === undefined) {
      throw new ExpnetError('BAD_MODEL', `exportOnnx: ${what} has dtype ${dtype}; initializers can be float32, int32 or int64`);
    }
    return this.g.addInitializer(name, shape, data as Float32Array | Int32Array | BigInt64Array, { elemType });
  }
}

/** What an op emitter sees of one traced step. */
export class OpContext {
  readonly op: string;
  readonly attrs: readonly EngineAttr[];
  readonly attrsVary: boolean;
  readonly g: GraphBuilder;
  readonly opset: number;
  readonly base: string;

  constructor(
    readonly state: ExportState,
    readonly step: ProgramStep,
    readonly index: number,
    base: string,
    /** The nearest named layer at or before this step, for messages. */
    readonly near: string = base,
  ) {
    this.op = step.op;
    this.attrs = step.attrs;
    this.attrsVary = state.trace.attrsVary[index] ?? false;
    this.g = state.g;
    this.opset = state.opset;
    this.base = base;
  }

  get numInputs(): number {
    return this.step.inputs.length;
  }
  ref(k: number): ProgramRef | null {
    return this.step.inputs[k] ?? null;
  }
  has(k: number): boolean {
    return this.ref(k) !== null;
  }
  /** The value name of input k (roles name anonymous captured constants, e.g. 'weight'). */
  in(k: number, role = `in${k}`): string {
    const r = this.ref(k);
    if (r === null) this.fail(`input ${k} is missing`);
    return r.kind === 'slot' ? this.state.slotValue(r.index) : this.state.constValue(r.index, `${this.base}.${role}`);
  }
  #info(k: number): { shape: readonly number[]; shape2: readonly number[] | undefined; dtype: string } {
    const r = this.ref(k);
    if (r === null) this.fail(`input ${k} is missing`);
    if (r.kind === 'slot') return this.state.slot(r.index);
    const c = this.state.trace.consts[r.index];
    if (c === undefined) this.fail(`captured constant ${r.index} is missing`);
    return { shape: c.shape, shape2: c.shape, dtype: c.dtype };
  }
  inShape(k: number): readonly number[] {
    return this.#info(k).shape;
  }
  inShape2(k: number): readonly number[] | undefined {
    return this.#info(k).shape2;
  }
  inDtype(k: number): string {
    return this.#info(k).dtype;
  }
  /** Input k's values when they are known at export time (parameter, captured or folded constant). */
  inData(k: number): NativeArray | undefined {
    const r = this.ref(k);
    if (r === null) return undefined;
    if (r.kind === 'const') return this.state.trace.consts[r.index]?.data;
    const s = this.state.slot(r.index).source;
    return s.kind === 'param' ? s.tensor.data() : s.kind === 'const' ? s.data : undefined;
  }
  /** Name of the parameter feeding input k, if any. */
  paramName(k: number): string | undefined {
    const r = this.ref(k);
    if (r?.kind !== 'slot') return undefined;
    const s = this.state.slot(r.index).source;
    return s.kind === 'param' ? s.name : undefined;
  }

  #outSlot(k: number): number {
    const slot = this.step.outputs[k];
    if (slot === undefined) this.fail(`has no output ${k}`);
    return slot;
  }
  outShape(k = 0): readonly number[] {
    return this.state.slot(this.#outSlot(k)).shape;
  }
  outShape2(k = 0): readonly number[] | undefined {
    return this.state.slot(this.#outSlot(k)).shape2;
  }
  outDtype(k = 0): string {
    return this.state.slot(this.#outSlot(k)).dtype;
  }
  /** The name output k must be written to (a graph output name, or a fresh one). */
  out(k = 0): string {
    const slot = this.#outSlot(k);
    const known = this.state.names.get(slot);
    if (known !== undefined) return known;
    const name = this.state.outputSlots.get(slot) ?? this.g.fresh(k === 0 ? this.base : `${this.base}.${k}`);
    this.state.names.set(slot, name);
    return name;
  }
  /** Output k is an existing value (identity ops): no node, unless it is a graph output. */
  alias(value: string, k = 0): void {
    const slot = this.#outSlot(k);
    const outName = this.state.outputSlots.get(slot);
    if (outName === undefined) this.state.names.set(slot, value);
    else this.node('Identity', [value], {}, [this.out(k)]);
  }

  /** Adds a node named after this step; returns its (first) output. Default output: a fresh value name. */
  node(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}, outputs?: readonly string[]): string {
    const name = this.g.fresh(`${this.base}/${opType}`);
    return this.g.addNode(opType, inputs, outputs ?? [this.g.fresh(`${this.base}/${opType.toLowerCase()}_out`)], attrs, name);
  }
  /** A 1-D int64 constant. */
  int64s(values: readonly (number | bigint)[], tag: string): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    return this.g.addInitializer(this.g.fresh(`${this.base}.${tag}`), [values.length], data, { elemType: 'int64' });
  }
  /** A scalar constant of the given engine dtype (float32 default). */
  scalar(value: number, dtype = 'float32', tag = 'scalar'): string {
    const name = this.g.fresh(`${this.base}.${tag}`);
    if (dtype === 'int64') return this.g.addInitializer(name, [], BigInt64Array.of(BigInt(Math.trunc(value))), { elemType: 'int64' });
    if (dtype === 'int32') return this.g.addInitializer(name, [], Int32Array.of(Math.trunc(value)), { elemType: 'int32' });
    const f = this.g.addInitializer(name, [], Float32Array.of(value), { elemType: 'float32' });
    return dtype === 'float32' ? f : this.cast(f, 'float32', dtype);
  }
  /** `value` converted from dtype `from` to `to` (no node when they agree). */
  cast(value: string, from: string, to: string): string {
    if (from === to) return value;
    const code = ONNX_DTYPE[to];
    if (code === undefined) this.fail(`cannot cast to ${to}`);
    return this.node('Cast', [value], { to: { int: code } });
  }
  /** Input k as dtype `to` (torch type promotion made explicit). */
  inAs(k: number, to: string, role?: string): string {
    return this.cast(this.in(k, role), this.inDtype(k), to);
  }

  // ---- attributes ----
  attr(k: number): EngineAttr | undefined {
    const a = this.attrs[k];
    return a === null ? undefined : a;
  }
  num(k: number, fallback: number): number {
    const a = this.attr(k);
    if (a === undefined) return fallback;
    if (typeof a === 'number') return a;
    if (typeof a === 'boolean') return a ? 1 : 0;
    return this.fail(`attribute ${k} should be a number, got ${JSON.stringify(a)}`);
  }
  bool(k: number, fallback: boolean): boolean {
    const a = this.attr(k);
    return a === undefined ? fallback : a === true || a === 1;
  }
  str(k: number, fallback: string): string {
    const a = this.attr(k);
    return typeof a === 'string' ? a : fallback;
  }
  /** A list attribute; a single number is repeated `n` times (as the native ops do). */
  ints(k: number, n: number, fallback: readonly number[]): number[] {
    const a = this.attr(k);
    if (a === undefined) return [...fallback];
    if (typeof a === 'number') return Array.from({ length: n }, () => a);
    if (Array.isArray(a)) return a.length === 1 && n > 1 ? Array.from({ length: n }, () => a[0] as number) : [...(a as readonly number[])];
    return this.fail(`attribute ${k} should be a list of integers, got ${JSON.stringify(a)}`);
  }
  list(k: number): number[] | undefined {
    const a = this.attr(k);
    if (a === undefined) return undefined;
    if (typeof a === 'number') return [a];
    if (Array.isArray(a)) return [...(a as readonly number[])];
    return this.fail(`attribute ${k} should be a list of integers, got ${JSON.stringify(a)}`);
  }

  /** Rejects attributes that hard-code the traced batch size. */
  requireBatchFreeAttrs(): void {
    if (this.attrsVary) {
      this.fail(`has attributes that change with the batch size (${JSON.stringify(this.attrs)} at batch ${this.state.trace.batches?.[0]}); ` +
        'they would be frozen into the graph — compute them from the non-batch dims, or export with dynamicBatch: false');
    }
  }

  fail(why: string): never {
    const shapes = this.step.inputs.map((r) => {
      const shape = r === null ? undefined : r.kind === 'slot' ? this.state.trace.slots[r.index]?.shape : this.state.trace.consts[r.index]?.shape;
      return shape === undefined ? 'none' : `[${shape.join(', ')}]`;
    }).join(', ');
    throw new ExpnetError(
      'BAD_MODEL',
      `exportOnnx: op '${this.op}' (step ${this.index} of ${this.state.trace.owner}, near '${this.near}', inputs ${shapes}) ${why}`,
    );
  }
}

/** A dim index in [0, rank). */
export function normDim(d: number, rank: number): number {
  return d < 0 ? d + rank : d;
}
