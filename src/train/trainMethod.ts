/**
 * FaceNet2ExpNet and its baselines as data: which stages run, on which parameters, with which loss.
 *  - finetune: the pretrained face net + new classifier, fine-tuned on expression labels (paper's step 1);
 *  - fn2en: that fine-tuned net frozen; stage (a) the student's conv layers regress its feature map;
 *           stage (b) FC layers appended, the whole student trained with cross-entropy;
 *  - scratch: the same student, stage (b) only.
 */
import { adaptiveAvgPool2d, crossEntropy, l1Loss, mseLoss } from '../engine/functional.js';
import { tensor } from '../engine/creation.js';
import { Conv2d } from '../engine/layers.js';
import { Module, type RawTensor } from '../engine/module.js';
import type { ParamGroup } from '../engine/optim.js';
import { checkDevice, manualSeed, noGrad } from '../engine/runtime.js';
import { resolvePrecision } from '../engine/autocast.js';
import { tidy } from '../engine/scope.js';
import type { Device, Tensor } from '../engine/tensor.js';
import { DEFAULT_AUGMENT } from '../data/augment.js';
import type { Rng } from '../data/rng.js';
import { ExpNet, type ExpNetConfig } from '../nets/expNet.js';
import { FaceNetClassifier } from '../nets/faceNetClassifier.js';
import { teacherEntry, type TeacherNet } from '../nets/teachers.js';
import { balancePower, type ClassBalance, type Method, type TrainConfig } from './config.js';
import { accuracyOf, buildCache, cachedBatch, mapCache, predictProbs, type FeatureCache } from './featureCache.js';
import { fitStage, type StageResult } from './fitStage.js';
import { initFaceNet, initStudent } from './initWeights.js';
import { batchOf, concatImageSets, pickViews, targetsOf, toTeacherInput, viewBatch, type ImageSet } from './imageSet.js';
import { withPrecision, type RunContext, type StagePlan } from './runContext.js';
import { orderFor } from './sampling.js';
import { scoreBySet, type MixSets } from './validation.js';

export interface Splits {
  train: ImageSet;
  /** Held-out training subjects/images for model selection (may be empty). */
  val: ImageSet;
  /** Training faces without labels: stage (a) regresses them too when stageA.data is 'all' (never validation or test faces). */
  unlabelled?: ImageSet;
  /** Several data sets (src/train/trainMix.ts): `train`, `unlabelled` and `val` are these sets concatenated in order. */
  sets?: MixSets;
}

export interface TrainedModel {
  method: Method;
  /** The deployable net: the student for fn2en/scratch, the fine-tuned face net for finetune. */
  model: ExpNet | FaceNetClassifier;
  /** Class probabilities for every image of a set. */
  predict(set: ImageSet): Float32Array[];
  valAccuracy: number | null;
  stages: Record<string, StageResult>;
  /** True when the time limit stopped training before the last stage ended (resume to finish). */
  interrupted: boolean;
  dispose(): void;
}

/** Student + optional 1×1 adapter, trained together in stage (a). */
class Regressor extends Module {
  constructor(readonly student: ExpNet, readonly adapter: Conv2d | null) {
    super();
    this.child('student', student);
    if (adapter) this.child('adapter', adapter);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const f = this.student.features(x);
      return this.adapter ? this.adapter.forward(f) : f;
    });
  }
}

const mirrors = (n: number, rng: Rng): number[] => pickViews(n, 2, rng);
const hasVal = (s: Splits): boolean => s.val.y.length > 0;

/** `cacheSet`: the images whose frozen features are cached — the labelled training images first (fine-tuning uses those), then any unlabelled ones for stage (a). */
async function trainTeacher(cfg: TrainConfig, splits: Splits, ctx: RunContext, classes: number, teacherNet: TeacherNet, device: Device, cacheSet: ImageSet) {
  const entry = teacherEntry(cfg.teacher.net);
  const cls = new FaceNetClassifier(teacherNet, classes, cfg.teacher.frozenUntil, 0.5, entry).to(device);
  const size = cfg.teacher.inputSize;
  const views = cfg.teacher.views;
  const soft = cfg.labelTargets === 'distribution';
  const per = entry.shape(cfg.teacher.frozenUntil, size).reduce((a, b) => a * b, 1);
  ctx.reporter.message(`face net ${entry.name} at ${size} px: caching the frozen layers up to ${cfg.teacher.frozenUntil} (${views} view${views === 1 ? '' : 's'} per training image, ${((per * 4 * views * cacheSet.y.length) / 2 ** 30).toFixed(1)} GiB)`);
  const frozen = (x: Tensor): Tensor => cls.frozen(toTeacherInput(x, size));
  const train = buildCache(cacheSet, views, cfg.seed, cls, frozen, 64, device);
  const val = hasVal(splits) ? buildCache(splits.val, 1, cfg.seed, cls, frozen, 64, device) : null;
  const valAcc = () =>
    scoreBySet(predictProbs(splits.val.y.length, cls, (i) => cachedBatch(val as FeatureCache, i, [], device), (f) => cls.fromFrozen(f)), splits.val.y, splits.sets?.val, cfg.selection);
  const order = orderFor(splits.sets?.train);
  const sc = cfg.teacher.stage;
  const fineTune = cfg.teacher.fineTune || cfg.method === 'finetune';
  const weight = fineTune ? classWeights(sc.classBalance, splits.train.y, classes, device) : {};
  const stage = fineTune
    ? await fitStage(ctx, {
        name: 'teacher',
        config: sc,
        model: cls,
        params: cls.trainableParameters(),
        size: splits.train.y.length,
        batch: (idx, rng) => [cachedBatch(train, idx, pickViews(idx.length, views, rng), device), targetsOf(splits.train, idx, soft, device)],
        loss: (f, y) => [crossEntropy(cls.fromFrozen(f), y as Tensor, { labelSmoothing: sc.labelSmoothing, ...weight })],
        ...(val ? { validate: valAcc } : {}),
        ...(order ? { order } : {}),
      }).finally(() => weight.weight?.dispose())
    : null;
  const valAccuracy = val ? accuracyOf(predictProbs(splits.val.y.length, cls, (i) => cachedBatch(val, i, [], device), (f) => cls.fromFrozen(f)), splits.val.y) : null;
  return { cls, train, stage, valAccuracy };
}

/** Stage (a) targets: the fine-tuned teacher's feature, pooled to the student's map size, optionally scaled to unit std. */
function regressionTargets(cfg: TrainConfig, cls: FaceNetClassifier, frozen: FeatureCache, n: number, student: ExpNet, device: Device): FeatureCache {
  const [, h, w] = student.featureShape;
  const targets = mapCache(frozen, n, cls, (f) => {
    const t = cls.featureFromFrozen(f, cfg.stageA.target);
    return t.shape[2] === h && t.shape[3] === w ? t : adaptiveAvgPool2d(t, [h, w]);
  }, 128, device);
  if (cfg.stageA.normalizeTarget) {
    let s = 0;
    let s2 = 0;
    for (const v of targets.data) {
      s += v;
      s2 += v * v;
    }
    const m = s / targets.data.length;
    const std = Math.sqrt(Math.max(s2 / targets.data.length - m * m, 1e-12));
    for (let i = 0; i < targets.data.length; i++) targets.data[i] = (targets.data[i] as number) / std;
  }
  return targets;
}

function studentStageB(cfg: TrainConfig, splits: Splits, ctx: RunContext, student: ExpNet, device: Device): Promise<StageResult> {
  const sc = cfg.stageB;
  const weight = classWeights(sc.classBalance, splits.train.y, student.config.numClasses, device);
  // fn2en: the conv layers pre-trained in stage (a) get their own, scaled learning rate; the new head gets lr.
  const scale = cfg.method === 'fn2en' ? sc.pretrainedLrScale : 1;
  const conv = student.convParameters();
  const params: ParamGroup[] | Tensor[] =
    scale === 1 ? student.parameters() : [{ params: conv, lr: sc.lr * scale }, { params: student.head.parameters() }];
  const valAcc = () => scoreBySet(predictStudent(student, splits.val), splits.val.y, splits.sets?.val, cfg.selection);
  const order = orderFor(splits.sets?.train);
  return fitStage(ctx, {
    name: 'stageB',
    config: sc,
    model: student,
    params,
    size: splits.train.y.length,
    batch: (idx, rng) => {
      const b = batchOf(splits.train, idx, sc.augment ? { ...DEFAULT_AUGMENT, degrade: sc.degrade } : null, rng, sc.augment ? undefined : mirrors(idx.length, rng), device);
      if (!(cfg.labelTargets === 'distribution' && splits.train.soft)) return [b.x, b.y];
      b.y.dispose();
      return [b.x, targetsOf(splits.train, idx, true, device)];
    },
    loss: (x, y) => [crossEntropy(student.forward(x), y as Tensor, { labelSmoothing: sc.labelSmoothing, ...weight })],
    ...(hasVal(splits) ? { validate: valAcc } : {}),
    ...(order ? { order } : {}),
  }).finally(() => weight.weight?.dispose());
}

/** Cross-entropy class weights for `balance` (config.ts ClassBalance), or no weights; the caller disposes the tensor. */
export function classWeights(balance: ClassBalance, y: Int32Array, classes: number, device: Device): { weight?: Tensor } {
  if (balance === 'none') return {};
  const p = balancePower(balance);
  const counts = new Float64Array(classes);
  for (const c of y) counts[c] = (counts[c] ?? 0) + 1;
  const mean = y.length / classes;
  const w = Array.from(counts, (n) => (n > 0 ? (mean / n) ** p : 0));
  // Scale so the weights average 1 over the training images: the loss keeps its usual size.
  const avg = Array.from(counts, (n, c) => n * (w[c] ?? 0)).reduce((a, b) => a + b, 0) / Math.max(y.length, 1);
  return { weight: tensor(Float32Array.from(w, (v) => v / avg), [classes], { device }) };
}

/** Class probabilities of the student for every image of a set (batches go to the student's device). */
export function predictStudent(student: ExpNet, set: ImageSet): Float32Array[] {
  const device = student.device as Device;
  return predictProbs(set.y.length, student, (i) => batchOf(set, i, null, null, undefined, device).x, (x) => student.forward(x));
}

export interface TrainHooks {
  /**
   * fn2en only: called with the fine-tuned face net before stage (a) — the fine-tune baseline of the same run
   * (same seed and config as `--method finetune`), so a protocol can score both without training the teacher twice.
   */
  onTeacher?: (teacher: Pick<TrainedModel, 'predict' | 'valAccuracy' | 'stages'>) => void;
}

/** The stages `cfg.method` trains, in order, with their epochs (for the reporter's whole-run ETA). */
export function stagePlan(cfg: TrainConfig, images: number, stageAImages = images): StagePlan[] {
  const teacher = cfg.method !== 'scratch' && (cfg.teacher.fineTune || cfg.method === 'finetune') ? [{ name: 'teacher', epochs: cfg.teacher.stage.epochs, images }] : [];
  if (cfg.method === 'finetune') return teacher;
  const b = { name: 'stageB', epochs: cfg.stageB.epochs, images };
  return cfg.method === 'scratch' ? [b] : [...teacher, { name: 'stageA', epochs: cfg.stageA.epochs, images: stageAImages }, b];
}

/**
 * Trains one method on a training split (with validation data for model selection) and returns the
 * trained model. `classes` is the number of labels; `teacherNet` defaults to face-api's pretrained ResNet.
 */
export async function trainMethod(cfg: TrainConfig, splits: Splits, ctx: RunContext, classes: number, teacherNet?: TeacherNet, hooks: TrainHooks = {}): Promise<TrainedModel> {
  const device = checkDevice(cfg.device, 'config.device'); // before any work: a missing GPU is a config error
  ctx = withPrecision(ctx, resolvePrecision(cfg.precision, device, 'config.precision').precision);
  const studentInit = readStudentInit(cfg, { ...cfg.student, numClasses: classes }); // a bad file fails now, not after the teacher's training
  manualSeed(cfg.seed); // weight initialisation (on the CPU, then moved: the same initial weights on every device) and dropout masks
  const stages: Record<string, StageResult> = {};
  const studentCfg = { ...cfg.student, numClasses: classes };
  // Stage (a)'s images: the labelled training images, then (stageA.data 'all') the unlabelled ones.
  const extra = cfg.method === 'fn2en' && cfg.stageA.data === 'all' && (splits.unlabelled?.y.length ?? 0) > 0 ? splits.unlabelled : undefined;
  if (splits.unlabelled && splits.unlabelled.y.length > 0 && !extra)
    ctx.reporter.warn(`${splits.unlabelled.y.length} unlabelled face(s) not used: ${cfg.method === 'fn2en' ? "config.stageA.data is 'labelled'" : `only fn2en's stage (a) uses faces without labels, not ${cfg.method}`}`);
  ctx.reporter.plan?.(stagePlan(cfg, splits.train.y.length, splits.train.y.length + (extra?.y.length ?? 0)));
  if (cfg.method === 'scratch') {
    const student = newStudent(studentCfg, studentInit, ctx).to(device);
    stages['stageB'] = await studentStageB(cfg, splits, ctx, student, device);
    return studentResult(cfg.method, student, splits, stages);
  }
  // A caller's teacher net is moved to `device` in place.
  const faceNet = teacherNet ?? (await teacherEntry(cfg.teacher.net).create());
  if (cfg.init.faceNet) {
    try {
      ctx.reporter.message(`face net: ${initFaceNet(faceNet, cfg.init.faceNet)} tensors from ${cfg.init.faceNet}`);
    } catch (err) {
      if (!teacherNet) faceNet.dispose(); // ours: nothing else holds it
      throw err;
    }
  }
  const regSet = extra ? concatImageSets([splits.train, extra]) : splits.train;
  const teacher = await trainTeacher(cfg, splits, ctx, classes, faceNet, device, regSet);
  // A caller's teacher is the caller's to dispose; only the head added here is ours.
  const disposeTeacher = (): void => (teacherNet ? teacher.cls.head.dispose() : teacher.cls.dispose());
  if (teacher.stage) stages['teacher'] = teacher.stage;
  const { cls } = teacher;
  const predict = (set: ImageSet): Float32Array[] =>
    predictProbs(set.y.length, cls, (i) => toTeacherInput(batchOf(set, i, null, null, undefined, device).x, cfg.teacher.inputSize), (x) => cls.forward(x), 64);
  if (cfg.method === 'fn2en' && !teacher.stage?.interrupted) hooks.onTeacher?.({ predict, valAccuracy: teacher.valAccuracy, stages: { ...stages } });
  if (cfg.method === 'finetune' || teacher.stage?.interrupted) {
    return { method: cfg.method, model: cls, predict, valAccuracy: teacher.valAccuracy, stages, interrupted: teacher.stage?.interrupted ?? false, dispose: disposeTeacher };
  }
  const student = newStudent(studentCfg, studentInit, ctx).to(device);
  ctx.reporter.message(`stage (a): regressing the face net's ${cfg.stageA.target} (cached, ${cfg.teacher.views} views per image) on ${regSet.y.length} faces${extra ? ` (${extra.y.length} unlabelled)` : ''}`);
  const targets = regressionTargets(cfg, cls, teacher.train, regSet.y.length, student, device);
  const orderA = orderFor(splits.sets ? [...splits.sets.train, ...(extra ? splits.sets.unlabelled : [])] : undefined);
  const [tc] = targets.shape as [number];
  const adapter = tc === student.featureShape[0] ? null : new Conv2d(student.featureShape[0], tc, 1).to(device);
  const reg = new Regressor(student, adapter);
  const sa = cfg.stageA;
  stages['stageA'] = await fitStage(ctx, {
    name: 'stageA',
    config: sa,
    model: reg,
    params: [...student.convParameters(), ...(adapter?.parameters() ?? [])],
    size: regSet.y.length,
    batch: (idx, rng) => {
      const views = pickViews(idx.length, cfg.teacher.views, rng);
      return [viewBatch(regSet, idx, views, cfg.seed, device), cachedBatch(targets, idx, views, device)];
    },
    ...(orderA ? { order: orderA } : {}),
    loss: (x, t) => {
      const p = reg.forward(x);
      return [sa.loss === 'l1' ? l1Loss(p, t as Tensor) : mseLoss(p, t as Tensor)];
    },
  });
  disposeTeacher();
  // The adapter (student channels ≠ teacher channels, e.g. the paper's 512-wide student) is part of `reg`: it goes
  // after the explained variance is measured through it.
  if (!stages['stageA'].interrupted) ctx.log({ stage: 'stageA', explainedVariance: noGrad(() => explained(reg, regSet, targets, device)) });
  adapter?.dispose();
  if (stages['stageA'].interrupted) return studentResult(cfg.method, student, splits, stages);
  stages['stageB'] = await studentStageB(cfg, splits, ctx, student, device);
  return studentResult(cfg.method, student, splits, stages);
}

/** A new student, its conv blocks from `init.student` when set (the head is always new). */
function newStudent(studentCfg: ExpNetConfig, init: ReadonlyMap<string, RawTensor> | null, ctx: RunContext): ExpNet {
  const student = new ExpNet(studentCfg);
  if (init) {
    student.loadStateDict(init, false);
    ctx.reporter.message(`student: ${init.size} conv tensors from init.student`);
  }
  return student;
}

/** `init.student`'s conv blocks, checked on a throw-away student (before seeding, so the run's random draws are unchanged). */
function readStudentInit(cfg: TrainConfig, studentCfg: ExpNetConfig): Map<string, RawTensor> | null {
  if (!cfg.init.student) return null;
  const probe = new ExpNet(studentCfg);
  try {
    return initStudent(probe, cfg.init.student);
  } finally {
    probe.dispose();
  }
}

/** 1 − MSE / Var(target) of stage (a) on (up to 512) training images, view 0. */
function explained(reg: Regressor, set: ImageSet, targets: FeatureCache, device: Device): number {
  const n = Math.min(512, set.y.length);
  const idx = Array.from({ length: n }, (_, i) => i);
  return tidy(() => {
    reg.eval();
    const t = cachedBatch(targets, idx, [], device);
    const mse = mseLoss(reg.forward(batchOf(set, idx, null, null, undefined, device).x), t).item();
    return 1 - mse / t.var().item();
  });
}

function studentResult(method: Method, student: ExpNet, splits: Splits, stages: Record<string, StageResult>): TrainedModel {
  const valAccuracy = hasVal(splits) ? accuracyOf(predictStudent(student, splits.val), splits.val.y) : null;
  const interrupted = Object.values(stages).some((st) => st.interrupted);
  return { method, model: student, predict: (set) => predictStudent(student, set), valAccuracy, stages, interrupted, dispose: () => student.dispose() };
}
