/** exportOnnx: libtorch forward vs onnxruntime-node on the exported graph, dynamic batch, naming, errors. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  BatchNorm2d, Conv2d, F, Linear, Module, Program, labels, liveTensors, manualSeed, noGrad, ones, rand, randn, run, cat, stack, tensor, tidy, where,
  type Tensor,
} from '../src/engine/index.js';
import { ExpnetError } from '../src/errors.js';
import { decodeModel } from '../src/formats/onnx/index.js';
import { exportOnnx, saveOnnx, supportedOnnxOps, type ExportFn, type ExportOnnxOptions } from '../src/export/onnxExport.js';
import { createSession, type InferSession } from '../src/infer/session.js';
import { ExpNet } from '../src/nets/expNet.js';
import { createPretrainedFaceNet } from '../src/nets/faceNetWeights.js';
import { seededRandom } from './helpers/onnxHarness.js';

const TOL = 1e-4;
const rng = seededRandom(7);
manualSeed(7);
const tmp = mkdtempSync(join(tmpdir(), 'expnet-onnx-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function randomizeBatchNorms(m: Module): void {
  const fill = (t: Tensor, lo: number, hi: number): void => t.assign(Float32Array.from({ length: t.size }, () => lo + rng() * (hi - lo)));
  if (m instanceof BatchNorm2d) {
    fill(m.weight, 0.5, 1.5);
    fill(m.bias, -0.5, 0.5);
    fill(m.runningMean, -0.5, 0.5);
    fill(m.runningVar, 0.3, 2);
  }
  for (const [, c] of m.children()) randomizeBatchNorms(c);
}

const maxDiff = (a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): number => {
  assert.equal(a.length, b.length, 'output sizes differ');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(Number(a[i]) - Number(b[i])));
  return d;
};

/** Runs libtorch and the exported model (one session) on random batches; returns the max |diff| per batch. */
async function parity(fn: ExportFn, bytes: Uint8Array, rest: readonly number[], batches: readonly number[], outputs: readonly string[], centered = false): Promise<number[]> {
  const session: InferSession = await createSession(bytes);
  try {
    const diffs: number[] = [];
    for (const b of batches) {
      const x = centered ? tidy(() => rand([b, ...rest]).mul(2).sub(1)) : rand([b, ...rest]);
      const expected = noGrad(() => tidy(() => {
        const out = fn(x);
        return (Array.isArray(out) ? out : [out as Tensor]).map((t: Tensor) => ({ data: t.data(), shape: [...t.shape] }));
      }));
      const got = await session.run({ data: x.floats(), shape: x.shape });
      x.dispose();
      let d = 0;
      outputs.forEach((name, k) => {
        const g = got[name];
        const e = expected[k];
        assert.ok(g !== undefined && e !== undefined, `output ${name}`);
        assert.deepEqual(g.shape, e.shape, `${name} shape at batch ${b}`);
        d = Math.max(d, maxDiff(g.data as ArrayLike<number | bigint>, e.data as ArrayLike<number | bigint>));
      });
      diffs.push(d);
    }
    return diffs;
  } finally {
    await session.dispose();
  }
}

/** A net that uses every op exportOnnx supports (checked below against supportedOnnxOps()). */
class AllOps extends Module {
  readonly conv = this.child('conv', new Conv2d(3, 8, 3, { padding: 1 }));
  readonly bn = this.child('bn', new BatchNorm2d(8));
  readonly dw = this.child('dw', new Conv2d(8, 8, 3, { padding: 1, groups: 8, bias: false }));
  readonly grouped = this.child('grouped', new Conv2d(8, 4, 3, { stride: 2, padding: 2, dilation: 2, groups: 2 }));
  readonly bn2 = this.child('bn2', new BatchNorm2d(4));
  readonly fc = this.child('fc', new Linear(4, 6));
  readonly mix = this.param('mix', tidy(() => randn([4, 4]).mul(0.5)));

  forward(x: Tensor): Tensor {
    return this.all(x)[0] as Tensor;
  }

  /** [features [B, N], argmax [B] (int64), top-3 [B, 3]] from x [B, 3, 8, 8]. */
  all(x: Tensor): Tensor[] {
    return tidy(() => {
      const parts: Tensor[] = [];
      const push = (...ts: Tensor[]): void => void parts.push(...ts.map((t) => t.reshape([t.shape[0] ?? 0, -1])));
      const h = F.relu(this.bn.forward(this.conv.forward(x)));
      const d = F.leakyRelu(this.dw.forward(h), 0.2);
      const g = this.grouped.forward(F.relu6(d.mul(3)));
      const u = this.bn2.forward(F.sigmoid(g));
      push(u, F.tanh(g), F.gelu(g), run('elu', [g], [0.7]), u.add(ones([1, 4, 1, 1]).mul(2)));
      push(F.maxPool2d(h, 3, { stride: 2, padding: 1, ceilMode: true }), F.maxPool2d(h, 2, { dilation: 2 }));
      push(F.avgPool2d(h, 3, { stride: 2, padding: 1, countIncludePad: false }), F.avgPool2d(h, 3, { stride: 2, padding: 1 }));
      push(F.adaptiveAvgPool2d(h, 2), F.adaptiveMaxPool2d(h, 1), F.dropout(h, 0.5, false).add(F.dropout2d(h, 0.3, false)));
      push(F.pad(u, [1, 2, 0, 1], 'constant', 0.5), F.pad(u, [1, 1, 1, 1], 'reflect'), F.pad(u, [2, 0, 1, 1], 'replicate'), F.pad(u, [0, 0, 0, 0, 0, 2]));
      push(F.interpolate(u, { scaleFactor: 2 }), F.interpolate(u, { size: [5, 7], mode: 'bilinear' }), F.interpolate(u, { size: 6, mode: 'bilinear', alignCorners: true }), F.interpolate(u, { size: [5, 7] }));
      const w = u.abs().add(0.5);
      push(g.add(u), g.sub(u), g.mul(u), g.div(w), w.pow(g.clamp(-1, 1)), g.maximum(u), g.minimum(u), g.add(1.5), g.sub(0.5), run('rsub_scalar', [g], [2]));
      push(g.mul(-3), g.div(4), u.pow(2), g.neg(), g.abs(), g.clamp(-3, 3).exp(), w.log(), u.abs().sqrt(), x.sign(), g.square(), g.clamp(null, 0.3));
      const xf = x.flip([3]);
      push(where(x.gt(xf), x, xf), where(x.lt(xf), x, xf), where(x.le(xf), x, xf), where(x.ge(xf), x, xf), where(x.eq(xf), x, xf), where(x.ne(xf), x, xf));
      push(where(x.eq(0), x, xf), where(x.gt(0.1), x, xf), where(run('logical_not', [x.lt(-0.1)]), x, xf));
      push(g.sum([2, 3]), g.mean([1], true), x.mul(g.mean()).add(g.sum()), x.mul(x.max()).sub(x.min()), x.maxAlong(1).values, x.minAlong(3).values);
      push(F.softmax(g, 1), F.logSoftmax(g.flatten(1), -1));
      const t = u.view([u.shape[0] ?? 0, 4, 16]);
      push(t.permute([0, 2, 1]), t.transpose(1, 2), u.flatten(2), u.flatten(1), t.unsqueeze(1).squeeze(1), t.unsqueeze(2).squeeze().reshape([t.shape[0] ?? 0, -1]));
      push(t.mean([2], true).expand([t.shape[0] ?? 0, 4, 5]), t.contiguous().clone().detach(), cat([t, t.mul(2)], 1), stack([t, t.neg()], 1));
      push(t.slice(1, 1, 3), t.slice(2, 2, null, 3), t.narrow(2, 1, 5), t.slice(0, 0, t.shape[0] ?? 0), t.indexSelect(2, labels([0, 3, 5])));
      const xs = x.flatten(2);
      push(xs.gather(2, xs.argmax(2, true)), t.flip([2]), t.repeat([1, 2, 1]), t.to('float64').mul(2).to('float32'));
      push(t.matmul(t.transpose(1, 2)), t.transpose(1, 2).matmul(this.mix), this.fc.forward(u.mean([2, 3])), this.fc.forward(t.transpose(1, 2)));
      push(x.add(tensor(BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]), [8], { dtype: 'int64' })));
      return [cat(parts, 1), x.flatten(1).argmax(1), x.flatten(1).topk(3).values];
    });
  }
}

describe('exportOnnx parity (libtorch vs onnxruntime-node, one model, batch 1 and 5)', () => {
  const expnet = new ExpNet();
  randomizeBatchNorms(expnet);
  expnet.eval();

  for (const foldBatchNorm of [true, false]) {
    it(`ExpNet (default config, eval) with BatchNorm ${foldBatchNorm ? 'folded' : 'unfolded'}`, async (t) => {
      const bytes = exportOnnx(expnet, [rand([1, 1, 48, 48])], { foldBatchNorm });
      const m = decodeModel(bytes);
      assert.equal(m.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length, foldBatchNorm ? 0 : 5);
      assert.deepEqual(m.graph.inputs[0]?.dims, ['batch', 1, 48, 48]);
      assert.deepEqual(m.graph.outputs[0]?.dims, ['batch', 7]);
      const inits = new Set(m.graph.initializers.map((i) => i.name));
      for (const n of ['head.0.weight', 'head.0.bias', 'head.3.weight']) assert.ok(inits.has(n), `initializer ${n}`);
      assert.ok(inits.has(foldBatchNorm ? 'block1.0.weight+block1.1' : 'block1.1.running_var'));
      const diffs = await parity((x) => expnet.forward(x), bytes, [1, 48, 48], [1, 5], ['output']);
      t.diagnostic(`max |diff| batch 1: ${diffs[0]?.toExponential(2)}, batch 5: ${diffs[1]?.toExponential(2)}`);
      for (const d of diffs) assert.ok(d <= TOL, `max |diff| ${d}`);
    });
  }

  it('FaceNet (face-api recognition ResNet, pretrained)', async (t) => {
    const net = await createPretrainedFaceNet();
    try {
      const bytes = exportOnnx(net, [rand([1, 3, 150, 150])], { outputNames: ['descriptor'] });
      const inits = new Set(decodeModel(bytes).graph.initializers.map((i) => i.name));
      for (const [name] of net.namedParameters()) assert.ok(inits.has(name), `initializer ${name}`);
      const diffs = await parity((x) => net.forward(x), bytes, [3, 150, 150], [1, 5], ['descriptor']);
      t.diagnostic(`max |diff| batch 1: ${diffs[0]?.toExponential(2)}, batch 5: ${diffs[1]?.toExponential(2)}`);
      for (const d of diffs) assert.ok(d <= TOL, `max |diff| ${d}`);
    } finally {
      net.dispose();
    }
  });

  const net = new AllOps();
  randomizeBatchNorms(net);
  net.eval();
  const allOps = (x: Tensor): Tensor[] => net.all(x);

  it('the all-ops net records every supported op', () => {
    const x = rand([2, 3, 8, 8]);
    const p = noGrad(() => Program.trace(allOps, [x]));
    const d = p.describe();
    const seen = new Set(d.steps.map((s) => s.op));
    for (const c of d.consts) c.dispose();
    p.dispose();
    x.dispose();
    assert.deepEqual(supportedOnnxOps().filter((op) => !seen.has(op)), []);
  });

  for (const opset of [17, 18]) {
    it(`a net using every supported op (3 outputs, float32 and int64), opset ${opset}`, async (t) => {
      const outputNames = ['features', 'argmax', 'top3'];
      const bytes = exportOnnx(allOps, [rand([1, 3, 8, 8])], { module: net, outputNames, opset });
      const m = decodeModel(bytes);
      assert.deepEqual(m.opsetImports, [{ domain: '', version: opset }]);
      assert.deepEqual(m.graph.outputs.map((o) => [o.name, o.elemType, o.dims?.[0]]), [['features', 'float32', 'batch'], ['argmax', 'int64', 'batch'], ['top3', 'float32', 'batch']]);
      assert.equal(m.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length, 1, 'bn folded into conv, bn2 (after sigmoid) kept');
      assert.ok(m.graph.initializers.some((i) => i.name === 'mix'), 'a direct parameter keeps its name');
      const diffs = await parity(allOps, bytes, [3, 8, 8], [1, 5], outputNames, true);
      t.diagnostic(`max |diff| batch 1: ${diffs[0]?.toExponential(2)}, batch 5: ${diffs[1]?.toExponential(2)}`);
      for (const d of diffs) assert.ok(d <= TOL, `max |diff| ${d}`);
    });
  }
});

describe('exportOnnx behaviour', () => {
  const small = new ExpNet({ widths: [4, 4, 4, 4, 4], fcHidden: 8 });

  it('traces in eval mode, restores every training flag, and leaks no native tensors', () => {
    small.train();
    const x = rand([1, 1, 48, 48]);
    const before = liveTensors();
    exportOnnx(small, [x]);
    assert.equal(liveTensors(), before);
    assert.ok(small.training && small.blocks.every((b) => b.training && b.layers.every((l) => l.training)));
    x.dispose();
    small.eval();
  });

  it('writes metadata, and fixed dims without a dynamic batch', async () => {
    const card = JSON.stringify({ name: 'tiny', labels: ['a', 'b'] });
    const bytes = exportOnnx(small, [rand([2, 1, 48, 48])], { dynamicBatch: false, metadata: { model_card: card }, inputNames: ['faces'] });
    const m = decodeModel(bytes);
    assert.deepEqual(m.metadata, [['model_card', card]]);
    assert.deepEqual(m.graph.inputs[0]?.dims, [2, 1, 48, 48]);
    assert.deepEqual(m.graph.outputs[0]?.dims, [2, 7]);
    const s = await createSession(bytes);
    await assert.rejects(s.run({ data: new Float32Array(48 * 48), shape: [1, 1, 48, 48] }), /expected shape \[2, 1, 48, 48\]/);
    await s.dispose();
  });

  it('rewrites batch-sized reshape / view / expand attributes to 0, -1 or 1', async () => {
    const fn = (x: Tensor): Tensor => {
      const b = x.shape[0] ?? 0;
      const y = x.view([b, 2, 3]).mean([2], true).expand([b, 2, 4]);
      return y.reshape([b * 2, 4]).mul(2).reshape([b, -1]);
    };
    const bytes = exportOnnx(fn, [rand([1, 6])]);
    const shapes = decodeModel(bytes).graph.initializers.filter((i) => /\.shape(_\d+)?$/.test(i.name)).map((i) => [...new BigInt64Array(i.rawData.slice().buffer)].map(Number));
    assert.deepEqual(shapes, [[0, 2, 3], [1, 1, 4], [-1, 4], [-1, 8]]);
    for (const d of await parity(fn, bytes, [6], [1, 3], ['output'])) assert.ok(d <= TOL);
  });

  const cases: [string, ExportFn, RegExp, ExportOnnxOptions?][] = [
    ['an unsupported op names the op, the step and the module', (x) => x.std([1]), /op 'std' \(step 0 of .*\) has no ONNX mapping/],
    ['expanding to the batch is refused, naming expand', (x) => x.mean([0], true).expand([x.shape[0] ?? 0, 4]), /op 'expand' .*expands dim 0 to the batch size/],
    ['a constant with a batch-sized shape is refused', (x) => x.add(ones([x.shape[0] ?? 0, 4])), /op 'ones' .*computes a constant whose shape follows the batch/],
    ['two batch-sized reshape dims are refused', (x) => {
      const y = x.reshape([-1]);
      return y.unsqueeze(1).mul(y.unsqueeze(0)).reshape([-1]).reshape([y.shape[0] ?? 0, y.shape[0] ?? 0]);
    }, /op 'reshape' .*change with the batch size/],
    ['other batch-sized attributes are refused', (x) => F.pad(x, [0, x.shape[0] ?? 0]), /op 'pad' .*attributes that change with the batch size/],
    ['a random op is refused', (x) => x.add(randn([1, 4])), /op 'randn' .*random/],
    ['dropout forced into training is refused', (x) => F.dropout(x, 0.5, true), /op 'dropout' .*training mode/],
    ['unknown options are refused', (x) => F.relu(x), /unknown option 'batch'/, { batch: 1 } as ExportOnnxOptions],
    ['opset 12 is refused', (x) => F.relu(x), /opset must be an integer in 13\.\.21/, { opset: 12 }],
    ['wrong output name count is refused', (x) => F.relu(x), /outputNames has 2 names but the model has 1/, { outputNames: ['a', 'b'] }],
  ];
  for (const [name, fn, pattern, options] of cases) {
    it(name, () => {
      const x = rand([1, 4]);
      assert.throws(() => exportOnnx(fn, [x], options ?? {}), (e: unknown) => e instanceof ExpnetError && pattern.test(e.message));
      x.dispose();
    });
  }

  it('names the module class and the nearest layer in op errors', () => {
    class Odd extends Module {
      readonly lin = this.child('lin', new Linear(4, 3));
      forward(x: Tensor): Tensor {
        return this.lin.forward(x).var([1], true);
      }
    }
    assert.throws(() => exportOnnx(new Odd(), [rand([1, 4])]), /op 'var' \(step 1 of Odd, near 'var after lin'/);
  });

  it('saveOnnx writes atomically (no temp file left) and fails cleanly on a missing folder', async () => {
    const path = join(tmp, 'small.onnx');
    const bytes = await saveOnnx(path, small, [rand([1, 1, 48, 48])]);
    assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
    assert.deepEqual(readdirSync(tmp), ['small.onnx']);
    await assert.rejects(saveOnnx(join(tmp, 'nope', 'x.onnx'), small, [rand([1, 1, 48, 48])]), ExpnetError);
    assert.ok(!existsSync(join(tmp, 'nope')));
  });
});
