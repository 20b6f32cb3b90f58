/**
 * exportOnnx: any expnet module (or function of tensors) → ONNX bytes, through the engine's op trace.
 *
 * The forward pass is recorded in eval mode without grad; every recorded op becomes ONNX nodes (see
 * onnxOpsNn/Math/Shape.ts). Parameters and buffers become initializers under their module names
 * ('block1.0.weight'), matched by tensor identity; other captured tensors are named after the op using them.
 * With `dynamicBatch` (default) the pass is traced at two batch sizes, dim 0 of every input and output is the
 * symbolic 'batch', and ops whose attributes follow the batch are rewritten (reshape/view/flatten → 0/-1) or
 * rejected with an error naming the op. Eval-mode BatchNorm after a conv is folded into it by default.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { ProgramStep } from '../engine/native.js';
import type { Module } from '../engine/module.js';
import type { Tensor } from '../engine/tensor.js';
import { ExpnetError, fsReason } from '../errors.js';
import { GraphBuilder } from '../formats/onnx/graphBuilder.js';
import type { Dim, ElemType } from '../formats/onnx/onnxTypes.js';
import { ExportState, OpContext } from './onnxOpsContext.js';
import { MATH_OPS } from './onnxOpsMath.js';
import { NN_OPS, canFoldBatchNorm, emitConvBn, type OpEmitter } from './onnxOpsNn.js';
import { SHAPE_OPS } from './onnxOpsShape.js';
import { traceForExport, type ExportFn, type ExportTrace } from './onnxOpsTrace.js';

export type { ExportFn } from './onnxOpsTrace.js';

export interface ExportOnnxOptions {
  /** Graph input names, one per example input (default 'input', or 'input0', 'input1', …). */
  readonly inputNames?: readonly string[];
  /** Graph output names, one per output (default 'output', or 'output0', …). */
  readonly outputNames?: readonly string[];
  /** Dim 0 of inputs and outputs is the symbolic 'batch' (default true). */
  readonly dynamicBatch?: boolean;
  /** Default-domain opset, 13–21 (default 17). */
  readonly opset?: number;
  /** ONNX metadata_props, e.g. `{ model_card: JSON.stringify(card) }`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Fold eval-mode batch_norm into the conv before it (default true). */
  readonly foldBatchNorm?: boolean;
  /** When exporting a function: the module whose parameter names (and eval mode) apply. */
  readonly module?: Module;
  /** Graph name (default: the module's class name). */
  readonly graphName?: string;
  readonly docString?: string;
}

export const EXPORT_ONNX_DEFAULTS = Object.freeze({ dynamicBatch: true, opset: 17, foldBatchNorm: true });

const KNOWN_OPTIONS = new Set(['inputNames', 'outputNames', 'dynamicBatch', 'opset', 'metadata', 'foldBatchNorm', 'module', 'graphName', 'docString']);

const OPS: Readonly<Record<string, OpEmitter>> = { ...NN_OPS, ...MATH_OPS, ...SHAPE_OPS };
/** Ops whose batch-following attributes are rewritten from the traced shapes; any other op must not have them. */
const SHAPE_DRIVEN = new Set(['reshape', 'view', 'expand', 'slice', 'narrow']);
const OUTPUT_TYPES: Readonly<Record<string, ElemType>> = { float32: 'float32', int64: 'int64', int32: 'int32', float16: 'float16' };

/** Engine ops exportOnnx maps to ONNX (creation ops are folded into constants, random ones are refused). */
export function supportedOnnxOps(): string[] {
  return Object.keys(OPS).sort();
}

function badOption(message: string): never {
  throw new ExpnetError('BAD_CONFIG', `exportOnnx options: ${message}`);
}

function names(given: readonly string[] | undefined, n: number, prefix: string, what: string): string[] {
  const out = given === undefined ? Array.from({ length: n }, (_, i) => (n === 1 ? prefix : `${prefix}${i}`)) : [...given];
  if (out.length !== n) badOption(`${what} has ${out.length} names but the model has ${n}`);
  if (out.some((s) => s === '') || new Set(out).size !== out.length) badOption(`${what} must be distinct non-empty names, got ${JSON.stringify(out)}`);
  return out;
}

function resolve(options: ExportOnnxOptions): void {
  for (const k of Object.keys(options)) if (!KNOWN_OPTIONS.has(k)) badOption(`unknown option '${k}' (expected one of ${[...KNOWN_OPTIONS].join(', ')})`);
  const opset = options.opset ?? EXPORT_ONNX_DEFAULTS.opset;
  if (!Number.isInteger(opset) || opset < 13 || opset > 21) badOption(`opset must be an integer in 13..21, got ${opset}`);
  const both = [...(options.inputNames ?? []), ...(options.outputNames ?? [])];
  if (new Set(both).size !== both.length) badOption(`input and output names must all differ, got ${JSON.stringify(both)}`);
}

/** Node base names: layers with a parameter are named after it ('block1.0'), others after the op. */
function baseNames(trace: ExportTrace): { base: string[]; near: string[] } {
  let near = 'the start';
  const base: string[] = [];
  const nearby: string[] = [];
  for (const s of trace.steps) {
    const param = s.inputs.map((r) => (r?.kind === 'slot' ? trace.slots[r.index]?.source : undefined)).find((src) => src?.kind === 'param');
    const layer = param?.kind === 'param' ? param.name.replace(/\.[^.]+$/, '') : undefined;
    if (layer !== undefined) near = layer;
    base.push(layer ?? s.op);
    nearby.push(layer ?? `${s.op} after ${near}`);
  }
  return { base, near: nearby };
}

/** conv2d steps whose only consumer is an eval batch_norm → that batch_norm's step index. */
function foldPairs(state: ExportState, contexts: readonly OpContext[]): Map<number, number> {
  const { trace } = state;
  const producer = new Map<number, number>();
  const uses = new Map<number, number>();
  trace.steps.forEach((s, k) => s.outputs.forEach((slot) => producer.set(slot, k)));
  const use = (slot: number): void => void uses.set(slot, (uses.get(slot) ?? 0) + 1);
  for (const s of trace.steps) for (const r of s.inputs) if (r?.kind === 'slot') use(r.index);
  for (const r of trace.outputs) if (r?.kind === 'slot') use(r.index);
  const pairs = new Map<number, number>();
  trace.steps.forEach((s: ProgramStep, j) => {
    const r = s.inputs[0];
    if (s.op !== 'batch_norm' || r?.kind !== 'slot' || uses.get(r.index) !== 1) return;
    const i = producer.get(r.index);
    const conv = i === undefined ? undefined : contexts[i];
    const bn = contexts[j];
    if (conv?.op === 'conv2d' && bn !== undefined && trace.slots[r.index]?.source.kind === 'value' && canFoldBatchNorm(conv, bn)) pairs.set(i as number, j);
  });
  return pairs;
}

function outputDims(trace: ExportTrace, slot: number | undefined, shape: readonly number[], name: string): Dim[] {
  const shape2 = slot === undefined ? undefined : trace.slots[slot]?.shape2;
  const [b1, b2] = trace.batches ?? [0, 0];
  return shape.map((d, k) => (shape2 === undefined || shape2[k] === d ? d : d === b1 && shape2[k] === b2 ? 'batch' : `${name}_dim${k}`));
}

/** Serialises `model`'s forward pass on `example` as an ONNX model. */
export function exportOnnx(model: Module | ExportFn, example: readonly Tensor[], options: ExportOnnxOptions = {}): Uint8Array {
  resolve(options);
  const opset = options.opset ?? EXPORT_ONNX_DEFAULTS.opset;
  const dynamicBatch = options.dynamicBatch ?? EXPORT_ONNX_DEFAULTS.dynamicBatch;
  const inputNames = names(options.inputNames, example.length, 'input', 'inputNames');
  const trace = traceForExport(model, example, { dynamicBatch, module: typeof model === 'function' ? options.module : model });
  const outputNames = names(options.outputNames, trace.outputs.length, 'output', 'outputNames');

  const g = new GraphBuilder(options.graphName ?? trace.owner);
  for (const n of [...inputNames, ...outputNames]) g.fresh(n);
  for (const s of trace.slots) if (s?.source.kind === 'param') g.fresh(s.source.name);
  const state = new ExportState(g, trace, opset);
  example.forEach((x, i) => {
    const name = inputNames[i] as string;
    g.addInput(name, 'float32', dynamicBatch ? ['batch', ...x.shape.slice(1)] : x.shape);
    state.names.set(i, name);
  });
  trace.outputs.forEach((r, j) => {
    if (r?.kind === 'slot' && trace.slots[r.index]?.source.kind === 'value' && !state.outputSlots.has(r.index)) state.outputSlots.set(r.index, outputNames[j] as string);
  });

  const { base, near } = baseNames(trace);
  const contexts = trace.steps.map((s, k) => new OpContext(state, s, k, base[k] ?? s.op, near[k]));
  const pairs = (options.foldBatchNorm ?? EXPORT_ONNX_DEFAULTS.foldBatchNorm) ? foldPairs(state, contexts) : new Map<number, number>();
  const folded = new Set(pairs.values());
  contexts.forEach((c, k) => {
    if (folded.has(k) || c.step.outputs.every((slot) => trace.slots[slot]?.source.kind !== 'value')) return;
    const bn = pairs.get(k);
    if (bn !== undefined) return emitConvBn(c, contexts[bn] as OpContext);
    const emit = OPS[c.op];
    if (emit === undefined) return c.fail(`has no ONNX mapping (exportOnnx supports: ${supportedOnnxOps().join(', ')})`);
    if (!SHAPE_DRIVEN.has(c.op)) c.requireBatchFreeAttrs();
    emit(c);
  });

  trace.outputs.forEach((r, j) => {
    const name = outputNames[j] as string;
    if (r === null) throw new ExpnetError('BAD_MODEL', `exportOnnx: output ${j} of ${trace.owner} is undefined`);
    const info = r.kind === 'slot' ? state.slot(r.index) : trace.consts[r.index];
    const value = r.kind === 'slot' ? state.slotValue(r.index) : state.constValue(r.index, `${name}.const`);
    const elemType = OUTPUT_TYPES[info?.dtype ?? ''];
    if (info === undefined || elemType === undefined) throw new ExpnetError('BAD_MODEL', `exportOnnx: output ${j} ('${name}') of ${trace.owner} has dtype ${info?.dtype}; outputs can be float32, float16, int32 or int64`);
    if (value !== name) g.addNode('Identity', [value], [name], {}, g.fresh(`${name}/Identity`));
    g.addOutput(name, elemType, outputDims(trace, r.kind === 'slot' ? r.index : undefined, info.shape, name));
  });

  return g.toModel({
    opset,
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    ...(options.docString === undefined ? {} : { docString: options.docString }),
  });
}

/** exportOnnx, written atomically to `path` (a temp file in the same folder, then renamed); returns the bytes. */
export async function saveOnnx(path: string, model: Module | ExportFn, example: readonly Tensor[], options: ExportOnnxOptions = {}): Promise<Uint8Array> {
  const bytes = exportOnnx(model, example, options);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new ExpnetError('NOT_FOUND', `saveOnnx: cannot write ${path}: ${fsReason(err)}`, { cause: err });
  }
  return bytes;
}
