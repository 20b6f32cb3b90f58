/**
 * ONNX nodes for the engine's math ops (native/src/ops_math.cc): elementwise arithmetic (tensor and scalar
 * forms, with torch's type promotion made explicit by Casts), comparisons, matmul and reductions.
 */
import type { AttrValue } from '../formats/onnx/graphBuilder.js';
import { normDim, type OpContext } from './onnxOpsContext.js';
import type { OpEmitter } from './onnxOpsNn.js';

const FLOATS = new Set(['float32', 'float64', 'float16']);

/** The dtype two operands meet at (for comparisons, whose output dtype is bool). */
function common(a: string, b: string): string {
  if (a === b) return a;
  if (FLOATS.has(a) !== FLOATS.has(b)) return FLOATS.has(a) ? a : b;
  return FLOATS.has(a) ? 'float32' : 'int64';
}

/** Binary op on two tensors; inputs are cast to the output dtype (torch type promotion). */
const binary = (opType: string): OpEmitter => (c) => {
  const t = c.outDtype();
  c.node(opType, [c.inAs(0, t, 'a'), c.inAs(1, t, 'b')], {}, [c.out()]);
};

/** Binary op with the scalar attribute 0 as second (or, reversed, first) operand. */
const withScalar = (opType: string, reversed = false): OpEmitter => (c) => {
  const t = c.outDtype();
  const x = c.inAs(0, t);
  const s = c.scalar(c.num(0, 0), t);
  c.node(opType, reversed ? [s, x] : [x, s], {}, [c.out()]);
};

const compare = (opType: string, negate = false): OpEmitter => (c) => {
  const t = common(c.inDtype(0), c.inDtype(1));
  const inputs = [c.inAs(0, t, 'a'), c.inAs(1, t, 'b')];
  if (!negate) c.node(opType, inputs, {}, [c.out()]);
  else c.node('Not', [c.node(opType, inputs)], {}, [c.out()]);
};

const compareScalar = (opType: string): OpEmitter => (c) => {
  const v = c.num(0, 0);
  const t = Number.isInteger(v) ? c.inDtype(0) : common(c.inDtype(0), 'float32');
  c.node(opType, [c.inAs(0, t), c.scalar(v, t)], {}, [c.out()]);
};

const unary = (opType: string): OpEmitter => (c) => {
  c.node(opType, [c.inAs(0, c.outDtype())], {}, [c.out()]);
};

function square(c: OpContext): void {
  const x = c.in(0);
  c.node('Mul', [x, x], {}, [c.out()]);
}

// [min|null, max|null]
function clamp(c: OpContext): void {
  const t = c.outDtype();
  const lo = c.attr(0) === undefined ? '' : c.scalar(c.num(0, 0), t, 'min');
  const hi = c.attr(1) === undefined ? '' : c.scalar(c.num(1, 0), t, 'max');
  c.node('Clip', [c.inAs(0, t), lo, hi], {}, [c.out()]);
}

function where(c: OpContext): void {
  const t = c.outDtype();
  c.node('Where', [c.inAs(0, 'bool', 'cond'), c.inAs(1, t, 'a'), c.inAs(2, t, 'b')], {}, [c.out()]);
}

/** A reduce node; axes undefined = all dims. ReduceSum (13+) and the others (18+) take axes as an input. */
export function reduce(c: OpContext, opType: string, x: string, axes: readonly number[] | undefined, keep: boolean, output?: string): string {
  const attrs: Record<string, AttrValue> = { keepdims: { int: keep ? 1 : 0 } };
  const inputs = [x];
  if (axes !== undefined && axes.length > 0) {
    if (opType === 'ReduceSum' || c.opset >= 18) inputs.push(c.int64s(axes, 'axes'));
    else attrs['axes'] = { ints: axes };
  }
  return c.node(opType, inputs, attrs, output === undefined ? undefined : [output]);
}

// sum / mean: [dims|null, keepdim]
const reduceOp = (opType: string): OpEmitter => (c) => {
  const rank = c.inShape(0).length;
  const dims = c.list(0)?.map((d) => normDim(d, rank));
  reduce(c, opType, c.inAs(0, c.outDtype()), dims, c.bool(1, false), c.out());
};

// max / min: [] → the value over all elements; [dim, keepdim] → values and indices along dim
const extreme = (which: 'Max' | 'Min'): OpEmitter => (c) => {
  const dim = c.attr(0);
  if (dim === undefined) {
    reduce(c, `Reduce${which}`, c.in(0), undefined, false, c.out());
    return;
  }
  const d = normDim(c.num(0, 0), c.inShape(0).length);
  const keep = c.bool(1, false);
  reduce(c, `Reduce${which}`, c.in(0), [d], keep, c.out(0));
  if (c.step.outputs.length > 1) c.node(`Arg${which}`, [c.in(0)], { axis: { int: d }, keepdims: { int: keep ? 1 : 0 } }, [c.out(1)]);
};

// [dim|null, keepdim]
function argmax(c: OpContext): void {
  if (c.attr(0) !== undefined) {
    const d = normDim(c.num(0, 0), c.inShape(0).length);
    c.node('ArgMax', [c.in(0)], { axis: { int: d }, keepdims: { int: c.bool(1, false) ? 1 : 0 } }, [c.out()]);
    return;
  }
  const flat = c.node('Reshape', [c.in(0), c.int64s([-1], 'shape')]);
  const arg = c.node('ArgMax', [flat], { axis: { int: 0 }, keepdims: { int: 0 } });
  c.node('Reshape', [arg, c.int64s(c.outShape(), 'out_shape')], {}, [c.out()]);
}

// [k, dim, largest, sorted]
function topk(c: OpContext): void {
  const d = normDim(c.num(1, -1), c.inShape(0).length);
  if (!c.bool(3, true)) c.fail('with sorted=false is not exported');
  const attrs = { axis: { int: d }, largest: { int: c.bool(2, true) ? 1 : 0 }, sorted: { int: 1 } };
  c.g.addNode('TopK', [c.in(0), c.int64s([c.num(0, 1)], 'k')], [c.out(0), c.out(1)], attrs, c.g.fresh(`${c.base}/TopK`));
}

export const MATH_OPS: Readonly<Record<string, OpEmitter>> = {
  add: binary('Add'),
  sub: binary('Sub'),
  mul: binary('Mul'),
  div: binary('Div'),
  pow: binary('Pow'),
  maximum: binary('Max'),
  minimum: binary('Min'),
  matmul: binary('MatMul'),
  add_scalar: withScalar('Add'),
  sub_scalar: withScalar('Sub'),
  rsub_scalar: withScalar('Sub', true),
  mul_scalar: withScalar('Mul'),
  div_scalar: withScalar('Div'),
  pow_scalar: withScalar('Pow'),
  neg: unary('Neg'),
  abs: unary('Abs'),
  exp: unary('Exp'),
  log: unary('Log'),
  sqrt: unary('Sqrt'),
  sign: unary('Sign'),
  square,
  clamp,
  where,
  eq: compare('Equal'),
  ne: compare('Equal', true),
  lt: compare('Less'),
  le: compare('LessOrEqual'),
  gt: compare('Greater'),
  ge: compare('GreaterOrEqual'),
  eq_scalar: compareScalar('Equal'),
  gt_scalar: compareScalar('Greater'),
  lt_scalar: compareScalar('Less'),
  logical_not: (c) => {
    c.node('Not', [c.inAs(0, 'bool')], {}, [c.out()]);
  },
  sum: reduceOp('ReduceSum'),
  mean: reduceOp('ReduceMean'),
  max: extreme('Max'),
  min: extreme('Min'),
  argmax,
  topk,
};
