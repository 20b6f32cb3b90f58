import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { liveTensors, noGrad, rand, type Tensor } from '../src/engine/index.js';
import { ExpnetError } from '../src/errors.js';
import type { TfjsGraphModel } from '../src/formats/tfjs/tfjsGraphModel.js';
import { HUMAN_MODELS_PACKAGE, humanModelsDir, readHumanModel } from '../src/nets/humanModels.js';
import { MOBILE_FACE_NET_FEATURES, MobileFaceNet, mobileFaceNetShape, type MobileFaceNetFeature } from '../src/nets/mobileFaceNet.js';
import { createPretrainedMobileFaceNet, MOBILE_FACE_NET_TEACHER, mobileFaceNetStateFromGraph } from '../src/nets/mobileFaceNetWeights.js';
import { noPhotos, photos, synthetic } from './helpers/facePhotos.js';
import { compareFeatures, graphReference, readRgb, showDiffs, type Diff } from './helpers/humanReference.js';

/** Tolerances against tfjs-wasm (float32 both sides): max |ours − tfjs| ≤ REL · max |tfjs| per tensor; ≤ ABS on the unit-norm embedding. */
const REL = 1e-4;
const ABS = 1e-5;
const B = 'MobileFaceNet/MobileFaceNet';
const COMPARED: readonly (readonly [string, MobileFaceNetFeature])[] = [
  [`${B}/Conv2d_0/add`, 'Conv2d_0'],
  [`${B}/Conv2d_2_InvResBlock_4/Add`, 'Conv2d_2_InvResBlock_4'],
  [`${B}/Conv2d_4_InvResBlock_5/Add`, 'Conv2d_4_InvResBlock_5'],
  [`${B}/Conv2d_7/add`, 'Conv2d_7'],
  ['MobileFaceNet/Logits/SpatialSqueeze', 'linear'],
  ['embeddings', 'embeddings'],
];

function assertClose(diffs: Map<MobileFaceNetFeature, Diff>, what: string): void {
  for (const [k, d] of diffs) {
    assert.ok(d.rel <= REL, `${what} ${k}: max abs ${d.maxAbs} = ${d.rel} of max |tfjs|`);
    if (k === 'embeddings') assert.ok(d.maxAbs <= ABS, `${what} ${k}: max abs ${d.maxAbs}`);
  }
}

const modelFile = (): string => path.join(humanModelsDir(), 'mobilefacenet.json');

describe('mobilefacenet: checking the graph model', () => {
  let model: TfjsGraphModel;
  before(async () => {
    model = await readHumanModel('mobilefacenet');
  });

  test(`a folder without the model is a NOT_FOUND ExpnetError naming ${HUMAN_MODELS_PACKAGE}`, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'expnet-no-mfn-'));
    try {
      await assert.rejects(createPretrainedMobileFaceNet(dir), (e: unknown) => e instanceof ExpnetError && e.code === 'NOT_FOUND' && e.message.includes(HUMAN_MODELS_PACKAGE));
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  test('a mis-shaped or leftover weight is BAD_WEIGHTS; a depthwise without its fused ReLU is BAD_MODEL', () => {
    const name = `${B}/Conv2d_4_InvResBlock_2/Conv_1/Conv2D_weights`;
    const w = model.weights.get(name);
    assert.ok(w);
    const weights = new Map(model.weights).set(name, { shape: [1, 1, 256, 127], data: w.data.subarray(0, 256 * 127) });
    assert.throws(() => mobileFaceNetStateFromGraph({ ...model, weights }), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_WEIGHTS' && e.message.includes('has shape [1,1,256,127], expected [1,1,256,128]'));
    const extra = new Map(model.weights).set('extra/bias', { shape: [2], data: new Float32Array(2) });
    assert.throws(() => mobileFaceNetStateFromGraph({ ...model, weights: extra }), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_WEIGHTS' && e.message.includes('unused weights extra/bias'));
    const nodes = new Map(model.nodes);
    const dw = `${B}/Conv2d_3_InvResBlock_0/SeparableConv2d/depthwise`;
    const copy = structuredClone(nodes.get(dw));
    assert.ok(copy);
    copy.attr.fused_ops = { list: { s: [Buffer.from('BiasAdd').toString('base64')] } };
    nodes.set(dw, copy);
    assert.throws(() => mobileFaceNetStateFromGraph({ ...model, nodes }), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_MODEL' && /fused \[BiasAdd\].*fused \[BiasAdd,Relu\]/.test(e.message));
  });

  test('the descriptor: names, shapes at 112/128/160 match a forward pass; gdc refuses a non-7×7 map', () => {
    const d = MOBILE_FACE_NET_TEACHER;
    assert.equal(d.inputSize, 112);
    assert.deepEqual(d.layers, MOBILE_FACE_NET_FEATURES.slice(1));
    assert.deepEqual(d.shape('Conv2d_7'), [512, 7, 7]);
    assert.deepEqual(d.shape('embeddings'), [192]);
    const net = new MobileFaceNet();
    noGrad(() => {
      for (const s of [112, 128, 160]) {
        const x = rand([1, 3, s, s]);
        const f = net.features(x, s === 112 ? 'embeddings' : 'Conv2d_7');
        for (const [l, t] of f) assert.deepEqual(t.shape.slice(1), mobileFaceNetShape(l, s), `${l} at ${s}`);
        for (const t of f.values()) t.dispose();
        if (s !== 112) assert.throws(() => net.featureAt(x, 'gdc'), (e: unknown) => e instanceof ExpnetError && e.code === 'BAD_INPUT');
        x.dispose();
      }
    });
    net.dispose();
  });
});

describe('mobilefacenet: port vs the graph model in tfjs-wasm', () => {
  let net: MobileFaceNet;
  before(async () => {
    net = await createPretrainedMobileFaceNet();
  });
  after(() => net.dispose());
  const nodes = COMPARED.map(([n]) => n);

  for (const seed of [0, 2.5]) {
    test(`synthetic 150×150 input (seed ${seed}), resized to 112 as Human does: maps and embedding within tolerance`, async (t) => {
      const diffs = compareFeatures(net, await graphReference(modelFile(), synthetic(150, 150, seed), 112, 1, nodes), COMPARED, 112);
      t.diagnostic(showDiffs(diffs));
      assertClose(diffs, `seed ${seed}`);
    });
  }

  test('no leaks: features, featuresFrom, forward', () => {
    const live = liveTensors();
    noGrad(() => {
      const x = rand([2, 3, 112, 112]);
      const all = net.features(x);
      const h = net.featureAt(x, 'Conv2d_4_InvResBlock_0');
      const rest = net.featuresFrom(h, 'Conv2d_4_InvResBlock_0');
      const e = all.get('embeddings') as Tensor;
      assert.deepEqual(Array.from((rest.get('embeddings') as Tensor).floats()), Array.from(e.floats()));
      const y = net.forward(x);
      assert.deepEqual(y.shape, [2, 192]);
      for (const t of [x, h, y, ...all.values(), ...rest.values()]) t.dispose();
    });
    assert.equal(liveTensors(), live);
  });

  describe('on the face-api.js sample photos', { skip: noPhotos }, () => {
    test('identity crops (first of each person, resized to 112): maps and embedding within tolerance', async (t) => {
      const worst = new Map<MobileFaceNetFeature, Diff>();
      const people = (await readdir(path.join(photos, 'identities'))).sort();
      for (const who of people) {
        const first = (await readdir(path.join(photos, 'identities', who))).sort()[0] ?? '';
        const diffs = compareFeatures(net, await graphReference(modelFile(), await readRgb(path.join(photos, 'identities', who, first)), 112, 1, nodes), COMPARED, 112);
        assertClose(diffs, `${who}/${first}`);
        for (const [k, d] of diffs) if (d.rel > (worst.get(k)?.rel ?? -1)) worst.set(k, d);
      }
      t.diagnostic(`${people.length} crops, worst: ${showDiffs(worst)}`);
    });
  });
});
