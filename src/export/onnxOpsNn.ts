/**
 * ONNX nodes for the engine's nn ops (native/src/ops_nn.cc): convolution, batch norm, linear, activations,
 * pooling, dropout, resampling and padding. Attribute layouts follow the comments in ops_nn.cc.
 */
import { foldBatchNorm } from '../formats/onnx/foldBatchNorm.js';
import type { AttrValue } from '../formats/onnx/graphBuilder.js';
import type { OpContext } from './onnxOpsContext.js';

export type OpEmitter = (c: OpContext) => void;

/** Conv attributes from [stride, padding, dilation, groups] and the weight's kernel size. */
function convAttrs(c: OpContext): Record<string, AttrValue> {
  const w = c.inShape(1);
  const [ph, pw] = c.ints(1, 2, [0, 0]) as [number, number];
  return {
    kernel_shape: { ints: [w[2] ?? 1, w[3] ?? 1] },
    strides: { ints: c.ints(0, 2, [1, 1]) },
    pads: { ints: [ph, pw, ph, pw] },
    dilations: { ints: c.ints(2, 2, [1, 1]) },
    group: { int: c.num(3, 1) },
  };
}

function conv2d(c: OpContext): void {
  if (c.inShape(0).length !== 4) c.fail('expects an NCHW input');
  const inputs = [c.in(0), c.in(1, 'weight')];
  if (c.has(2)) inputs.push(c.in(2, 'bias'));
  c.node('Conv', inputs, convAttrs(c), [c.out()]);
}

const floats = (d: ReturnType<OpContext['inData']>): Float32Array | undefined => (d instanceof Float32Array ? d : undefined);

/** Whether `bn` (eval mode) can be folded into `conv`: every weight and statistic is known at export time. */
export function canFoldBatchNorm(conv: OpContext, bn: OpContext): boolean {
  if (bn.bool(0, false) || conv.attrsVary || conv.inDtype(1) !== 'float32') return false;
  if (floats(conv.inData(1)) === undefined || (conv.has(2) && floats(conv.inData(2)) === undefined)) return false;
  for (const k of [1, 2]) if (bn.has(k) && floats(bn.inData(k)) === undefined) return false;
  return floats(bn.inData(3)) !== undefined && floats(bn.inData(4)) !== undefined;
}

/** conv → batch_norm as one Conv with folded weights, named '<conv weight>+<bn layer>'. */
export function emitConvBn(conv: OpContext, bn: OpContext): void {
  const c = conv.outShape()[1] ?? 0;
  const w = floats(conv.inData(1)) as Float32Array;
  const b = floats(conv.inData(2));
  const folded = foldBatchNorm(
    { weight: { data: w, shape: conv.inShape(1) }, ...(b === undefined ? {} : { bias: { data: b, shape: [c] } }) },
    {
      weight: floats(bn.inData(1)) ?? new Float32Array(c).fill(1),
      bias: floats(bn.inData(2)) ?? new Float32Array(c),
      runningMean: floats(bn.inData(3)) as Float32Array,
      runningVar: floats(bn.inData(4)) as Float32Array,
      eps: bn.num(2, 1e-5),
    },
  );
  const g = conv.g;
  const wName = g.addInitializer(g.fresh(`${conv.paramName(1) ?? `${conv.base}.weight`}+${bn.base}`), folded.weight.shape, folded.weight.data);
  const bName = g.addInitializer(g.fresh(`${conv.paramName(2) ?? `${conv.base}.bias`}+${bn.base}`), [c], folded.bias?.data ?? new Float32Array(c));
  conv.node('Conv', [conv.in(0), wName, bName], convAttrs(conv), [bn.out()]);
}

function batchNorm(c: OpContext): void {
  if (c.bool(0, false)) c.fail('runs in training mode (batch statistics); exportOnnx puts the module it is given in eval mode — when exporting a function, pass { module } (or call module.eval())');
  const ch = c.inShape(0)[1] ?? 0;
  const scale = c.has(1) ? c.in(1, 'weight') : c.g.addInitializer(c.g.fresh(`${c.base}.weight`), [ch], new Float32Array(ch).fill(1));
  const bias = c.has(2) ? c.in(2, 'bias') : c.g.addInitializer(c.g.fresh(`${c.base}.bias`), [ch], new Float32Array(ch));
  c.node('BatchNormalization', [c.in(0), scale, bias, c.in(3, 'running_mean'), c.in(4, 'running_var')], { epsilon: { float: c.num(2, 1e-5) } }, [c.out()]);
}

function linear(c: OpContext): void {
  const x = c.inAs(0, c.outDtype());
  const w = c.in(1, 'weight');
  if (c.inShape(0).length === 2) {
    const inputs = c.has(2) ? [x, w, c.in(2, 'bias')] : [x, w];
    c.node('Gemm', inputs, { transB: { int: 1 } }, [c.out()]);
    return;
  }
  const wt = c.node('Transpose', [w], { perm: { ints: [1, 0] } });
  if (!c.has(2)) {
    c.node('MatMul', [x, wt], {}, [c.out()]);
    return;
  }
  c.node('Add', [c.node('MatMul', [x, wt]), c.in(2, 'bias')], {}, [c.out()]);
}

const unary = (opType: string, attrs: (c: OpContext) => Record<string, AttrValue> = () => ({})): OpEmitter => (c) => {
  c.node(opType, [c.in(0)], attrs(c), [c.out()]);
};

/** Exact (erf) GELU, torch's default: x · (1 + erf(x / √2)) / 2. */
function gelu(c: OpContext): void {
  const x = c.in(0);
  const erf = c.node('Erf', [c.node('Div', [x, c.scalar(Math.SQRT2)])]);
  const onePlus = c.node('Add', [erf, c.scalar(1)]);
  c.node('Mul', [c.node('Mul', [x, onePlus]), c.scalar(0.5)], {}, [c.out()]);
}

function relu6(c: OpContext): void {
  const t = c.inDtype(0);
  c.node('Clip', [c.in(0), c.scalar(0, t, 'min'), c.scalar(6, t, 'max')], {}, [c.out()]);
}

function poolAttrs(kernel: number[], stride: number[], pad: number[], ceil: boolean): Record<string, AttrValue> {
  const [ph, pw] = pad as [number, number];
  return { kernel_shape: { ints: kernel }, strides: { ints: stride }, pads: { ints: [ph, pw, ph, pw] }, ceil_mode: { int: ceil ? 1 : 0 } };
}

// [kernel, stride, padding, dilation, ceil]
function maxPool2d(c: OpContext): void {
  const k = c.ints(0, 2, [1, 1]);
  const attrs = { ...poolAttrs(k, c.ints(1, 2, k), c.ints(2, 2, [0, 0]), c.bool(4, false)), dilations: { ints: c.ints(3, 2, [1, 1]) } };
  c.node('MaxPool', [c.in(0)], attrs, [c.out()]);
}

// [kernel, stride, padding, ceil, count_include_pad]
function avgPool2d(c: OpContext): void {
  const k = c.ints(0, 2, [1, 1]);
  const attrs = { ...poolAttrs(k, c.ints(1, 2, k), c.ints(2, 2, [0, 0]), c.bool(3, false)), count_include_pad: { int: c.bool(4, true) ? 1 : 0 } };
  c.node('AveragePool', [c.in(0)], attrs, [c.out()]);
}

/** Adaptive pooling: global when the output is 1×1, else a fixed pool when the sizes divide evenly. */
const adaptivePool = (kind: 'Average' | 'Max'): OpEmitter => (c) => {
  const [oh, ow] = c.ints(0, 2, [1, 1]) as [number, number];
  const [, , h = 0, w = 0] = c.inShape(0);
  if (oh === 1 && ow === 1) {
    c.node(`Global${kind}Pool`, [c.in(0)], {}, [c.out()]);
    return;
  }
  if (h % oh !== 0 || w % ow !== 0) c.fail(`maps ${h}×${w} to ${oh}×${ow}; only 1×1 or evenly dividing output sizes are exported`);
  const k = [h / oh, w / ow];
  const attrs: Record<string, AttrValue> = { ...poolAttrs(k, k, [0, 0], false), ...(kind === 'Average' ? { count_include_pad: { int: 0 } } : {}) };
  c.node(`${kind}Pool`, [c.in(0)], attrs, [c.out()]);
};

// [p, training]
function dropout(c: OpContext): void {
  if (c.bool(1, false) && c.num(0, 0.5) > 0) c.fail('runs in training mode (random); exportOnnx traces eval mode — do not force training=true in forward');
  c.alias(c.in(0));
}

// [size|null, scale|null, mode ('nearest'|'bilinear'), align_corners]
function interpolate(c: OpContext): void {
  const mode = c.str(2, 'nearest');
  const align = c.bool(3, false);
  if (mode !== 'nearest' && mode !== 'bilinear') c.fail(`mode '${mode}' is not exported (nearest, bilinear)`);
  const attrs: Record<string, AttrValue> =
    mode === 'nearest'
      ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
      : { mode: 'linear', coordinate_transformation_mode: align ? 'align_corners' : 'pytorch_half_pixel' };
  const x = c.in(0);
  const size = c.list(0);
  if (size === undefined) {
    const s = c.num(1, 1);
    const scales = c.g.addInitializer(c.g.fresh(`${c.base}.scales`), [4], Float32Array.of(1, 1, s, s));
    c.node('Resize', [x, '', scales], attrs, [c.out()]);
    return;
  }
  const hw = size.length === 1 ? [size[0] ?? 1, size[0] ?? 1] : size;
  // sizes = [N, C] of the input (N is symbolic) followed by the fixed output H, W.
  const nc = c.node('Slice', [c.node('Shape', [x]), c.int64s([0], 'start'), c.int64s([2], 'end')]);
  const sizes = c.node('Concat', [nc, c.int64s(hw, 'hw')], { axis: { int: 0 } });
  c.node('Resize', [x, '', '', sizes], attrs, [c.out()]);
}

// [pads (last dim first, as torch.nn.functional.pad), mode, value]
function pad(c: OpContext): void {
  const p = c.list(0) ?? [];
  const rank = c.inShape(0).length;
  if (p.length % 2 !== 0 || p.length / 2 > rank) c.fail(`has ${p.length} pads for a rank-${rank} input`);
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  for (let j = 0; j < p.length / 2; j++) {
    begin[rank - 1 - j] = p[2 * j] ?? 0;
    end[rank - 1 - j] = p[2 * j + 1] ?? 0;
  }
  const torchMode = c.str(1, 'constant');
  const mode = torchMode === 'replicate' ? 'edge' : torchMode;
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') c.fail(`mode '${torchMode}' is not exported`);
  const inputs = [c.in(0), c.int64s([...begin, ...end], 'pads')];
  if (mode === 'constant') inputs.push(c.scalar(c.num(2, 0), c.inDtype(0), 'value'));
  c.node('Pad', inputs, { mode }, [c.out()]);
}

export const NN_OPS: Readonly<Record<string, OpEmitter>> = {
  conv2d,
  batch_norm: batchNorm,
  linear,
  relu: unary('Relu'),
  leaky_relu: unary('LeakyRelu', (c) => ({ alpha: { float: c.num(0, 0.01) } })),
  relu6,
  sigmoid: unary('Sigmoid'),
  tanh: unary('Tanh'),
  gelu,
  elu: unary('Elu', (c) => ({ alpha: { float: c.num(0, 1) } })),
  softmax: unary('Softmax', (c) => ({ axis: { int: c.num(0, -1) } })),
  log_softmax: unary('LogSoftmax', (c) => ({ axis: { int: c.num(0, -1) } })),
  max_pool2d: maxPool2d,
  avg_pool2d: avgPool2d,
  adaptive_avg_pool2d: adaptivePool('Average'),
  adaptive_max_pool2d: adaptivePool('Max'),
  dropout,
  dropout2d: dropout,
  interpolate,
  pad,
};
