/**
 * ONNX nodes for the engine's shape ops (native/src/ops_math.cc "shape" section). Targets that follow the
 * batch are written as 0 (copy the input dim) or -1 (infer), decided from the shapes traced at two batch sizes,
 * so a net that reshapes with x.shape[0] exports with a symbolic batch.
 */
import { INT64_MAX, ONNX_DTYPE, normDim, type OpContext } from './onnxOpsContext.js';
import type { OpEmitter } from './onnxOpsNn.js';

const INT64_MIN = -9223372036854775808n;

/** Reshape target: fixed dims as numbers, dims that follow the batch as 0 (same input dim) or -1 (inferred). */
export function reshapeTarget(c: OpContext): number[] {
  const o1 = c.outShape();
  const o2 = c.outShape2();
  if (o1.some((d) => d === 0)) c.fail('produces an empty tensor; empty reshapes are not exported');
  if (o2 === undefined) return [...o1];
  const i1 = c.inShape(0);
  const i2 = c.inShape2(0) ?? i1;
  if (o2.length !== o1.length) c.fail(`changes rank with the batch size ([${o1.join(', ')}] vs [${o2.join(', ')}])`);
  const open: number[] = [];
  const target = o1.map((d, k) => {
    if (d === o2[k]) return d;
    if (i1[k] === d && i2[k] === o2[k]) return 0;
    open.push(k);
    return -1;
  });
  if (open.length > 1) {
    c.fail(`gives output dims ${open.join(' and ')} that all change with the batch size ([${o1.join(', ')}] at batch ${c.state.trace.batches?.[0]}); ONNX can infer only one — keep the batch in its own dim`);
  }
  return target;
}

function reshape(c: OpContext): void {
  c.node('Reshape', [c.in(0), c.int64s(reshapeTarget(c), 'shape')], {}, [c.out()]);
}

// [start, end]
function flatten(c: OpContext): void {
  const rank = c.inShape(0).length;
  const start = normDim(c.num(0, 0), rank);
  const end = normDim(c.num(1, -1), rank);
  if (rank === 0 || start >= end) c.alias(c.in(0));
  else if (start === 1 && end === rank - 1) c.node('Flatten', [c.in(0)], { axis: { int: 1 } }, [c.out()]);
  else reshape(c);
}

function transposeTo(c: OpContext, perm: readonly number[]): void {
  c.node('Transpose', [c.in(0)], { perm: { ints: perm } }, [c.out()]);
}

// permute: [dims]; transpose: [d0, d1]
function permute(c: OpContext): void {
  const rank = c.inShape(0).length;
  transposeTo(c, (c.list(0) ?? []).map((d) => normDim(d, rank)));
}
function transpose(c: OpContext): void {
  const rank = c.inShape(0).length;
  const perm = Array.from({ length: rank }, (_, k) => k);
  const a = normDim(c.num(0, 0), rank);
  const b = normDim(c.num(1, 1), rank);
  [perm[a], perm[b]] = [b, a];
  transposeTo(c, perm);
}

// [dim|null]: torch drops only size-1 dims (a no-op otherwise); the batch dim is never dropped.
function squeeze(c: OpContext): void {
  const s1 = c.inShape(0);
  const s2 = c.inShape2(0) ?? s1;
  const one = (k: number): boolean => s1[k] === 1 && s2[k] === 1;
  const axes = c.attr(0) === undefined ? s1.map((_, k) => k).filter(one) : [normDim(c.num(0, 0), s1.length)].filter(one);
  if (axes.length === 0) c.alias(c.in(0));
  else c.node('Squeeze', [c.in(0), c.int64s(axes, 'axes')], {}, [c.out()]);
}

// [dim]
function unsqueeze(c: OpContext): void {
  const axis = normDim(c.num(0, 0), c.inShape(0).length + 1);
  c.node('Unsqueeze', [c.in(0), c.int64s([axis], 'axes')], {}, [c.out()]);
}

// [shape]: ONNX Expand broadcasts, so 1 keeps an input dim (torch's -1); a dim expanded to the batch is refused.
function expand(c: OpContext): void {
  const in1 = c.inShape(0);
  const in2 = c.inShape2(0) ?? in1;
  const o1 = c.outShape();
  const o2 = c.outShape2() ?? o1;
  const off = o1.length - in1.length;
  const shape = o1.map((d, k) => {
    const varies = o2[k] !== d;
    if (k >= off && in1[k - off] === d && in2[k - off] === o2[k]) return 1;
    if (varies) c.fail(`expands dim ${k} to the batch size (${d}); use broadcasting against a batch-shaped tensor instead`);
    return d;
  });
  c.node('Expand', [c.in(0), c.int64s(shape, 'shape')], {}, [c.out()]);
}

function cat(c: OpContext): void {
  const t = c.outDtype();
  const axis = normDim(c.num(0, 0), c.outShape().length);
  const inputs = Array.from({ length: c.numInputs }, (_, k) => c.inAs(k, t));
  c.node('Concat', inputs, { axis: { int: axis } }, [c.out()]);
}

function stack(c: OpContext): void {
  const t = c.outDtype();
  const axis = normDim(c.num(0, 0), c.outShape().length);
  const axes = c.int64s([axis], 'axes');
  const inputs = Array.from({ length: c.numInputs }, (_, k) => c.node('Unsqueeze', [c.inAs(k, t), axes]));
  c.node('Concat', inputs, { axis: { int: axis } }, [c.out()]);
}

/** Slice along one dim; along the batch dim only the whole range is exported (as an identity). */
function sliceDim(c: OpContext, dim: number, start: number, end: bigint, step: number): void {
  const s1 = c.inShape(0);
  const d = normDim(dim, s1.length);
  const s2 = c.inShape2(0) ?? s1;
  const o2 = c.outShape2() ?? c.outShape();
  if (s1[d] !== s2[d]) {
    if (c.outShape()[d] === s1[d] && o2[d] === s2[d] && start === 0 && step === 1) {
      c.alias(c.in(0));
      return;
    }
    c.fail(`slices the batch dim ${d}; only non-batch dims can be sliced in an export with a dynamic batch`);
  }
  if (step < 1) c.fail(`has step ${step}; torch slices need a positive step`);
  const inputs = [c.in(0), c.int64s([start], 'starts'), c.int64s([end], 'ends'), c.int64s([d], 'axes'), c.int64s([step], 'steps')];
  c.node('Slice', inputs, {}, [c.out()]);
}

// slice: [dim, start, end|null, step]; narrow: [dim, start, length]
function slice(c: OpContext): void {
  const end = c.attr(2) === undefined ? INT64_MAX : BigInt(c.num(2, 0));
  sliceDim(c, c.num(0, 0), c.num(1, 0), end, c.num(3, 1));
}
function narrow(c: OpContext): void {
  const start = c.num(1, 0);
  sliceDim(c, c.num(0, 0), start, BigInt(start + c.num(2, 0)), 1);
}

// [dims]
function flip(c: OpContext): void {
  const rank = c.inShape(0).length;
  const axes = (c.list(0) ?? []).map((d) => normDim(d, rank));
  const n = axes.length;
  const inputs = [c.in(0), c.int64s(new Array<number>(n).fill(-1), 'starts'), c.int64s(new Array<bigint>(n).fill(INT64_MIN), 'ends')];
  c.node('Slice', [...inputs, c.int64s(axes, 'axes'), c.int64s(new Array<number>(n).fill(-1), 'steps')], {}, [c.out()]);
}

// [times]: torch prepends dims when there are more repeats than dims.
function repeat(c: OpContext): void {
  const times = c.list(0) ?? [];
  const extra = times.length - c.inShape(0).length;
  const x = extra > 0 ? c.node('Unsqueeze', [c.in(0), c.int64s(Array.from({ length: extra }, (_, k) => k), 'axes')]) : c.in(0);
  c.node('Tile', [x, c.int64s(times, 'repeats')], {}, [c.out()]);
}

// [dtype, device?]
function to(c: OpContext): void {
  const from = c.inDtype(0);
  const t = c.outDtype();
  if (from === t) c.alias(c.in(0));
  else c.node('Cast', [c.in(0)], { to: { int: ONNX_DTYPE[t] ?? c.fail(`casts to ${t}`) } }, [c.out()]);
}

const identity: OpEmitter = (c) => c.alias(c.in(0));

export const SHAPE_OPS: Readonly<Record<string, OpEmitter>> = {
  reshape,
  view: reshape,
  flatten,
  permute,
  transpose,
  squeeze,
  unsqueeze,
  expand,
  contiguous: identity,
  clone: identity,
  detach: identity,
  cat,
  stack,
  slice,
  narrow,
  index_select: (c) => {
    c.node('Gather', [c.in(0), c.in(1, 'index')], { axis: { int: normDim(c.num(0, 0), c.inShape(0).length) } }, [c.out()]);
  },
  gather: (c) => {
    c.node('GatherElements', [c.in(0), c.in(1, 'index')], { axis: { int: normDim(c.num(0, 0), c.inShape(0).length) } }, [c.out()]);
  },
  flip,
  repeat,
  to,
};
