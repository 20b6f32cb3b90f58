import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { autocast, cat, liveTensors, noGrad, rand, type Tensor } from '../src/engine/index.js';
import { ExpnetError } from '../src/errors.js';
import type { TfjsGraphModel } from '../src/formats/tfjs/tfjsGraphModel.js';
import { FACE_RES_FEATURES, FaceRes, faceResShape, type FaceResFeature } from '../src/nets/faceRes.js';
import { createPretrainedFaceRes, faceResStateFromGraph, faceResTeacher } from '../src/nets/faceResWeights.js';
import { HUMAN_MODELS_PACKAGE, humanModelsDir, readHumanModel } from '../src/nets/humanModels.js';
import { noPhotos, photos, synthetic } from './helpers/facePhotos.js';
import { compareFeatures, graphReference, readRgb, showDiffs, type Diff } from './helpers/humanReference.js';
import type { RgbImage } from './helpers/faceApiReference.js';

/**
 * Tolerances against tfjs-wasm, float32 both sides (different summation orders, BN folded differently for the
 * depthwise convs): max |ours − tfjs| ≤ REL · max |tfjs| per compared tensor, and ≤ ABS for the pooled outputs.
 */
const REL = 1e-4;
const ABS = 1e-4;
/** Graph node → our feature. */
const COMPARED: readonly (readonly [string, FaceResFeature])[] = [
  ['conv1_relu/clip_by_value', 'conv1'],
  ['conv_pw_5_relu/clip_by_value', 'conv_pw_5'],
  ['conv_pw_11_relu/clip_by_value', 'conv_pw_11'],
  ['conv_pw_13_relu/clip_by_value', 'conv_pw_13'],
  ['global_pooling/Mean', 'avg'],
  ['feats/Relu', 'feats'],
];

const modelFile = (variant: string): string => path.join(humanModelsDir(), `${variant}.json`);

function assertClose(diffs: Map<FaceResFeature, { maxAbs: number; rel: number }>, what: string): void {
  for (const [k, d] of diffs) {
    assert.ok(d.rel <= REL, `${what} ${k}: max abs ${d.maxAbs} = ${d.rel} of max |tfjs|`);
    if (k === 'avg' || k === 'feats') assert.ok(d.maxAbs <= ABS, `${what} ${k}: max abs ${d.maxAbs}`);
  }
}


describe('faceres: locating and checking the graph model', () => {
  let model: TfjsGraphModel;
  before(async () => {
    model = await readHumanModel('faceres-deep');
  });
  const withWeights = (edit: (w: TfjsGraphModel['weights']) => void): TfjsGraphModel => {
    const weights = new Map(model.weights);
    edit(weights);
    return { ...model, weights };
  };

  test(`a missing ${HUMAN_MODELS_PACKAGE} is a NOT_FOUND ExpnetError naming the package`, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'expnet-no-human-'));
    try {
      assert.throws(() => humanModelsDir(pathToFileURL(path.join(dir, 'x.js')).href), (e: unknown) => e instanceof ExpnetError && e.code === 'NOT_FOUND' && e.message.includes(`npm install ${HUMAN_MODELS_PACKAGE}@`));
      await assert.rejects(createPretrainedFaceRes({ modelDir: dir }), (e: unknown) => e instanceof ExpnetError && e.code === 'NOT_FOUND' && e.message.includes(HUMAN_MODELS_PACKAGE));
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  test('a mis-shaped, missing or leftover weight, or a changed constant, is BAD_WEIGHTS', () => {
    const bad = (m: TfjsGraphModel, re: RegExp): void => assert.throws(() => faceResStateFromGraph(m), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_WEIGHTS' && re.test(e.message));
    const w = model.weights.get('conv_pw_5/convolution/merged_input');
    assert.ok(w);
    bad(withWeights((m) => m.set('conv_pw_5/convolution/merged_input', { shape: [1, 1, 256, 255], data: w.data.subarray(0, 256 * 255) })), /'conv_pw_5\/convolution\/merged_input' has shape \[1,1,256,255\], expected \[1,1,256,256\]/);
    bad(withWeights((m) => m.delete('age_pred/bias')), /'age_pred\/bias' is missing/);
    bad(withWeights((m) => m.set('extra/kernel', { shape: [1], data: new Float32Array(1) })), /unused weights extra\/kernel/);
    bad(withWeights((m) => m.set('conv_dw_3_relu/Cast', { shape: [], data: Float32Array.of(5) })), /constant 'conv_dw_3_relu\/Cast' is \[5\], expected \[6\]/);
  });

  test('a graph with another stride, activation or an unknown node is BAD_MODEL', () => {
    const edited = (name: string, change: (n: NonNullable<ReturnType<typeof model.nodes.get>>) => void): TfjsGraphModel => {
      const nodes = new Map(model.nodes);
      const n = nodes.get(name);
      assert.ok(n, name);
      const copy = structuredClone(n);
      change(copy);
      nodes.set(name, copy);
      return { ...model, nodes };
    };
    const bad = (m: TfjsGraphModel, re: RegExp): void => assert.throws(() => faceResStateFromGraph(m), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_MODEL' && re.test(e.message));
    bad(edited('conv_dw_2/depthwise', (n) => { n.attr.strides = { list: { i: ['1', '1', '1', '1'] } }; }), /conv_dw_2\/depthwise.*strides \[1,1,1,1\].*expected strides \[1,2,2,1\]/);
    bad(edited('conv_pw_7_relu/Relu', (n) => { n.op = 'Elu'; }), /'conv_pw_7_relu\/Relu' is Elu, expected Relu/);
    const nodes = new Map(model.nodes).set('extra', { name: 'extra', op: 'Tanh', inputs: ['feats/Relu'], attr: {} });
    bad({ ...model, nodes }, /nodes FaceRes does not know: extra \(Tanh\)/);
  });

  test('the descriptor: names, channels, shapes at 224/160/112 match a forward pass', async () => {
    const d = faceResTeacher();
    assert.equal(d.name, 'faceres');
    assert.equal(d.inputSize, 224);
    assert.deepEqual(d.layers, FACE_RES_FEATURES.slice(1));
    assert.deepEqual(d.shape('conv_pw_13'), [1024, 7, 7]);
    assert.deepEqual(d.shape('conv_pw_11', 112), [512, 7, 7]);
    const net = new FaceRes();
    assert.deepEqual(net.children().map(([n]) => n), FACE_RES_FEATURES.filter((f) => f !== 'input' && f !== 'avg'));
    noGrad(() => {
      for (const s of [224, 160, 112]) {
        const x = rand([1, 3, s, s]);
        const f = net.features(x);
        for (const l of d.layers) assert.deepEqual((f.get(l) as Tensor).shape.slice(1), faceResShape(l, s), `${l} at ${s}`);
        x.dispose();
        for (const t of f.values()) t.dispose();
      }
    });
    net.dispose();
  });
});

test('the top block trains under bf16 autocast (ReLU6 as clamp: libtorch 1.13 lacks a bf16 CPU relu6 backward)', () => {
  const net = new FaceRes().train();
  const h = rand([2, 512, 14, 14]);
  const loss = autocast({ dtype: 'bfloat16' }, () => (net.featuresFrom(h, 'conv_pw_11', 'avg').get('avg') as Tensor).mean());
  loss.backward();
  const g = net.convs[FACE_RES_FEATURES.indexOf('conv_dw_12') - 1]?.weight.grad;
  assert.ok(g, 'conv_dw_12 has a gradient');
  const size = g.abs().sum();
  assert.ok(Number.isFinite(size.item()) && size.item() > 0);
  for (const t of [h, loss, g, size]) t.dispose();
  net.dispose();
});

describe('faceres-deep: port vs the graph model in tfjs-wasm', () => {
  let net: FaceRes;
  before(async () => {
    net = await createPretrainedFaceRes();
  });
  after(() => net.dispose());
  const nodes = COMPARED.map(([n]) => n);

  for (const seed of [0, 2.5]) {
    test(`synthetic 150×150 input (seed ${seed}), resized to 224 as Human does: conv maps, avg and feats within tolerance`, async (t) => {
      const diffs = compareFeatures(net, await graphReference(modelFile('faceres-deep'), synthetic(150, 150, seed), 224, 255, nodes), COMPARED, 224);
      t.diagnostic(showDiffs(diffs));
      assertClose(diffs, `seed ${seed}`);
    });
  }

  test('featuresFrom continues a cached map exactly; a batch of 2 matches singles; no leaks', () => {
    const live = liveTensors();
    noGrad(() => {
      const a = rand([1, 3, 224, 224]);
      const b = rand([1, 3, 224, 224]);
      const ab = cat([a, b], 0);
      const both = net.features(ab);
      const h = net.featureAt(ab, 'conv_pw_11');
      const rest = net.featuresFrom(h, 'conv_pw_11', 'avg');
      assert.deepEqual([...rest.keys()], ['conv_dw_12', 'conv_pw_12', 'conv_dw_13', 'conv_pw_13', 'avg']);
      const y = both.get('avg') as Tensor;
      assert.deepEqual(y.shape, [2, 1024]);
      assert.deepEqual(Array.from((rest.get('avg') as Tensor).floats()), Array.from(y.floats()));
      const ya = net.forward(a);
      const all = y.floats();
      const da = Array.from(ya.floats()).reduce((m, v, i) => Math.max(m, Math.abs(v - (all[i] as number))), 0);
      assert.ok(da <= 1e-5, `batch vs single ${da}`);
      for (const t of [a, b, ab, h, ya, ...both.values(), ...rest.values()]) t.dispose();
    });
    assert.equal(liveTensors(), live);
  });

  describe('on the face-api.js sample photos', { skip: noPhotos }, () => {
    test('identity crops (first of each person, resized to 224): conv maps, avg and feats within tolerance', async (t) => {
      const worst = new Map<FaceResFeature, { maxAbs: number; maxRef: number; rel: number }>();
      const files: string[] = [];
      for (const who of (await readdir(path.join(photos, 'identities'))).sort()) {
        const first = (await readdir(path.join(photos, 'identities', who))).sort()[0];
        if (first) files.push(path.join(photos, 'identities', who, first));
      }
      for (const file of files) {
        const img: RgbImage = await readRgb(file);
        const diffs = compareFeatures(net, await graphReference(modelFile('faceres-deep'), img, 224, 255, nodes), COMPARED, 224);
        assertClose(diffs, path.basename(file));
        for (const [k, d] of diffs) if (d.rel > (worst.get(k)?.rel ?? -1)) worst.set(k, d);
      }
      t.diagnostic(`${files.length} crops, worst: ${showDiffs(worst)}`);
    });
  });
});

describe('faceres (float16 weights): same graph, other weights', () => {
  test('matches its own graph in tfjs-wasm (faceres-deep, reported alongside, is a differently trained net)', async (t) => {
    const half = await createPretrainedFaceRes({ variant: 'faceres' });
    const deep = await createPretrainedFaceRes();
    const img = synthetic(150, 150, 1);
    const ref = await graphReference(modelFile('faceres'), img, 224, 255, COMPARED.map(([n]) => n));
    const diffs = compareFeatures(half, ref, COMPARED, 224);
    t.diagnostic(showDiffs(diffs));
    assertClose(diffs, 'fp16');
    const vsDeep = compareFeatures(deep, ref, COMPARED, 224);
    t.diagnostic(`faceres-deep vs the fp16 graph: ${showDiffs(vsDeep)}`);
    half.dispose();
    deep.dispose();
  });
});
