/** GraphBuilder: collect inputs, constants and nodes of one ONNX graph, check them, serialise the model. */

import { ExpnetError } from '../../errors.js';
import { encodeModel } from './encodeModel.js';
import type { AttributeSpec, Dim, ElemType, GraphSpec, NodeSpec, TensorSpec, ValueInfoSpec } from './onnxTypes.js';
import { impliedElemType, toRawData, type TensorData } from './tensorData.js';

/**
 * An attribute value. A plain number is INT when it is an integer, else FLOAT; a number[] is INTS when every
 * element is an integer, else FLOATS. Use the wrapped forms for float attributes whose value may be integral
 * (e.g. `{ float: 1 }`, `{ floats: [1, 2] }`).
 */
export type AttrValue =
  | number
  | string
  | readonly number[]
  | { readonly float: number }
  | { readonly int: number }
  | { readonly floats: readonly number[] }
  | { readonly ints: readonly number[] }
  | { readonly tensor: ConstantTensor };

export interface ConstantTensor {
  readonly dims: readonly number[];
  readonly data: TensorData;
  /** Defaults to the type the array implies (Float32Array: float32, …); required for number[] unless float32. */
  readonly elemType?: ElemType;
}

export interface ModelOptions {
  /** Default-domain opset version; 13 or later (the helpers use opset-13 operator forms). Default 17. */
  readonly opset?: number;
  /** Default 8. */
  readonly irVersion?: number;
  /** metadata_props, e.g. `{ model_card: JSON.stringify(card) }`. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly docString?: string;
  readonly producerVersion?: string;
}

export const DEFAULT_OPSET = 17;
export const DEFAULT_IR_VERSION = 8;

function isIntegral(v: number): boolean {
  return Number.isSafeInteger(v);
}

function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export class GraphBuilder {
  readonly name: string;
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: TensorSpec[] = [];
  private readonly inputs: ValueInfoSpec[] = [];
  private readonly outputs: ValueInfoSpec[] = [];
  private readonly valueInfo: ValueInfoSpec[] = [];
  /** Values that exist so far: graph inputs, initializers, node outputs. */
  private readonly defined = new Set<string>();
  /** Every name handed out or used (values and node names), so fresh() never collides. */
  private readonly taken = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly nodeNames = new Set<string>();

  constructor(name = 'expnet') {
    this.name = name;
  }

  /** A name not used yet in this graph: `prefix`, then `prefix_1`, `prefix_2`, … It is reserved at once. */
  fresh(prefix: string): string {
    let n = this.counters.get(prefix) ?? 0;
    let candidate = n === 0 ? prefix : `${prefix}_${n}`;
    while (this.taken.has(candidate)) candidate = `${prefix}_${++n}`;
    this.counters.set(prefix, n + 1);
    this.taken.add(candidate);
    return candidate;
  }

  /** Whether a value with this name exists (input, initializer or node output). */
  has(name: string): boolean {
    return this.defined.has(name);
  }

  private define(name: string, what: string): void {
    if (name === '') throw new ExpnetError('BAD_INPUT', `GraphBuilder '${this.name}': ${what} has an empty name`);
    if (this.defined.has(name)) {
      throw new ExpnetError('BAD_INPUT', `GraphBuilder '${this.name}': ${what} '${name}' is already defined`);
    }
    this.defined.add(name);
    this.taken.add(name);
  }

  private checkDims(name: string, dims: readonly Dim[]): void {
    for (const d of dims) {
      if (typeof d === 'string' ? d === '' : !(Number.isSafeInteger(d) && d >= 0)) {
        throw new ExpnetError('BAD_INPUT', `value '${name}': dims must be non-negative integers or symbolic names, got [${dims.join(', ')}]`);
      }
    }
  }

  addInput(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    this.checkDims(name, dims);
    this.define(name, 'input');
    this.inputs.push({ name, elemType, dims: [...dims] });
    return name;
  }

  /** Declare a graph output; some node must produce it before toModel(). */
  addOutput(name: string, elemType: ElemType, dims: readonly Dim[] | undefined): string {
    if (dims !== undefined) this.checkDims(name, dims);
    if (this.outputs.some((o) => o.name === name)) {
      throw new ExpnetError('BAD_INPUT', `GraphBuilder '${this.name}': output '${name}' declared twice`);
    }
    this.taken.add(name);
    this.outputs.push({ name, elemType, dims: dims === undefined ? undefined : [...dims] });
    return name;
  }

  /** Optional shape annotation of an intermediate value. */
  addValueInfo(name: string, elemType: ElemType, dims: readonly Dim[]): void {
    this.checkDims(name, dims);
    this.valueInfo.push({ name, elemType, dims: [...dims] });
  }

  /** A constant tensor (copied now, so later changes to `data` do not leak into the model). */
  addInitializer(name: string, dims: readonly number[], data: TensorData, opts: { elemType?: ElemType } = {}): string {
    this.checkDims(name, dims);
    const tensor = makeTensor(name, { dims, data, ...opts });
    this.define(name, 'initializer');
    this.initializers.push(tensor);
    return name;
  }

  /** addInitializer under a fresh name derived from `prefix`; returns the name. */
  addConstant(prefix: string, dims: readonly number[], data: TensorData, opts: { elemType?: ElemType } = {}): string {
    return this.addInitializer(this.fresh(prefix), dims, data, opts);
  }

  /**
   * Append a node. Inputs must already exist ('' marks an omitted optional input), so nodes stay in
   * topological order; outputs must be new. Returns the first output's name.
   */
  addNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    name?: string,
  ): string {
    const nodeName = name ?? this.fresh(opType);
    if (this.nodeNames.has(nodeName)) {
      throw new ExpnetError('BAD_INPUT', `GraphBuilder '${this.name}': node name '${nodeName}' is already used`);
    }
    this.nodeNames.add(nodeName);
    this.taken.add(nodeName);
    for (const i of inputs) {
      if (i !== '' && !this.defined.has(i)) {
        throw new ExpnetError('BAD_INPUT', `node '${nodeName}' (${opType}): input '${i}' is not defined yet (expected a graph input, initializer or earlier node output)`);
      }
    }
    if (outputs.length === 0) throw new ExpnetError('BAD_INPUT', `node '${nodeName}' (${opType}): no outputs`);
    for (const o of outputs) this.define(o, `output of node '${nodeName}' (${opType})`);
    const attributes = Object.entries(attrs).map(([k, v]) => toAttribute(k, v, nodeName));
    this.nodes.push({ opType, inputs: [...inputs], outputs: [...outputs], name: nodeName, domain: '', attributes });
    return outputs[0] ?? '';
  }

  /** Single-output node with a fresh output name derived from `prefix` (default: the op type in lower case). */
  op(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}, prefix?: string): string {
    return this.addNode(opType, inputs, [this.fresh(prefix ?? opType.toLowerCase())], attrs);
  }

  /** The graph as plain data, after checking that every output is produced. */
  toGraph(): GraphSpec {
    if (this.outputs.length === 0) throw new ExpnetError('BAD_INPUT', `GraphBuilder '${this.name}': no outputs declared`);
    for (const o of this.outputs) {
      if (!this.defined.has(o.name)) {
        throw new ExpnetError('BAD_INPUT', `GraphBuilder '${this.name}': output '${o.name}' is not produced by any node or input`);
      }
    }
    return {
      name: this.name,
      nodes: [...this.nodes],
      initializers: [...this.initializers],
      inputs: [...this.inputs],
      outputs: [...this.outputs],
      valueInfo: [...this.valueInfo],
    };
  }

  /** Serialise to ONNX bytes (producer 'expnet', default domain at `opset`). */
  toModel(opts: ModelOptions = {}): Uint8Array {
    const opset = opts.opset ?? DEFAULT_OPSET;
    if (!Number.isInteger(opset) || opset < 13) {
      throw new ExpnetError('BAD_INPUT', `toModel: opset must be an integer ≥ 13, got ${opset}`);
    }
    return encodeModel({
      irVersion: opts.irVersion ?? DEFAULT_IR_VERSION,
      opsetImports: [{ domain: '', version: opset }],
      producerName: 'expnet',
      producerVersion: opts.producerVersion ?? '',
      docString: opts.docString ?? '',
      metadata: Object.entries(opts.metadata ?? {}),
      graph: this.toGraph(),
    });
  }
}

export function makeTensor(name: string, c: ConstantTensor): TensorSpec {
  const elemType = c.elemType ?? impliedElemType(c.data) ?? 'float32';
  if (c.data.length !== numel(c.dims)) {
    throw new ExpnetError('BAD_INPUT', `tensor '${name}': dims [${c.dims.join(', ')}] need ${numel(c.dims)} values, got ${c.data.length}`);
  }
  return { name, elemType, dims: [...c.dims], rawData: toRawData(c.data, elemType, `tensor '${name}'`) };
}

function isNumberArray(v: AttrValue): v is readonly number[] {
  return Array.isArray(v);
}

function toAttribute(name: string, v: AttrValue, nodeName: string): AttributeSpec {
  const where = `node '${nodeName}' attribute '${name}'`;
  if (typeof v === 'string') return { name, type: 'string', value: v };
  if (typeof v === 'number') {
    if (Number.isNaN(v)) throw new ExpnetError('BAD_INPUT', `${where}: NaN`);
    return isIntegral(v) ? { name, type: 'int', value: v } : { name, type: 'float', value: v };
  }
  if (isNumberArray(v)) {
    const arr = v;
    return arr.every(isIntegral) ? { name, type: 'ints', value: [...arr] } : { name, type: 'floats', value: [...arr] };
  }
  if ('float' in v) return { name, type: 'float', value: v.float };
  if ('floats' in v) return { name, type: 'floats', value: [...v.floats] };
  if ('tensor' in v) return { name, type: 'tensor', value: makeTensor('', v.tensor) };
  if ('ints' in v) {
    if (!v.ints.every(isIntegral)) throw new ExpnetError('BAD_INPUT', `${where}: ints must be integers, got [${v.ints.join(', ')}]`);
    return { name, type: 'ints', value: [...v.ints] };
  }
  if (!isIntegral(v.int)) throw new ExpnetError('BAD_INPUT', `${where}: int must be an integer, got ${v.int}`);
  return { name, type: 'int', value: v.int };
}
