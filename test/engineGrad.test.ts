/** Gradient checks (central finite differences in float64) for every differentiable op of the engine. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { F, labels, liveTensors, manualSeed, native, run, runMulti, tensor, cat, stack, where, type Tensor } from '../src/engine/index.js';
import { gradcheck, sample, seededRandom, type GradcheckOptions } from './helpers/gradcheck.js';

const rand = seededRandom(42);
const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
/** A float64 tensor of seeded values in [lo, hi), kept `margin` away from the kinks. */
const f64 = (shape: readonly number[], lo = -1, hi = 1, kinks: readonly number[] = [], margin = 0.05): Tensor =>
  tensor(sample(rand, numel(shape), lo, hi, kinks, margin), shape, { dtype: 'float64' });
/** Distinct values (a shuffled, jittered ramp) so max/sort/pooling have no ties. */
const distinct = (shape: readonly number[]): Tensor => {
  const n = numel(shape);
  const v = Float64Array.from({ length: n }, (_, k) => (k - n / 2) / n + 0.2 * rand() / n);
  for (let k = n - 1; k > 0; k--) {
    const j = Math.floor(rand() * (k + 1));
    [v[k], v[j]] = [v[j] as number, v[k] as number];
  }
  return tensor(v, shape, { dtype: 'float64' });
};
const idx = (values: readonly number[], shape?: readonly number[]): Tensor =>
  tensor(BigInt64Array.from(values, (v) => BigInt(v)), shape ?? [values.length], { dtype: 'int64' });

interface GradCase {
  readonly name: string;
  /** The table ops this case exercises (the coverage test below checks every differentiable op has a case). */
  readonly ops: readonly string[];
  readonly inputs: () => Tensor[];
  readonly fn: (...xs: Tensor[]) => Tensor;
  readonly options?: GradcheckOptions;
}

const c = (name: string, ops: readonly string[], inputs: () => Tensor[], fn: (...xs: Tensor[]) => Tensor, options?: GradcheckOptions): GradCase =>
  options === undefined ? { name, ops, inputs, fn } : { name, ops, inputs, fn, options };
const x23 = (): Tensor[] => [f64([2, 3])];
/** Two inputs that differ by ±0.3 everywhere, the larger one alternating (no ties for maximum/minimum). */
const apart = (): Tensor[] => {
  const a = sample(rand, 6);
  const b = a.map((v, k) => v + (k % 2 === 0 ? 0.3 : -0.3));
  return [tensor(a, [2, 3], { dtype: 'float64' }), tensor(b, [2, 3], { dtype: 'float64' })];
};
const img = (n: number, ch: number, h: number, w: number): Tensor => f64([n, ch, h, w]);

const elementwise: GradCase[] = [
  c('add (broadcast)', ['add'], () => [f64([2, 3]), f64([3])], (a, b) => a.add(b)),
  c('sub (broadcast)', ['sub'], () => [f64([2, 1, 3]), f64([4, 1])], (a, b) => a.sub(b)),
  c('mul (broadcast)', ['mul'], () => [f64([2, 3]), f64([2, 1])], (a, b) => a.mul(b)),
  c('div', ['div'], () => [f64([2, 3]), f64([2, 3], 0.5, 1.5)], (a, b) => a.div(b)),
  c('pow', ['pow'], () => [f64([2, 3], 0.5, 1.5), f64([2, 3], -1.5, 1.5)], (a, b) => a.pow(b)),
  c('add_scalar', ['add_scalar'], x23, (a) => a.add(0.7)),
  c('sub_scalar', ['sub_scalar'], x23, (a) => a.sub(0.7)),
  c('rsub_scalar', ['rsub_scalar'], x23, (a) => run('rsub_scalar', [a], [2])),
  c('mul_scalar', ['mul_scalar'], x23, (a) => a.mul(-1.3)),
  c('div_scalar', ['div_scalar'], x23, (a) => a.div(0.6)),
  c('pow_scalar', ['pow_scalar'], () => [f64([2, 3], 0.3, 2)], (a) => a.pow(2.5)),
  c('neg', ['neg'], x23, (a) => a.neg()),
  c('abs', ['abs'], () => [f64([2, 3], -1, 1, [0])], (a) => a.abs()),
  c('exp', ['exp'], x23, (a) => a.exp()),
  c('log', ['log'], () => [f64([2, 3], 0.2, 2)], (a) => a.log()),
  c('sqrt', ['sqrt'], () => [f64([2, 3], 0.2, 2)], (a) => a.sqrt()),
  c('square', ['square'], x23, (a) => a.square()),
  c('sign (zero gradient)', ['sign'], () => [f64([2, 3], -1, 1, [0])], (a) => a.sign().mul(a)),
  c('clamp both', ['clamp'], () => [f64([3, 4], -1, 1, [-0.5, 0.5])], (a) => a.clamp(-0.5, 0.5)),
  c('clamp min only', ['clamp'], () => [f64([3, 4], -1, 1, [0.1])], (a) => a.clamp(0.1)),
  c('maximum', ['maximum'], apart, (a, b) => a.maximum(b)),
  c('minimum', ['minimum'], apart, (a, b) => a.minimum(b)),
  c('where', ['where'], () => [tensor(new Uint8Array([1, 0, 0, 1, 1, 0]), [2, 3], { dtype: 'bool' }), f64([2, 3]), f64([3])], (m, a, b) => where(m, a, b)),
  c('matmul 2-D', ['matmul'], () => [f64([2, 3]), f64([3, 4])], (a, b) => a.matmul(b)),
  c('matmul batched', ['matmul'], () => [f64([2, 2, 3]), f64([3, 2])], (a, b) => a.matmul(b)),
  c('matmul vector', ['matmul'], () => [f64([3, 4]), f64([4])], (a, b) => a.matmul(b)),
];

const reductions: GradCase[] = [
  c('sum all', ['sum'], x23, (a) => a.sum()),
  c('sum dims keepDim', ['sum'], () => [f64([2, 3, 2])], (a) => a.sum([0, 2], true)),
  c('mean all', ['mean'], x23, (a) => a.mean()),
  c('mean dim', ['mean'], () => [f64([2, 3, 2])], (a) => a.mean(1)),
  c('var all', ['var'], x23, (a) => a.var()),
  c('var dim biased', ['var'], () => [f64([3, 4])], (a) => a.var(1, true, false)),
  c('std all', ['std'], x23, (a) => a.std()),
  c('std dim', ['std'], () => [f64([3, 4])], (a) => a.std(0)),
  c('max all', ['max'], () => [distinct([3, 4])], (a) => a.max()),
  c('max along dim', ['max'], () => [distinct([3, 4])], (a) => a.maxAlong(1).values),
  c('min all', ['min'], () => [distinct([3, 4])], (a) => a.min()),
  c('min along dim keepDim', ['min'], () => [distinct([3, 4])], (a) => a.minAlong(0, true).values),
  c('sort values', ['sort'], () => [distinct([2, 5])], (a) => runMulti('sort', [a], [1, true])[0] as Tensor),
  c('topk values', ['topk'], () => [distinct([2, 5])], (a) => a.topk(2).values),
  c('softmax', ['softmax'], () => [f64([3, 4], -2, 2)], (a) => a.softmax(1)),
  c('log_softmax', ['log_softmax'], () => [f64([3, 4], -2, 2)], (a) => a.logSoftmax(-1)),
];

const shapes: GradCase[] = [
  c('reshape', ['reshape'], x23, (a) => a.reshape([3, 2])),
  c('view', ['view'], x23, (a) => a.view([6])),
  c('permute', ['permute'], () => [f64([2, 3, 4])], (a) => a.permute([2, 0, 1])),
  c('transpose', ['transpose'], () => [f64([2, 3, 4])], (a) => a.transpose(0, 2)),
  c('flatten', ['flatten'], () => [f64([2, 3, 2])], (a) => a.flatten(1)),
  c('squeeze', ['squeeze'], () => [f64([2, 1, 3])], (a) => a.squeeze(1)),
  c('unsqueeze', ['unsqueeze'], x23, (a) => a.unsqueeze(0)),
  c('contiguous (of a transpose)', ['contiguous'], x23, (a) => a.transpose(0, 1).contiguous()),
  c('clone', ['clone'], x23, (a) => a.clone()),
  c('to (float64)', ['to'], x23, (a) => a.to('float64')),
  c('slice with step', ['slice'], () => [f64([3, 6])], (a) => a.slice(1, 1, null, 2)),
  c('narrow', ['narrow'], () => [f64([4, 3])], (a) => a.narrow(0, 1, 2)),
  c('index_select (repeated index)', ['index_select'], () => [f64([4, 3]), idx([3, 0, 3])], (a, i) => a.indexSelect(0, i)),
  c('gather', ['gather'], () => [f64([3, 4]), idx([0, 3, 1, 1, 2, 0], [3, 2])], (a, i) => a.gather(1, i)),
  c('masked_select', ['masked_select'], () => [f64([2, 3]), tensor(new Uint8Array([1, 0, 1, 1, 0, 0]), [2, 3], { dtype: 'bool' })], (a, m) => run('masked_select', [a, m])),
  c('flip', ['flip'], () => [f64([2, 3, 2])], (a) => a.flip([0, 2])),
  c('cat', ['cat'], () => [f64([2, 3]), f64([1, 3])], (a, b) => cat([a, b], 0)),
  c('stack', ['stack'], () => [f64([2, 3]), f64([2, 3])], (a, b) => stack([a, b], 1)),
  c('expand', ['expand'], () => [f64([3, 1])], (a) => a.expand([2, 3, 4])),
  c('repeat', ['repeat'], () => [f64([2, 3])], (a) => a.repeat([2, 1, 2])),
];

const convs: GradCase[] = [
  c('conv2d + bias', ['conv2d'], () => [img(2, 2, 5, 5), img(3, 2, 3, 3), f64([3])], (x, w, b) => F.conv2d(x, w, b)),
  c('conv2d stride 2 padding 1', ['conv2d'], () => [img(1, 2, 5, 6), img(3, 2, 3, 3)], (x, w) => F.conv2d(x, w, null, { stride: 2, padding: 1 })),
  c('conv2d asymmetric stride/padding', ['conv2d'], () => [img(1, 1, 5, 6), img(2, 1, 2, 3)], (x, w) => F.conv2d(x, w, null, { stride: [1, 2], padding: [0, 1] })),
  c('conv2d dilation 2', ['conv2d'], () => [img(1, 2, 6, 6), img(2, 2, 3, 3), f64([2])], (x, w, b) => F.conv2d(x, w, b, { dilation: 2, padding: 1 })),
  c('conv2d groups 2', ['conv2d'], () => [img(1, 4, 4, 4), img(4, 2, 3, 3), f64([4])], (x, w, b) => F.conv2d(x, w, b, { groups: 2, padding: 1 })),
  c('conv2d depthwise (multiplier 2)', ['conv2d'], () => [img(2, 3, 4, 4), img(6, 1, 3, 3)], (x, w) => F.conv2d(x, w, null, { groups: 3 })),
  c('separableConv2d', ['conv2d'], () => [img(1, 3, 5, 5), img(3, 1, 3, 3), img(4, 3, 1, 1), f64([4])], (x, d, p, b) => F.separableConv2d(x, d, p, b, { padding: 1, stride: 2 })),
  c('linear + bias', ['linear'], () => [f64([3, 4]), f64([2, 4]), f64([2])], (x, w, b) => F.linear(x, w, b)),
  c('linear no bias, 3-D input', ['linear'], () => [f64([2, 2, 4]), f64([3, 4])], (x, w) => F.linear(x, w)),
  c('batch_norm training (affine)', ['batch_norm'], () => [img(3, 2, 2, 2), f64([2], 0.5, 1.5), f64([2])], (x, w, b) => F.batchNorm(x, null, null, w, b, { training: true })),
  c(
    'batch_norm training with running stats',
    ['batch_norm'],
    () => [img(4, 2, 2, 1), f64([2], 0.5, 1.5), f64([2]), tensor(new Float64Array(2), [2], { dtype: 'float64' }), tensor(new Float64Array([1, 1]), [2], { dtype: 'float64' })],
    (x, w, b, m, v) => F.batchNorm(x, m, v, w, b, { training: true, momentum: 0.2 }),
    { wrt: [0, 1, 2] },
  ),
  c(
    'batch_norm eval',
    ['batch_norm'],
    () => [img(2, 2, 2, 2), f64([2], 0.5, 1.5), f64([2]), f64([2]), f64([2], 0.5, 2)],
    (x, w, b, m, v) => F.batchNorm(x, m, v, w, b, { training: false }),
    { wrt: [0, 1, 2] },
  ),
];

const activations: GradCase[] = [
  c('relu', ['relu'], () => [f64([3, 4], -1, 1, [0])], (a) => F.relu(a)),
  c('leaky_relu', ['leaky_relu'], () => [f64([3, 4], -1, 1, [0])], (a) => F.leakyRelu(a, 0.2)),
  c('relu6', ['relu6'], () => [f64([3, 4], -2, 8, [0, 6], 0.2)], (a) => F.relu6(a)),
  c('sigmoid', ['sigmoid'], () => [f64([3, 4], -3, 3)], (a) => F.sigmoid(a)),
  c('tanh', ['tanh'], () => [f64([3, 4], -2, 2)], (a) => F.tanh(a)),
  c('gelu', ['gelu'], () => [f64([3, 4], -3, 3)], (a) => F.gelu(a)),
  c('elu', ['elu'], () => [f64([3, 4], -2, 2, [0])], (a) => run('elu', [a], [0.7])),
  c('max_pool2d 2x2', ['max_pool2d'], () => [distinct([1, 2, 4, 4])], (a) => F.maxPool2d(a, 2)),
  c('max_pool2d 3x3 stride 2 pad 1', ['max_pool2d'], () => [distinct([2, 1, 5, 5])], (a) => F.maxPool2d(a, 3, { stride: 2, padding: 1 })),
  c('max_pool2d dilation + ceil', ['max_pool2d'], () => [distinct([1, 1, 6, 6])], (a) => F.maxPool2d(a, 2, { stride: 2, dilation: 2, ceilMode: true })),
  c('avg_pool2d', ['avg_pool2d'], () => [img(1, 2, 4, 4)], (a) => F.avgPool2d(a, 2)),
  c('avg_pool2d pad, exclude pad', ['avg_pool2d'], () => [img(1, 1, 5, 5)], (a) => F.avgPool2d(a, 3, { stride: 2, padding: 1, countIncludePad: false })),
  c('adaptive_avg_pool2d', ['adaptive_avg_pool2d'], () => [img(1, 2, 5, 5)], (a) => F.adaptiveAvgPool2d(a, [2, 3])),
  c('adaptive_max_pool2d', ['adaptive_max_pool2d'], () => [distinct([1, 2, 5, 5])], (a) => F.adaptiveMaxPool2d(a, 2)),
  c('dropout (fixed mask)', ['dropout'], () => [f64([4, 5])], (a) => F.dropout(a, 0.4, true), { before: () => manualSeed(7) }),
  c('dropout2d (fixed mask)', ['dropout2d'], () => [img(2, 4, 2, 2)], (a) => F.dropout2d(a, 0.5, true), { before: () => manualSeed(11) }),
];

const target = (): Tensor => labels([2, 0, 1, 2]);
const losses: GradCase[] = [
  c('cross_entropy', ['cross_entropy'], () => [f64([4, 3], -2, 2), target()], (l, t) => F.crossEntropy(l, t)),
  c('cross_entropy class weights', ['cross_entropy'], () => [f64([4, 3], -2, 2), target(), f64([3], 0.3, 2)], (l, t, w) => F.crossEntropy(l, t, { weight: w }), { wrt: [0] }),
  c('cross_entropy label smoothing', ['cross_entropy'], () => [f64([4, 3], -2, 2), target()], (l, t) => F.crossEntropy(l, t, { labelSmoothing: 0.1 })),
  c(
    'cross_entropy weights + smoothing, sum',
    ['cross_entropy'],
    () => [f64([4, 3], -2, 2), target(), f64([3], 0.3, 2)],
    (l, t, w) => F.crossEntropy(l, t, { weight: w, labelSmoothing: 0.2, reduction: 'sum' }),
    { wrt: [0] },
  ),
  c('cross_entropy none, ignore_index', ['cross_entropy'], () => [f64([4, 3], -2, 2), labels([2, 1, 0, 1])], (l, t) => F.crossEntropy(l, t, { reduction: 'none', ignoreIndex: 1 })),
  c('cross_entropy soft targets', ['cross_entropy'], () => [f64([3, 4], -2, 2), f64([3, 4], 0, 1)], (l, p) => F.crossEntropy(l, p.softmax(1))),
  c('nll_loss', ['nll_loss'], () => [f64([4, 3], -2, 2), target()], (l, t) => run('nll_loss', [l.logSoftmax(1), t])),
  c('nll_loss weights, sum', ['nll_loss'], () => [f64([4, 3], -2, 2), target(), f64([3], 0.3, 2)], (l, t, w) => run('nll_loss', [l, t, w], ['sum']), { wrt: [0] }),
  c('mse_loss', ['mse_loss'], () => [f64([3, 4]), f64([3, 4])], (a, b) => F.mseLoss(a, b)),
  c('mse_loss none', ['mse_loss'], () => [f64([3, 4]), f64([3, 4])], (a, b) => F.mseLoss(a, b, 'none')),
  c('l1_loss', ['l1_loss'], () => [f64([3, 4], 0.1, 1), f64([3, 4], -1, -0.1)], (a, b) => F.l1Loss(a, b)),
  c('l1_loss sum (both signs)', ['l1_loss'], () => [f64([2, 3], -1, 1, [0], 0.1)], (a) => F.l1Loss(a, a.mul(0), 'sum'), { wrt: [0] }),
  c('smooth_l1_loss', ['smooth_l1_loss'], () => [f64([3, 4], -2, 2, [-0.5, 0, 0.5], 0.05)], (a) => F.smoothL1Loss(a, a.mul(0), 'mean', 0.5)),
];

/** Grid coordinates in (-0.9, 0.9) that do not land on pixel centres (the kinks of bilinear sampling). */
const grid = (n: number, h: number, w: number): Tensor => f64([n, h, w, 2], -0.9, 0.9, [-0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75], 0.03);
const resampling: GradCase[] = [
  c('interpolate bilinear size', ['interpolate'], () => [img(1, 2, 3, 4)], (a) => F.interpolate(a, { size: [5, 7], mode: 'bilinear' })),
  c('interpolate bilinear alignCorners', ['interpolate'], () => [img(1, 1, 3, 3)], (a) => F.interpolate(a, { size: [4, 5], mode: 'bilinear', alignCorners: true })),
  c('interpolate bilinear scale 2', ['interpolate'], () => [img(1, 1, 3, 3)], (a) => F.interpolate(a, { scaleFactor: 2, mode: 'bilinear' })),
  c('interpolate nearest', ['interpolate'], () => [img(1, 1, 2, 3)], (a) => F.interpolate(a, { scaleFactor: 2 })),
  c('pad constant', ['pad'], () => [img(1, 1, 2, 3)], (a) => F.pad(a, [1, 2, 0, 1], 'constant', 0.5)),
  c('pad reflect', ['pad'], () => [img(1, 2, 3, 4)], (a) => F.pad(a, [2, 1, 1, 2], 'reflect')),
  c('pad replicate', ['pad'], () => [img(1, 2, 3, 3)], (a) => F.pad(a, [1, 2, 2, 1], 'replicate')),
  c('affine_grid', ['affine_grid'], () => [f64([2, 2, 3])], (t) => F.affineGrid(t, [2, 1, 3, 4])),
  c('affine_grid alignCorners', ['affine_grid'], () => [f64([1, 2, 3])], (t) => F.affineGrid(t, [1, 3, 2, 3], true)),
  c('grid_sample bilinear (input and grid)', ['grid_sample'], () => [img(1, 2, 4, 4), grid(1, 3, 3)], (x, g) => F.gridSample(x, g)),
  c('grid_sample border, alignCorners', ['grid_sample'], () => [img(2, 1, 4, 5), grid(2, 2, 3)], (x, g) => F.gridSample(x, g, 'bilinear', 'border', true)),
  c(
    'affine_grid → grid_sample',
    ['affine_grid', 'grid_sample'],
    () => [img(1, 1, 4, 4), tensor(new Float64Array([0.9, 0.1, 0.05, -0.12, 0.8, 0.03]), [1, 2, 3], { dtype: 'float64' })],
    (x, t) => F.gridSample(x, F.affineGrid(t, [1, 1, 3, 3])),
  ),
];

/** Ops with no gradient to check: creation, comparisons, indices, detach. */
const NOT_DIFFERENTIABLE = new Set([
  'zeros', 'ones', 'full', 'rand', 'randn', 'randint', 'randperm', 'arange', 'eye',
  'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'eq_scalar', 'gt_scalar', 'lt_scalar', 'logical_not',
  'argmax', 'one_hot', 'detach',
]);

const tables = { elementwise, reductions, shapes, convs, activations, losses, resampling };

describe('gradients vs central finite differences (float64)', () => {
  const baseline = liveTensors();
  after(() => {
    assert.equal(liveTensors(), baseline, 'gradient checks leaked tensors');
  });

  for (const [group, cases] of Object.entries(tables)) {
    describe(group, () => {
      for (const gc of cases) {
        it(gc.name, () => {
          const inputs = gc.inputs();
          try {
            const r = gradcheck(gc.fn, inputs, gc.options);
            assert.ok(r.checked > 0, 'nothing was checked');
            assert.deepEqual(r.failures, [], `${gc.name}: max error ${r.maxAbsErr}`);
          } finally {
            for (const t of inputs) t.dispose();
          }
        });
      }
    });
  }

  it('every differentiable op in the native table has a gradient case', () => {
    const covered = new Set(Object.values(tables).flatMap((cases) => cases.flatMap((gc) => gc.ops)));
    const missing = native().opNames().filter((op) => !covered.has(op) && !NOT_DIFFERENTIABLE.has(op)).sort();
    assert.deepEqual(missing, [], `ops without a gradient check: ${missing.join(', ')}`);
    const unknown = [...covered, ...NOT_DIFFERENTIABLE].filter((op) => !native().opNames().includes(op));
    assert.deepEqual(unknown, [], 'the table names ops the addon does not have');
  });

  it('a wrong gradient is caught (the checker can fail)', () => {
    // detach() inside a sum makes the analytic gradient of a*a half the true one.
    const a = f64([2, 3]);
    try {
      const r = gradcheck((x) => x.mul(x.detach()), [a]);
      assert.ok(r.failures.length > 0, 'gradcheck accepted a wrong gradient');
    } finally {
      a.dispose();
    }
  });
});
