/**
 * Training configuration: typed interfaces, the defaults stated once, and a resolver that merges
 * defaults ← config file ← flags and rejects unknown keys with their path.
 */
import { ExpnetError } from '../errors.js';
import { EXPNET_DEFAULTS, type ExpNetConfig } from '../nets/expNet.js';
import { checkTeacherLayer, teacherEntry, type TeacherName } from '../nets/teachers.js';
import type { OptimizerKind } from '../engine/optim.js';
import { checkDevice } from '../engine/runtime.js';
import { PRECISIONS, type Precision } from '../engine/autocast.js';
import type { Device } from '../engine/tensor.js';
import { checkDegrade, NO_DEGRADE, type DegradeOptions } from '../data/degrade.js';

/** fn2en: the paper's method; finetune: the fine-tuned face net; scratch: the expression net, stage (b) only. */
export type Method = 'fn2en' | 'finetune' | 'scratch';
export const METHODS: readonly Method[] = ['fn2en', 'finetune', 'scratch'];

export type ClassBalance = 'none' | 'sqrt' | 'inverse';
export const CLASS_BALANCES: readonly ClassBalance[] = ['none', 'sqrt', 'inverse'];

/** The exponent p of a ClassBalance's weights (n̄ / n_c)^p: 0, ½ or 1. */
export function balancePower(balance: ClassBalance): number {
  return balance === 'none' ? 0 : balance === 'sqrt' ? 0.5 : 1;
}

export interface StageConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerKind;
  lr: number;
  weightDecay: number;
  /** SGD momentum (ignored by Adam/AdamW). */
  momentum: number;
  /** Cosine decay to 0 after a linear warm-up (epochs). */
  warmupEpochs: number;
  /** Random flips/rotations/zoom/shift/brightness/contrast (src/data/augment.ts defaults). */
  augment: boolean;
  /** With `augment`: probabilities of blur, downscale-and-back and JPEG compression (src/data/degrade.ts; default 0 = off). */
  degrade: DegradeOptions;
  labelSmoothing: number;
  /**
   * Cross-entropy class weights (n̄ / n_c)^p over the training images' class counts n_c, with p = 0 ('none'),
   * ½ ('sqrt') or 1 ('inverse'), scaled to mean 1 over the training images: rare classes (FER2013 disgust,
   * 1.5 % of train/) count for more.
   */
  classBalance: ClassBalance;
  /** Clip the global gradient norm (0 = off). */
  clipNorm: number;
}

export interface TeacherConfig {
  /** The face net (src/nets/teachers.ts): 'dlib-resnet' (face-api.js's, the default), 'faceres' (VGGFace2 MobileNet), 'faceres-fp16'. */
  net: TeacherName;
  /** Side of the teacher's input in pixels (faces are resized to it); 0 = the net's native size (dlib 150, faceres 224). */
  inputSize: number;
  /** Layers up to and including this one stay frozen during fine-tuning (their output is cached); 'auto' = the net's default (dlib conv64_3, faceres conv_pw_11). */
  frozenUntil: string;
  /** Fine-tune on the expression labels first (the paper's first step). */
  fineTune: boolean;
  /**
   * Views per training image in the cache of the frozen layers, shared by teacher fine-tuning and stage (a):
   * the image, its mirror, then seeded random augmentations (featureCache.ts). Memory: views × the
   * `frozenUntil` map per image (conv64_3: 74 KB).
   */
  views: number;
  stage: StageConfig;
}

export interface RegressionConfig extends StageConfig {
  /** The teacher feature the student's conv features regress (the analogue of VGG-Face pool5); 'auto' = the net's default (dlib conv256_2, faceres conv_pw_13). */
  target: string;
  loss: 'l2' | 'l1';
  /** Divide targets by their training-set standard deviation. */
  normalizeTarget: boolean;
  /**
   * Which training faces stage (a) regresses: 'all' = every face of every set in the mix, labelled or not
   * (unlabelled sets, src/train/dataMix.ts), 'labelled' = only the labelled training faces (the paper's choice).
   * With labelled sets only, both are the same faces. Teacher fine-tuning and stage (b) always use labelled faces.
   */
  data: StageAData;
}

/**
 * What teacher fine-tuning and stage (b) fit for images with crowd votes (FER+): 'distribution' = cross-entropy
 * against the vote distribution (the FER+ paper's best protocol), 'majority' = the majority label. Images
 * without votes always fit their label; accuracy is always against the label (the majority).
 */
export type LabelTargets = 'distribution' | 'majority';
export const LABEL_TARGETS: readonly LabelTargets[] = ['distribution', 'majority'];

export type StageAData = 'labelled' | 'all';
export const STAGE_A_DATA: readonly StageAData[] = ['labelled', 'all'];
/** How a multi-data run's validation score combines its sets (src/train/validation.ts). */
export type Selection = 'mean' | 'pooled';
export const SELECTIONS: readonly Selection[] = ['mean', 'pooled'];

/** Stage (b): StageConfig plus how the stage-(a) pre-trained conv layers are refined. */
export interface RefineConfig extends StageConfig {
  /** Learning-rate multiplier for the conv layers pre-trained in stage (a) (fn2en only; scratch trains every layer at `lr`). */
  pretrainedLrScale: number;
}

/** Transfer from another data set: heads are always new, feature layers start from these files. */
export interface InitConfig {
  /** A fine-tuned face net (the teacher checkpoint `teacher.best.safetensors` of an fn2en or finetune run) instead of face-api's weights. */
  faceNet: string;
  /** The student's conv blocks from an expnet model (`model.safetensors`) or stage checkpoint. */
  student: string;
}

export interface TrainConfig {
  method: Method;
  seed: number;
  /** Fraction of the training subjects (or images, without subjects) held out for model selection. */
  valFraction: number;
  /**
   * Model selection in a multi-data run: 'mean' = the mean of the per-set validation accuracies (each set counts
   * the same, whatever its size), 'pooled' = the accuracy over all sets' validation carves together (each image
   * counts the same). A run on one data set scores plain accuracy either way.
   */
  selection: Selection;
  /** Soft (vote distribution) or majority targets for images with crowd votes (LabelTargets). */
  labelTargets: LabelTargets;
  student: ExpNetConfig;
  teacher: TeacherConfig;
  /** Stage (a): student conv layers regress the frozen teacher's feature map. */
  stageA: RegressionConfig;
  /** Stage (b) (and the scratch baseline): the whole student with cross-entropy. */
  stageB: RefineConfig;
  /** Stop training after this many seconds (0 = no limit); the run can be resumed. */
  maxTimeSec: number;
  /** Images that are missing or cannot be decoded, skipped with a warning; more than this many fail the run. */
  maxSkippedImages: number;
  /** Starting weights from earlier runs ('' = none; src/train/initWeights.ts). */
  init: InitConfig;
  /**
   * Where models, batches and caches live: 'cpu', 'cuda' (in a data-parallel run, each process's own GPU,
   * cuda:LOCAL_RANK) or 'cuda:N'. CUDA needs the addon built against a CUDA libtorch (docs/DISTRIBUTED.md).
   */
  device: Device;
  /**
   * Number format of the training steps: 'bf16' runs forward and loss under libtorch's autocast (bfloat16
   * convolutions and matmuls; parameters, gradients, optimiser state, BatchNorm statistics, losses and checkpoints
   * stay float32), 'fp32' is exact float32, 'auto' = bf16 where the CPU has native bfloat16 (avx512_bf16 or AMX),
   * else fp32 (src/engine/autocast.ts). Validation, test scoring and caches of frozen features are float32.
   */
  precision: Precision;
}

const stage = (o: Partial<StageConfig>): StageConfig => ({
  epochs: 20,
  batchSize: 32,
  optimizer: 'adam',
  lr: 1e-3,
  weightDecay: 1e-4,
  momentum: 0.9,
  warmupEpochs: 1,
  augment: true,
  degrade: { ...NO_DEGRADE },
  labelSmoothing: 0,
  classBalance: 'none',
  clipNorm: 5,
  ...o,
});

/** The defaults, stated once. Justifications (measured on this project's 2-core machine) in docs/RESULTS.md. */
export const TRAIN_DEFAULTS: Readonly<TrainConfig> = Object.freeze({
  method: 'fn2en' as Method,
  seed: 1,
  valFraction: 0.1,
  selection: 'mean' as Selection,
  labelTargets: 'distribution' as LabelTargets,
  student: { ...EXPNET_DEFAULTS },
  teacher: { net: 'dlib-resnet' as TeacherName, inputSize: 0, frozenUntil: 'auto', fineTune: true, views: 2, stage: stage({ epochs: 10, lr: 3e-4, augment: false }) },
  stageA: { ...stage({ epochs: 15, lr: 1e-3, weightDecay: 0, augment: false }), target: 'auto', loss: 'l2' as const, normalizeTarget: true, data: 'all' as StageAData },
  stageB: { ...stage({ epochs: 20, lr: 1e-3, labelSmoothing: 0.1 }), pretrainedLrScale: 0.1 },
  maxTimeSec: 0,
  maxSkippedImages: 5,
  init: { faceNet: '', student: '' },
  device: 'cpu' as Device,
  precision: 'auto' as Precision,
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `base` overridden by `over`; every key of `over` must exist in `base` with the same type. */
function merge(base: unknown, over: unknown, path: string): unknown {
  if (over === undefined) return base;
  if (isPlain(base)) {
    if (!isPlain(over)) throw new ExpnetError('BAD_CONFIG', `${path}: expected an object, got ${JSON.stringify(over)}`);
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (!(k in base)) throw new ExpnetError('BAD_CONFIG', `${path}.${k}: unknown option (known: ${Object.keys(base).join(', ')})`);
      out[k] = merge(base[k], v, `${path}.${k}`);
    }
    return out;
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(over) || over.length !== base.length || over.some((x) => typeof x !== typeof base[0])) {
      throw new ExpnetError('BAD_CONFIG', `${path}: expected ${base.length} ${typeof base[0]}s, got ${JSON.stringify(over)}`);
    }
    return [...over];
  }
  if (typeof over !== typeof base) throw new ExpnetError('BAD_CONFIG', `${path}: expected a ${typeof base}, got ${JSON.stringify(over)}`);
  return over;
}

function check(ok: boolean, path: string, want: string, got: unknown): void {
  if (!ok) throw new ExpnetError('BAD_CONFIG', `${path}: expected ${want}, got ${JSON.stringify(got)}`);
}

function checkStage(s: StageConfig, path: string): void {
  check(Number.isInteger(s.epochs) && s.epochs >= 0, `${path}.epochs`, 'an integer ≥ 0', s.epochs);
  check(Number.isInteger(s.batchSize) && s.batchSize >= 2, `${path}.batchSize`, 'an integer ≥ 2', s.batchSize);
  check(['sgd', 'adam', 'adamw'].includes(s.optimizer), `${path}.optimizer`, 'sgd, adam or adamw', s.optimizer);
  check(s.lr > 0, `${path}.lr`, 'a positive number', s.lr);
  check(s.labelSmoothing >= 0 && s.labelSmoothing < 1, `${path}.labelSmoothing`, 'a number in [0, 1)', s.labelSmoothing);
  check(CLASS_BALANCES.includes(s.classBalance), `${path}.classBalance`, CLASS_BALANCES.join(', '), s.classBalance);
  checkDegrade(s.degrade, `${path}.degrade`);
}

/** Defaults ← each override in turn (config file, then flags); validated. */
export function resolveConfig(...overrides: readonly unknown[]): TrainConfig {
  let c: unknown = structuredClone(TRAIN_DEFAULTS) as unknown as Json;
  for (const o of overrides) c = merge(c, o, 'config');
  const cfg = c as TrainConfig;
  check(METHODS.includes(cfg.method), 'config.method', METHODS.join(', '), cfg.method);
  check(Number.isInteger(cfg.seed) && cfg.seed >= 0, 'config.seed', 'an integer ≥ 0', cfg.seed);
  check(cfg.valFraction >= 0 && cfg.valFraction < 1, 'config.valFraction', 'a number in [0, 1)', cfg.valFraction);
  check(SELECTIONS.includes(cfg.selection), 'config.selection', SELECTIONS.join(' or '), cfg.selection);
  check(LABEL_TARGETS.includes(cfg.labelTargets), 'config.labelTargets', LABEL_TARGETS.join(' or '), cfg.labelTargets);
  check(['l2', 'l1'].includes(cfg.stageA.loss), 'config.stageA.loss', "'l2' or 'l1'", cfg.stageA.loss);
  check(Number.isInteger(cfg.maxSkippedImages) && cfg.maxSkippedImages >= 0, 'config.maxSkippedImages', 'an integer ≥ 0', cfg.maxSkippedImages);
  check(STAGE_A_DATA.includes(cfg.stageA.data), 'config.stageA.data', STAGE_A_DATA.join(' or '), cfg.stageA.data);
  check(Number.isInteger(cfg.teacher.views) && cfg.teacher.views >= 1, 'config.teacher.views', 'an integer ≥ 1', cfg.teacher.views);
  checkStage(cfg.teacher.stage, 'config.teacher.stage');
  const teacher = teacherEntry(cfg.teacher.net);
  check(Number.isInteger(cfg.teacher.inputSize) && (cfg.teacher.inputSize === 0 || cfg.teacher.inputSize >= 32), 'config.teacher.inputSize', 'an integer ≥ 32, or 0 for the net\'s own size', cfg.teacher.inputSize);
  if (cfg.teacher.inputSize === 0) cfg.teacher.inputSize = teacher.inputSize;
  if (cfg.teacher.frozenUntil === 'auto') cfg.teacher.frozenUntil = teacher.defaultFrozen;
  if (cfg.stageA.target === 'auto') cfg.stageA.target = teacher.defaultTarget;
  checkTeacherLayer(teacher, cfg.teacher.frozenUntil, 'config.teacher.frozenUntil');
  checkTeacherLayer(teacher, cfg.stageA.target, 'config.stageA.target');
  const f = teacher.features;
  check(f.indexOf(cfg.stageA.target) > f.indexOf(cfg.teacher.frozenUntil) || cfg.method !== 'fn2en', 'config.stageA.target', `a layer after teacher.frozenUntil (${cfg.teacher.frozenUntil}): stage (a) regresses the fine-tuned layers`, cfg.stageA.target);
  checkStage(cfg.stageA, 'config.stageA');
  checkStage(cfg.stageB, 'config.stageB');
  check(cfg.stageB.pretrainedLrScale > 0, 'config.stageB.pretrainedLrScale', 'a positive number', cfg.stageB.pretrainedLrScale);
  checkDevice(cfg.device, 'config.device');
  check(PRECISIONS.includes(cfg.precision), 'config.precision', PRECISIONS.join(', '), cfg.precision);
  return cfg;
}

/** The device of one process of a data-parallel run: 'cuda' becomes that process's GPU, cuda:<localRank>. */
export function deviceOfRank(device: Device, localRank: number): Device {
  return device === 'cuda' ? `cuda:${localRank}` : device;
}
