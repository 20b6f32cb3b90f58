/**
 * Recording a forward pass for ONNX export: eval mode, no grad, parameters and buffers passed as program inputs
 * (so every use of one is recognised by identity, not by value), replayed op by op to learn each value's shape,
 * dtype and (for values that depend on no input) its constant contents. With a dynamic batch the pass is
 * recorded twice, at two batch sizes, so attributes and dims that follow the batch can be told apart.
 */
import { native, type NativeArray, type NativeTensor, type ProgramDescription, type ProgramRef, type ProgramStep } from '../engine/native.js';
import { labels } from '../engine/creation.js';
import type { Module } from '../engine/module.js';
import { Program } from '../engine/program.js';
import { noGrad } from '../engine/runtime.js';
import { tidy } from '../engine/scope.js';
import { run, Tensor } from '../engine/tensor.js';
import { ExpnetError } from '../errors.js';

export type ExportFn = (...inputs: Tensor[]) => Tensor | readonly Tensor[];

/** Where a slot's value comes from. */
export type SlotSource =
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'param'; readonly name: string; readonly tensor: Tensor }
  /** Depends on no graph input: folded to an initializer holding these values. */
  | { readonly kind: 'const'; readonly data: NativeArray }
  | { readonly kind: 'value' };

export interface TracedSlot {
  readonly source: SlotSource;
  readonly dtype: string;
  /** Shape at the first traced batch size. */
  readonly shape: readonly number[];
  /** Shape at the second traced batch size (dynamic batch only). */
  readonly shape2: readonly number[] | undefined;
}

export interface TracedConst {
  readonly data: NativeArray;
  readonly shape: readonly number[];
  readonly dtype: string;
}

export interface ExportTrace {
  readonly numInputs: number;
  readonly steps: readonly ProgramStep[];
  /** Per step: whether its attributes differ between the two batch sizes. */
  readonly attrsVary: readonly boolean[];
  readonly slots: readonly (TracedSlot | undefined)[];
  readonly consts: readonly TracedConst[];
  readonly outputs: readonly (ProgramRef | null)[];
  /** The two batch sizes traced (dynamic batch), or undefined. */
  readonly batches: readonly [number, number] | undefined;
  /** Class name of the exported module (for messages). */
  readonly owner: string;
}

export interface TraceOptions {
  readonly dynamicBatch: boolean;
  /** Parameter and buffer names come from this module (also put in eval mode while tracing). */
  readonly module: Module | undefined;
}

/** Ops whose output is random: a forward pass that uses them cannot be exported. */
const RANDOM_OPS = new Set(['rand', 'randn', 'randint', 'randperm']);

function bad(message: string): never {
  throw new ExpnetError('BAD_MODEL', `exportOnnx: ${message}`);
}

function allModules(m: Module): Module[] {
  return [m, ...m.children().flatMap(([, c]) => allModules(c))];
}

/** Runs `fn` with the module tree in eval mode, restoring every submodule's own flag afterwards. */
function inEvalMode<T>(m: Module | undefined, fn: () => T): T {
  const saved = m === undefined ? [] : allModules(m).map((x) => [x, x.training] as const);
  for (const [x] of saved) x.training = false;
  try {
    return fn();
  } finally {
    for (const [x, on] of saved) x.training = on;
  }
}

/** Named parameters then buffers, each tensor once (the first name wins for shared tensors). */
function namedTensors(m: Module | undefined): [string, Tensor][] {
  if (m === undefined) return [];
  const seen = new Set<Tensor>();
  return [...m.namedParameters(), ...m.namedBuffers()].filter(([, t]) => !seen.has(t) && (seen.add(t), true));
}

/** The example's rows repeated to `batch` rows (row i is example row i mod B). */
function tileBatch(x: Tensor, batch: number, what: string): Tensor {
  const b = x.shape[0];
  if (x.rank === 0 || b === undefined || b < 1) bad(`${what} must have a batch dim first (got shape [${x.shape.join(', ')}])`);
  return run('index_select', [x, labels(Array.from({ length: batch }, (_, i) => i % b))], [0]);
}

interface Recorded {
  readonly desc: ProgramDescription;
  readonly shapes: (readonly number[] | undefined)[];
  readonly dtypes: (string | undefined)[];
  readonly constData: (NativeArray | undefined)[];
}

function refTensor(r: ProgramRef | null, slots: readonly (NativeTensor | undefined)[], desc: ProgramDescription): NativeTensor | null {
  if (r === null) return null;
  const t = r.kind === 'slot' ? slots[r.index] : desc.consts[r.index];
  if (t === undefined) bad(`internal: reference to ${r.kind} ${r.index} before it exists`);
  return t;
}

/** Traces `call` on inputs + named tensors, then replays the program op by op, recording every slot. */
function record(call: (xs: Tensor[]) => Tensor | readonly Tensor[], inputs: readonly Tensor[], named: readonly [string, Tensor][], keepConst: boolean): Recorded {
  const n = native();
  const program = Program.trace((...all) => call(all.slice(0, inputs.length)), [...inputs, ...named.map(([, t]) => t)]);
  let desc: ProgramDescription;
  try {
    desc = program.describe();
  } finally {
    program.dispose();
  }
  const fixed = inputs.length + named.length;
  const slots: (NativeTensor | undefined)[] = [...inputs, ...named.map(([, t]) => t)].map((t) => t.handle);
  const isConst: boolean[] = slots.map((_, i) => i >= inputs.length);
  const shapes: (readonly number[] | undefined)[] = slots.map((t) => t?.shape());
  const dtypes: (string | undefined)[] = slots.map((t) => t?.dtype());
  const constData: (NativeArray | undefined)[] = [];
  const lastUse = new Map<number, number>();
  desc.steps.forEach((s, k) => s.inputs.forEach((r) => r?.kind === 'slot' && lastUse.set(r.index, k)));
  for (const r of desc.outputs) if (r?.kind === 'slot') lastUse.set(r.index, Infinity);
  const owned: NativeTensor[] = [];
  try {
    desc.steps.forEach((s, k) => {
      const ins = s.inputs.map((r) => refTensor(r, slots, desc));
      const out = n.op(s.op, ins, s.attrs);
      const outs = Array.isArray(out) ? out : [out];
      const allConst = !RANDOM_OPS.has(s.op) && s.inputs.every((r) => r === null || r.kind === 'const' || isConst[r.index] === true);
      s.outputs.forEach((slot, j) => {
        const t = outs[j];
        if (t === undefined) return;
        owned.push(t);
        slots[slot] = t;
        isConst[slot] = allConst;
        shapes[slot] = t.shape();
        dtypes[slot] = t.dtype();
        if (allConst && keepConst) constData[slot] = t.toArray();
      });
      // Free what no later step needs (program inputs and parameters are not ours).
      for (const r of s.inputs) {
        if (r?.kind === 'slot' && r.index >= fixed && lastUse.get(r.index) === k) {
          slots[r.index]?.dispose();
          slots[r.index] = undefined;
        }
      }
    });
  } catch (err) {
    for (const c of desc.consts) c.dispose();
    throw err;
  } finally {
    for (const t of owned) if (!t.isDisposed()) t.dispose();
  }
  return { desc, shapes, dtypes, constData };
}

function takeConsts(desc: ProgramDescription): TracedConst[] {
  try {
    return desc.consts.map((c) => ({ data: c.toArray(), shape: c.shape(), dtype: c.dtype() }));
  } finally {
    for (const c of desc.consts) c.dispose();
  }
}

function sameStructure(a: ProgramDescription, b: ProgramDescription, batches: readonly [number, number]): void {
  const at = batches.join(' and ');
  const n = Math.min(a.steps.length, b.steps.length);
  for (let k = 0; k < n; k++) {
    const sa = a.steps[k] as ProgramStep;
    const sb = b.steps[k] as ProgramStep;
    if (sa.op !== sb.op || JSON.stringify(sa.inputs) !== JSON.stringify(sb.inputs)) {
      bad(`the forward pass records different ops at batch ${at} (step ${k}: '${sa.op}' vs '${sb.op}'); its control flow depends on the batch size — export with dynamicBatch: false`);
    }
  }
  if (a.steps.length !== b.steps.length) {
    bad(`the forward pass records ${a.steps.length} ops at batch ${batches[0]} but ${b.steps.length} at batch ${batches[1]}; export with dynamicBatch: false`);
  }
}

/** Records `model` on `example` (eval mode, no grad) for the exporter. */
export function traceForExport(model: Module | ExportFn, example: readonly Tensor[], options: TraceOptions): ExportTrace {
  const module = typeof model === 'function' ? options.module : model;
  const owner = module?.constructor.name ?? (typeof model === 'function' ? model.name || 'the exported function' : 'module');
  if (example.length === 0) throw new ExpnetError('BAD_INPUT', 'exportOnnx: at least one example input is needed');
  example.forEach((x, i) => {
    if (x.dtype !== 'float32') throw new ExpnetError('BAD_INPUT', `exportOnnx: example input ${i} must be float32, got ${x.dtype} [${x.shape.join(', ')}]`);
  });
  if (typeof model !== 'function' && example.length !== 1) {
    throw new ExpnetError('BAD_INPUT', `exportOnnx: ${owner}.forward takes one input, got ${example.length} examples (pass a function to export several inputs)`);
  }
  const call = (xs: Tensor[]): Tensor | readonly Tensor[] => (typeof model === 'function' ? model(...xs) : model.forward(xs[0] as Tensor));
  const named = namedTensors(module);
  return inEvalMode(module, () =>
    noGrad(() =>
      tidy(() => {
        if (!options.dynamicBatch) {
          const r = record(call, example, named, true);
          return assemble(r, undefined, example.length, named, owner);
        }
        const b1 = Math.max(2, ...example.map((x) => x.shape[0] ?? 1));
        const batches = [b1, b1 + 1] as const;
        const r1 = record(call, example.map((x, i) => tileBatch(x, b1, `example input ${i}`)), named, true);
        let r2: Recorded;
        try {
          r2 = record(call, example.map((x, i) => tileBatch(x, b1 + 1, `example input ${i}`)), named, false);
        } catch (err) {
          for (const c of r1.desc.consts) c.dispose();
          throw err;
        }
        return assemble(r1, r2, example.length, named, owner, batches);
      }),
    ),
  );
}

function assemble(
  r1: Recorded,
  r2: Recorded | undefined,
  numInputs: number,
  named: readonly [string, Tensor][],
  owner: string,
  batches?: readonly [number, number],
): ExportTrace {
  const consts = takeConsts(r1.desc);
  const consts2 = r2 === undefined ? undefined : takeConsts(r2.desc);
  if (r2 !== undefined && batches !== undefined) {
    sameStructure(r1.desc, r2.desc, batches);
    consts.forEach((c, k) => {
      const c2 = consts2?.[k];
      if (c2 === undefined || c.shape.join(',') !== c2.shape.join(',')) {
        bad(`a constant captured while tracing ${owner} has a batch-dependent shape ([${c.shape.join(', ')}] at batch ${batches[0]}, [${c2?.shape.join(', ') ?? '?'}] at batch ${batches[1]}); create it with tensor ops from the input instead`);
      }
    });
  }
  const slots: (TracedSlot | undefined)[] = r1.shapes.map((shape, i) => {
    if (shape === undefined) return undefined;
    const data = r1.constData[i];
    const param = named[i - numInputs];
    const source: SlotSource =
      i < numInputs ? { kind: 'input', index: i } : param !== undefined ? { kind: 'param', name: param[0], tensor: param[1] } : data !== undefined ? { kind: 'const', data } : { kind: 'value' };
    return { source, dtype: r1.dtypes[i] ?? 'float32', shape, shape2: r2?.shapes[i] };
  });
  const attrsVary = r1.desc.steps.map((s, k) => r2 !== undefined && JSON.stringify(s.attrs) !== JSON.stringify(r2.desc.steps[k]?.attrs));
  for (const [k, s] of r1.desc.steps.entries()) {
    if (RANDOM_OPS.has(s.op)) bad(`op '${s.op}' (step ${k} of ${owner}) is random; an exported graph must be deterministic`);
    for (const slot of s.outputs) {
      const t = slots[slot];
      if (t?.source.kind === 'const' && t.shape2 !== undefined && t.shape2.join(',') !== t.shape.join(',')) {
        bad(`op '${s.op}' (step ${k} of ${owner}) computes a constant whose shape follows the batch ([${t.shape.join(', ')}] at batch ${batches?.[0]}, [${t.shape2.join(', ')}] at batch ${batches?.[1]}); it would be frozen into the graph — broadcast against the input instead`);
      }
    }
  }
  return { numInputs, steps: r1.desc.steps, attrsVary, slots, consts, outputs: r1.desc.outputs, batches, owner };
}
