import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpnetError } from '../src/errors.js';
import * as onnx from '../src/formats/onnx/index.js';
import { GraphBuilder, decodeModel, tensorValues, type BatchNormParams, type FloatTensor } from '../src/formats/onnx/index.js';
import { assertClose, randPositive, randTensor, runNode, runWeb, seededRandom, singleOutputModel } from './helpers/onnxHarness.js';
import * as ref from './helpers/refOps.js';
import { toRawData } from '../src/formats/onnx/tensorData.js';

const rand = seededRandom(20240607);
const TOL = 1e-4;

function bnParams(c: number): BatchNormParams {
  return {
    weight: randPositive(rand, c, 0.5, 1.5),
    bias: randTensor(rand, [c], 0.5).data,
    runningMean: randTensor(rand, [c], 0.5).data,
    runningVar: randPositive(rand, c, 0.2, 2),
    eps: 1e-5,
  };
}

interface OpCase {
  readonly name: string;
  /** Input shape without the batch dim. */
  readonly rest: readonly number[];
  readonly build: (g: GraphBuilder, x: string) => string;
  readonly ref: (x: FloatTensor) => FloatTensor;
  readonly scale?: number;
}

const conv = (o: number, i: number, k: readonly [number, number], bias = true): onnx.ConvWeights => {
  const weight = randTensor(rand, [o, i, k[0], k[1]], 0.5);
  return bias ? { weight, bias: randTensor(rand, [o], 0.5) } : { weight };
};

function convCase(name: string, rest: readonly number[], w: onnx.ConvWeights, o: onnx.Conv2dOptions, r: ref.ConvRef): OpCase {
  return { name, rest, build: (g, x) => onnx.conv2d(g, x, w, o), ref: (x) => ref.conv2d(x, w.weight, w.bias?.data, r) };
}

const c1 = conv(4, 3, [3, 3]);
const c2 = conv(5, 2, [3, 3], false);
const c3 = conv(3, 3, [3, 2]);
const dw = conv(4, 1, [3, 3]);
const gc = conv(6, 2, [3, 3]);
const bn4 = bnParams(4);
const lin = { weight: randTensor(rand, [5, 12]), bias: randTensor(rand, [5]) };
const gemmB = randTensor(rand, [12, 4]);
const gemmC = randTensor(rand, [4]);
const chanBias = randTensor(rand, [3, 1, 1]);
const divisor: FloatTensor = { data: randPositive(rand, 4, 0.5, 2), shape: [4] };
const base = { stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1 } as const;
const pool = (k: number, s: number, p: readonly [number, number, number, number], ceilMode = false): ref.PoolRef => ({
  kernel: [k, k],
  stride: [s, s],
  pads: p,
  ceilMode,
});

const cases: readonly OpCase[] = [
  convCase('conv2d 3x3 pad 1 + bias', [3, 6, 7], c1, { pads: 1 }, { ...base, pads: [1, 1, 1, 1] }),
  convCase('conv2d stride 2, dilation 2, pads [1,2]', [2, 9, 8], c2, { stride: 2, dilation: 2, pads: [1, 2] }, { ...base, stride: [2, 2], dilation: [2, 2], pads: [1, 2, 1, 2] }),
  convCase('conv2d asymmetric pads [t0,l1,b2,r1], stride [2,1]', [3, 7, 6], c3, { stride: [2, 1], pads: [0, 1, 2, 1] }, { ...base, stride: [2, 1], pads: [0, 1, 2, 1] }),
  convCase('conv2d depthwise (group = C)', [4, 6, 6], dw, { pads: 1, group: 4 }, { ...base, pads: [1, 1, 1, 1], group: 4 }),
  convCase('conv2d grouped (group = 2)', [4, 5, 5], gc, { group: 2 }, { ...base, group: 2 }),
  { name: 'batchNorm (unfolded)', rest: [4, 3, 5], build: (g, x) => onnx.batchNorm(g, x, bn4), ref: (x) => ref.batchNorm(x, bn4) },
  { name: 'relu', rest: [7], build: (g, x) => onnx.relu(g, x), ref: ref.relu },
  { name: 'leakyRelu 0.2', rest: [2, 5], build: (g, x) => onnx.leakyRelu(g, x, 0.2), ref: (x) => ref.leakyRelu(x, 0.2) },
  { name: 'relu6 (Clip)', rest: [3, 4], scale: 9, build: (g, x) => onnx.relu6(g, x), ref: (x) => ref.clip(x, 0, 6) },
  { name: 'sigmoid', rest: [6], scale: 4, build: (g, x) => onnx.sigmoid(g, x), ref: ref.sigmoid },
  { name: 'maxPool k3 s2 p1', rest: [2, 7, 8], build: (g, x) => onnx.maxPool(g, x, { kernel: 3, stride: 2, pads: 1 }), ref: (x) => ref.maxPool(x, pool(3, 2, [1, 1, 1, 1])) },
  { name: 'maxPool k2 ceilMode', rest: [2, 7, 7], build: (g, x) => onnx.maxPool(g, x, { kernel: 2, ceilMode: true }), ref: (x) => ref.maxPool(x, pool(2, 2, [0, 0, 0, 0], true)) },
  { name: 'maxPool k2 s1 dilation 2', rest: [1, 6, 6], build: (g, x) => onnx.maxPool(g, x, { kernel: 2, stride: 1, dilation: 2 }), ref: (x) => ref.maxPool(x, { ...pool(2, 1, [0, 0, 0, 0]), dilation: [2, 2] }) },
  { name: 'averagePool k3 s2 p1 countIncludePad', rest: [2, 7, 6], build: (g, x) => onnx.averagePool(g, x, { kernel: 3, stride: 2, pads: 1, countIncludePad: true }), ref: (x) => ref.avgPool(x, pool(3, 2, [1, 1, 1, 1]), true) },
  { name: 'averagePool k3 s2 p1 exclude pad', rest: [2, 7, 6], build: (g, x) => onnx.averagePool(g, x, { kernel: 3, stride: 2, pads: 1, countIncludePad: false }), ref: (x) => ref.avgPool(x, pool(3, 2, [1, 1, 1, 1]), false) },
  { name: 'averagePool k2 asymmetric pads [0,0,1,1]', rest: [2, 5, 5], build: (g, x) => onnx.averagePool(g, x, { kernel: 2, pads: [0, 0, 1, 1], countIncludePad: true }), ref: (x) => ref.avgPool(x, pool(2, 2, [0, 0, 1, 1]), true) },
  { name: 'averagePool k2 ceilMode exclude pad', rest: [1, 5, 5], build: (g, x) => onnx.averagePool(g, x, { kernel: 2, ceilMode: true, countIncludePad: false }), ref: (x) => ref.avgPool(x, pool(2, 2, [0, 0, 0, 0], true), false) },
  { name: 'globalAveragePool', rest: [3, 4, 5], build: (g, x) => onnx.globalAveragePool(g, x), ref: ref.globalAvgPool },
  {
    name: 'flatten + linear (Gemm transB)',
    rest: [3, 2, 2],
    build: (g, x) => onnx.linear(g, onnx.flatten(g, x), lin),
    ref: (x) => ref.linear({ data: x.data, shape: [x.shape[0] ?? 0, 12] }, lin.weight, lin.bias.data),
  },
  {
    name: 'gemm alpha 0.5 beta 2 on values',
    rest: [12],
    build: (g, x) => onnx.gemm(g, x, g.addConstant('B', gemmB.shape, gemmB.data), g.addConstant('C', gemmC.shape, gemmC.data), { alpha: 0.5, beta: 2 }),
    ref: (x) => {
      const wt = ref.transpose(gemmB, [1, 0]);
      return ref.binary(ref.map(ref.linear(x, wt, undefined), (v) => 0.5 * v), gemmC, (p, q) => p + 2 * q);
    },
  },
  { name: 'reshape [0, 4, 3]', rest: [3, 4], build: (g, x) => onnx.reshape(g, x, [0, 4, 3]), ref: (x) => ({ data: x.data, shape: [x.shape[0] ?? 0, 4, 3] }) },
  { name: 'reshape [-1, 6]', rest: [2, 3], build: (g, x) => onnx.reshape(g, x, [-1, 6]), ref: (x) => ({ data: x.data, shape: [x.shape[0] ?? 0, 6] }) },
  { name: 'concat axis 1', rest: [2, 3], build: (g, x) => onnx.concat(g, [x, onnx.relu(g, x)], 1), ref: (x) => ref.concat([x, ref.relu(x)], 1) },
  { name: 'add constant [C,1,1]', rest: [3, 2, 2], build: (g, x) => onnx.add(g, x, chanBias), ref: (x) => ref.binary(x, chanBias, (p, q) => p + q) },
  { name: 'sub scalar from', rest: [5], build: (g, x) => onnx.sub(g, 1.5, x), ref: (x) => ref.map(x, (v) => 1.5 - v) },
  { name: 'mul x·sigmoid(x)', rest: [2, 3], build: (g, x) => onnx.mul(g, x, onnx.sigmoid(g, x)), ref: (x) => ref.binary(x, ref.sigmoid(x), (p, q) => p * q) },
  { name: 'div by constant [4]', rest: [2, 4], build: (g, x) => onnx.div(g, x, divisor), ref: (x) => ref.binary(x, divisor, (p, q) => p / q) },
  { name: 'softmax last axis', rest: [7], scale: 3, build: (g, x) => onnx.softmax(g, x), ref: (x) => ref.softmax(x, -1) },
  { name: 'softmax axis 1', rest: [4, 3, 2], scale: 3, build: (g, x) => onnx.softmax(g, x, 1), ref: (x) => ref.softmax(x, 1) },
  { name: 'resize nearest ×2', rest: [2, 3, 4], build: (g, x) => onnx.resize(g, x, { scales: [1, 1, 2, 2], mode: 'nearest' }), ref: (x) => ref.resize(x, 2, 2, 'nearest') },
  { name: 'resize linear ×2', rest: [2, 3, 4], build: (g, x) => onnx.resize(g, x, { scales: [1, 1, 2, 2], mode: 'linear' }), ref: (x) => ref.resize(x, 2, 2, 'linear') },
  { name: 'resize linear ×1.5/×0.5', rest: [1, 4, 6], build: (g, x) => onnx.resize(g, x, { scales: [1, 1, 1.5, 0.5], mode: 'linear' }), ref: (x) => ref.resize(x, 1.5, 0.5, 'linear') },
  { name: 'pad constant 0.5 [t1,l2,b0,r1]', rest: [2, 3, 3], build: (g, x) => onnx.pad(g, x, onnx.spatialPads(1, 2, 0, 1), { value: 0.5 }), ref: (x) => ref.pad(x, onnx.spatialPads(1, 2, 0, 1), 'constant', 0.5) },
  { name: 'pad reflect', rest: [2, 4, 4], build: (g, x) => onnx.pad(g, x, onnx.spatialPads(2, 1, 1, 2), { mode: 'reflect' }), ref: (x) => ref.pad(x, onnx.spatialPads(2, 1, 1, 2), 'reflect', 0) },
  { name: 'pad edge', rest: [2, 3, 4], build: (g, x) => onnx.pad(g, x, onnx.spatialPads(1, 0, 2, 3), { mode: 'edge' }), ref: (x) => ref.pad(x, onnx.spatialPads(1, 0, 2, 3), 'edge', 0) },
  { name: 'transpose NCHW→NHWC', rest: [3, 2, 4], build: (g, x) => onnx.transpose(g, x, [0, 2, 3, 1]), ref: (x) => ref.transpose(x, [0, 2, 3, 1]) },
];

describe('ONNX op helpers vs reference (onnxruntime-node, dynamic batch 1 and 3)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const model = singleOutputModel(c.rest, c.build);
      for (const batch of [1, 3]) {
        const x = randTensor(rand, [batch, ...c.rest], c.scale ?? 1);
        const out = await runNode(model, { x });
        assertClose(out.y, c.ref(x), TOL, `${c.name}, batch ${batch}`);
      }
    });
  }
});

describe('BatchNorm folding', () => {
  const w = conv(6, 3, [3, 3]);
  const bn = bnParams(6);
  it('folded Conv equals Conv + BatchNormalization in ORT and the reference', async () => {
    const folded = singleOutputModel([3, 8, 8], (g, x) => onnx.conv2dBn(g, x, w, bn, { stride: 2, pads: [1, 1, 0, 0] }));
    const unfolded = singleOutputModel([3, 8, 8], (g, x) => onnx.batchNorm(g, onnx.conv2d(g, x, w, { stride: 2, pads: [1, 1, 0, 0] }), bn));
    for (const batch of [1, 3]) {
      const x = randTensor(rand, [batch, 3, 8, 8]);
      const a = (await runNode(folded, { x })).y;
      const b = (await runNode(unfolded, { x })).y;
      const r = ref.batchNorm(ref.conv2d(x, w.weight, w.bias?.data, { ...base, stride: [2, 2], pads: [1, 1, 0, 0] }), bn);
      assert.ok(b !== undefined);
      assertClose(a, b, TOL, `folded vs unfolded, batch ${batch}`);
      assertClose(a, r, TOL, `folded vs reference, batch ${batch}`);
    }
  });
  it('does not modify its inputs and handles a bias-free conv', () => {
    const before = Float32Array.from(w.weight.data);
    const f = onnx.foldBatchNorm({ weight: w.weight }, bn);
    assert.deepEqual(w.weight.data, before);
    assert.equal(f.bias?.data.length, 6);
    const s0 = (bn.weight[0] ?? 0) / Math.sqrt((bn.runningVar[0] ?? 0) + bn.eps);
    assert.ok(Math.abs((f.bias?.data[0] ?? 0) - (-(bn.runningMean[0] ?? 0) * s0 + (bn.bias[0] ?? 0))) < 1e-6);
  });
});

/** conv-bn-relu → maxpool → conv(asym pads)-relu6 → GAP → flatten → linear → softmax. */
function tinyCnn(): { model: Uint8Array; reference: (x: FloatTensor) => FloatTensor; card: string } {
  const w1 = conv(8, 3, [3, 3]);
  const bn1 = bnParams(8);
  const w2 = conv(16, 8, [3, 3]);
  const fc = { weight: randTensor(rand, [7, 16]), bias: randTensor(rand, [7]) };
  const card = JSON.stringify({ name: 'tiny', labels: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], input: [3, 16, 16] });
  const g = new GraphBuilder('tiny_cnn');
  const x = g.addInput('input', 'float32', ['batch', 3, 16, 16]);
  let h = onnx.relu(g, onnx.conv2dBn(g, x, w1, bn1, { pads: 1, name: 'features.0' }));
  h = onnx.maxPool(g, h, { kernel: 2 });
  h = onnx.relu6(g, onnx.conv2d(g, h, w2, { stride: 2, pads: [0, 0, 1, 1], name: 'features.3' }));
  h = onnx.flatten(g, onnx.globalAveragePool(g, h));
  onnx.softmax(g, onnx.linear(g, h, fc, { name: 'classifier' }), -1, { output: 'probs' });
  g.addOutput('probs', 'float32', ['batch', 7]);
  const model = g.toModel({ metadata: { model_card: card }, docString: 'tiny test net' });
  const reference = (inp: FloatTensor): FloatTensor => {
    let t = ref.relu(ref.batchNorm(ref.conv2d(inp, w1.weight, w1.bias?.data, { ...base, pads: [1, 1, 1, 1] }), bn1));
    t = ref.maxPool(t, pool(2, 2, [0, 0, 0, 0]));
    t = ref.clip(ref.conv2d(t, w2.weight, w2.bias?.data, { ...base, stride: [2, 2], pads: [0, 0, 1, 1] }), 0, 6);
    t = ref.globalAvgPool(t);
    const flat = { data: t.data, shape: [t.shape[0] ?? 0, 16] };
    return ref.softmax(ref.linear(flat, fc.weight, fc.bias.data), -1);
  };
  return { model, reference, card };
}

describe('tiny CNN end to end', () => {
  const net = tinyCnn();
  it('onnxruntime-node matches the reference for batch 1 and 3', async () => {
    for (const batch of [1, 3]) {
      const input = randTensor(rand, [batch, 3, 16, 16]);
      assertClose((await runNode(net.model, { input })).probs, net.reference(input), TOL, `batch ${batch}`);
    }
  });
  it('onnxruntime-web (wasm, in Node) gives the same outputs as onnxruntime-node within 1e-5', async () => {
    for (const batch of [1, 3]) {
      const input = randTensor(rand, [batch, 3, 16, 16]);
      const node = (await runNode(net.model, { input })).probs;
      assert.ok(node !== undefined);
      assertClose((await runWeb(net.model, { input })).probs, node, 1e-5, `web vs node, batch ${batch}`);
    }
  });
  it('decodes back with header, metadata and symbolic batch dim', () => {
    const m = decodeModel(net.model);
    assert.equal(m.irVersion, 8);
    assert.deepEqual(m.opsetImports, [{ domain: '', version: 17 }]);
    assert.equal(m.producerName, 'expnet');
    assert.equal(m.docString, 'tiny test net');
    assert.deepEqual(m.metadata, [['model_card', net.card]]);
    assert.deepEqual(m.graph.inputs, [{ name: 'input', elemType: 'float32', dims: ['batch', 3, 16, 16] }]);
    assert.deepEqual(m.graph.outputs, [{ name: 'probs', elemType: 'float32', dims: ['batch', 7] }]);
    assert.deepEqual(m.graph.nodes.map((n) => n.opType), ['Conv', 'Relu', 'MaxPool', 'Conv', 'Clip', 'GlobalAveragePool', 'Flatten', 'Gemm', 'Softmax']);
    assert.ok(m.graph.initializers.some((t) => t.name === 'features.0.weight'));
  });
});

describe('protobuf encoding round trip', () => {
  it('keeps every attribute type, negative ints and initializer types', () => {
    const g = new GraphBuilder('rt');
    g.addInput('x', 'float32', ['batch', 2]);
    g.addInitializer('f16', [3], new Float32Array([1, -2.5, 65504]), { elemType: 'float16' });
    g.addInitializer('i64', [2], new BigInt64Array([-1n, 9007199254740993n]));
    g.addInitializer('i32', [2], new Int32Array([-7, 2147483647]));
    g.addNode('Custom', ['x', 'f16', '', 'i64'], ['y'], {
      f: 0.25,
      i: -3,
      big: 2 ** 40,
      s: 'héllo',
      fs: { floats: [1, 2.5] },
      is: [-1, 0, 5],
      one: { float: 1 },
      t: { tensor: { dims: [2], data: [4, 5], elemType: 'int64' } },
    });
    g.addOutput('y', 'float32', undefined);
    g.addValueInfo('x', 'float32', ['batch', 2]);
    const m = decodeModel(g.toModel({ opset: 13, producerVersion: '0.1.0' }));
    const node = m.graph.nodes[0];
    assert.ok(node !== undefined);
    assert.deepEqual(node.inputs, ['x', 'f16', '', 'i64']);
    const attrs = Object.fromEntries(node.attributes.map((a) => [a.name, a.type === 'tensor' ? ['tensor', [...tensorValues(a.value)]] : [a.type, a.value]]));
    assert.deepEqual(attrs, {
      f: ['float', 0.25],
      i: ['int', -3],
      big: ['int', 2 ** 40],
      s: ['string', 'héllo'],
      fs: ['floats', [1, 2.5]],
      is: ['ints', [-1, 0, 5]],
      one: ['float', 1],
      t: ['tensor', [4n, 5n]],
    });
    const init = Object.fromEntries(m.graph.initializers.map((t) => [t.name, t]));
    assert.deepEqual(init.f16 && [...tensorValues(init.f16)], [1, -2.5, 65504]);
    assert.deepEqual(init.i64 && [...tensorValues(init.i64)], [-1n, 9007199254740993n]);
    assert.deepEqual(init.i32 && [...tensorValues(init.i32)], [-7, 2147483647]);
    assert.deepEqual(m.graph.outputs, [{ name: 'y', elemType: 'float32', dims: undefined }]);
    assert.deepEqual(m.graph.valueInfo, [{ name: 'x', elemType: 'float32', dims: ['batch', 2] }]);
    assert.equal(m.producerVersion, '0.1.0');
    assert.equal(m.opsetImports[0]?.version, 13);
  });

  it('float16, int32 and int64 initializers load and compute in onnxruntime-node', async () => {
    const g = new GraphBuilder('types');
    g.addInput('x', 'float32', ['batch', 4]);
    const h = g.addInitializer('h', [4], new Float32Array([0.5, -1.25, 3, 1e-3]), { elemType: 'float16' });
    const i = g.addInitializer('i', [4], new Int32Array([1, -2, 3, 100000]));
    const shape = g.addInitializer('shape', [2], [-1, 4], { elemType: 'int64' });
    const hf = g.op('Cast', [h], { to: onnx.DataType.FLOAT });
    const iff = g.op('Cast', [i], { to: onnx.DataType.FLOAT });
    const s = g.op('Add', [g.op('Add', [g.op('Reshape', ['x', shape]), hf]), iff]);
    g.addNode('Identity', [s], ['y']);
    g.addOutput('y', 'float32', ['batch', 4]);
    const x = randTensor(rand, [3, 4]);
    const h16 = [0.5, -1.25, 3, onnx.float16BitsToFloat32(onnx.float32ToFloat16Bits(1e-3))];
    const expected = ref.tensor([3, 4], (k) => (x.data[k] ?? 0) + (h16[k % 4] ?? 0) + ([1, -2, 3, 100000][k % 4] ?? 0));
    assertClose((await runNode(g.toModel(), { x })).y, expected, 1e-6, 'typed initializers');
  });

  it('float16 conversion rounds to nearest even and handles limits', () => {
    const table: [number, number][] = [[0, 0], [-0, 0x8000], [1, 0x3c00], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 1], [2 ** -25, 0], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [Infinity, 0x7c00]];
    for (const [v, bits] of table) assert.equal(onnx.float32ToFloat16Bits(v), bits, `f16(${v})`);
    assert.ok(Number.isNaN(onnx.float16BitsToFloat32(onnx.float32ToFloat16Bits(Number.NaN))));
  });
});

describe('GraphBuilder checks', () => {
  const code = (c: string) => (e: unknown) => e instanceof ExpnetError && e.code === c;
  it('fresh() never repeats a name', () => {
    const g = new GraphBuilder();
    g.addInput('conv', 'float32', [1]);
    const names = [g.fresh('conv'), g.fresh('conv'), g.fresh('relu'), g.fresh('relu')];
    assert.deepEqual(names, ['conv_1', 'conv_2', 'relu', 'relu_1']);
  });
  it('rejects bad graphs with ExpnetError', () => {
    const g = new GraphBuilder();
    g.addInput('x', 'float32', ['batch', 2]);
    assert.throws(() => g.addNode('Relu', ['nope'], ['y']), code('BAD_INPUT'));
    assert.throws(() => g.addInput('x', 'float32', [1]), code('BAD_INPUT'));
    assert.throws(() => g.addInitializer('w', [2, 2], new Float32Array(3)), code('BAD_INPUT'));
    assert.throws(() => g.addInitializer('b', [2], new BigInt64Array(2), { elemType: 'float32' }), code('BAD_INPUT'));
    assert.throws(() => g.addInput('z', 'float32', [-1]), code('BAD_INPUT'));
    g.addOutput('y', 'float32', undefined);
    assert.throws(() => g.toModel(), code('BAD_INPUT'));
    g.addNode('Relu', ['x'], ['y']);
    assert.throws(() => g.toModel({ opset: 12 }), code('BAD_INPUT'));
    assert.throws(() => onnx.conv2d(g, 'x', { weight: { data: new Float32Array(4), shape: [2, 2] } }), code('BAD_WEIGHTS'));
    assert.throws(() => onnx.conv2d(g, 'x', conv(3, 1, [1, 1]), { group: 2 }), code('BAD_WEIGHTS'));
    assert.ok(g.toModel().length > 0);
  });
});

describe('int8 tensors', () => {
  it('round-trip through raw data and a model file; values outside int8 are refused', () => {
    const raw = toRawData(Int8Array.from([-128, -1, 0, 7, 127]), 'int8', 'w');
    assert.deepEqual([...raw], [128, 255, 0, 7, 127]);
    const t = { name: 'w', elemType: 'int8' as const, dims: [5], rawData: raw };
    assert.deepEqual([...tensorValues(t)], [-128, -1, 0, 7, 127]);
    const back = decodeModel(onnx.encodeModel({ irVersion: 8, opsetImports: [{ domain: '', version: 13 }], producerName: 't', producerVersion: '0', docString: '', metadata: [], graph: { name: 'g', nodes: [], inputs: [], outputs: [], initializers: [t], valueInfo: [] } }));
    assert.equal(back.graph.initializers[0]?.elemType, 'int8');
    assert.deepEqual([...tensorValues(back.graph.initializers[0]!)], [-128, -1, 0, 7, 127]);
    assert.throws(() => toRawData([128], 'int8', 'w'), (e: unknown) => e instanceof ExpnetError && /128 does not fit int8/.test(e.message));
  });
});
