/**
 * Protocols over a data set: `train` (the data set's training split → a saved model, scored on its test
 * split when it has one) and `crossValidate` (person-independent k folds, every method, every fold).
 * Validation data for model selection is always carved from the training part, never from a test split.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readCkPlus } from '../data/ckplus.js';
import { readCkPlus48 } from '../data/ckplus48.js';
import { readCsvManifest } from '../data/csvManifest.js';
import { readFerPlus } from '../data/ferplus.js';
import type { DataSet } from '../data/dataSet.js';
import type { DataFormat } from '../data/detectFormat.js';
import { readFer2013 } from '../data/fer2013.js';
import { readImageFolder } from '../data/imageFolder.js';
import { readJaffe } from '../data/jaffe.js';
import { readOuluCasia } from '../data/ouluCasia.js';
import { readSfew } from '../data/sfew.js';
import { carveValidation, personIndependentFolds } from '../data/splits.js';
import { readTfd } from '../data/tfd.js';
import { isMainProcess } from '../engine/distributed.js';
import { resolvePrecision } from '../engine/autocast.js';
import { writeFileAtomic } from '../engine/safetensors.js';
import { ExpnetError } from '../errors.js';
import { addConfusions, meanStd, metricsOfProbs, type Metrics } from './metrics.js';
import type { Method, TrainConfig } from './config.js';
import { loadImageSet, type ImageSet } from './imageSet.js';
import { childContext, type RunContext } from './runContext.js';
import { trainMethod, type TrainedModel } from './trainMethod.js';
import { deployedBalance, fitCalibration } from './fitCalibration.js';
import type { TemperatureCalibration } from '../eval/temperature.js';

export { DATA_FORMATS, type DataFormat } from '../data/detectFormat.js';

/** Reads a data set; `warn` is told what the reader dropped (a CSV manifest's duplicate rows). */
export function readDataSet(format: DataFormat, root: string, warn?: (text: string) => void): Promise<DataSet> {
  switch (format) {
    case 'ckplus48': return readCkPlus48(root);
    case 'ckplus': return readCkPlus(root);
    case 'fer2013': return readFer2013(root);
    case 'jaffe': return readJaffe(root);
    case 'oulu': return readOuluCasia(root);
    case 'sfew': return readSfew(root);
    case 'tfd': return readTfd(root);
    case 'folder': return readImageFolder(root);
    case 'csv': return readCsvManifest(root, warn ? { warn } : {});
    case 'ferplus': return readFerPlus(root);
    case 'ferplus7': return readFerPlus(root, { contempt: false });
  }
}

/** Every sample (or the given ones) decoded once; subsets are views by position. */
export async function loadAll(ds: DataSet, cfg: TrainConfig, ctx: RunContext, indices: readonly number[] = ds.samples.map((_, i) => i)): Promise<ImageSet> {
  const s = cfg.student;
  ctx.reporter.message(`decoding ${indices.length} images of ${ds.name} at ${s.inputSize}×${s.inputSize}`);
  const set = await loadImageSet(ds, indices, { channels: s.inChannels, height: s.inputSize, width: s.inputSize }, (m) => ctx.reporter.warn(m));
  const n = set.skipped.length;
  if (n > cfg.maxSkippedImages) {
    const shown = set.skipped.slice(0, 3).map((s) => `${s.file} (${s.reason})`).join('; ');
    throw new ExpnetError('BAD_INPUT', `${ds.name}: ${n} of ${indices.length} images are missing or cannot be decoded, more than config.maxSkippedImages = ${cfg.maxSkippedImages} allows: ${shown}${n > 3 ? '; …' : ''}`);
  }
  if (n > 0) ctx.reporter.warn(`${n} missing or undecodable image(s) skipped (config.maxSkippedImages allows ${cfg.maxSkippedImages})`);
  return set;
}

/** Fewer validation images than this: accuracy on them says little, and a warning says so. */
export const MIN_MEANINGFUL_VALIDATION = 30;

export function warnSmallValidation(ctx: RunContext, images: number, where: string): void {
  if (images > 0 && images < MIN_MEANINGFUL_VALIDATION) {
    ctx.reporter.warn(`${where}validation holds only ${images} image(s) (fewer than ${MIN_MEANINGFUL_VALIDATION}): its accuracy is not meaningful for model selection; use more data or a larger valFraction`);
  }
}

/** The images of `all` whose sample indices are in `indices` (skipped files drop out). */
export function subset(all: ImageSet, indices: readonly number[]): ImageSet {
  const pos = new Map(all.sampleIndex.map((s, p) => [s, p]));
  const keep = indices.map((i) => pos.get(i)).filter((p): p is number => p !== undefined);
  const per = all.shape.channels * all.shape.height * all.shape.width;
  const x = new Float32Array(keep.length * per);
  keep.forEach((p, k) => x.set(all.x.subarray(p * per, (p + 1) * per), k * per));
  const out: ImageSet = { x, y: Int32Array.from(keep.map((p) => all.y[p] ?? 0)), sampleIndex: keep.map((p) => all.sampleIndex[p] ?? 0), shape: all.shape, skipped: [] };
  if (all.soft) {
    const k = all.soft.length / Math.max(all.y.length, 1);
    const soft = new Float32Array(keep.length * k);
    keep.forEach((p, n) => soft.set((all.soft as Float32Array).subarray(p * k, (p + 1) * k), n * k));
    out.soft = soft;
  }
  return out;
}

/** The training and validation samples of a training split (the carve every run uses for model selection). */
export function validationSplit(ds: DataSet, train: readonly number[], cfg: TrainConfig, seed: number): { train: number[]; validation: number[] } {
  return cfg.valFraction > 0 ? carveValidation(train, ds.samples, cfg.valFraction, seed) : { train: [...train], validation: [] };
}

export interface MethodFold {
  method: Method;
  fold: number;
  valAccuracy: number | null;
  test: Metrics;
  seconds: number;
}

export interface CvSummary {
  dataSet: string;
  folds: number;
  labels: string[];
  methods: Record<string, { accuracy: { mean: number; std: number }; balancedAccuracy: { mean: number; std: number }; confusion: number[][]; seconds: number }>;
  results: MethodFold[];
  /** Training-step precision of the run (config.precision resolved on the machine that trained). */
  precision?: 'fp32' | 'bf16';
  /** Set when --max-time or a stop ended the run inside this fold and method (not recorded; resume continues it). */
  interrupted?: { fold: number; method: Method };
}

/** A cross-validation run's results.json (a run folder or the file itself), checked; `dir` is the folder holding it. */
export function readCvResults(path: string): { summary: CvSummary; dir: string } {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'results.json') : path;
  if (!existsSync(file)) throw new ExpnetError('NOT_FOUND', `${path}: no results.json there (expected a cross-validation run folder or its results.json)`);
  const summary = JSON.parse(readFileSync(file, 'utf8')) as CvSummary;
  if (!Array.isArray(summary.results) || !Array.isArray(summary.labels)) throw new ExpnetError('BAD_INPUT', `${file}: not a cross-validation results.json (expected labels and results[])`);
  return { summary, dir: dirname(file) };
}

export function summarise(ds: { name: string; labels: readonly string[] }, k: number, results: MethodFold[]): CvSummary {
  const methods: CvSummary['methods'] = {};
  for (const m of new Set(results.map((r) => r.method))) {
    const rs = results.filter((r) => r.method === m);
    methods[m] = {
      accuracy: meanStd(rs.map((r) => r.test.accuracy)),
      balancedAccuracy: meanStd(rs.map((r) => r.test.balancedAccuracy)),
      confusion: addConfusions(rs.map((r) => r.test.confusion)),
      seconds: rs.reduce((a, r) => a + r.seconds, 0),
    };
  }
  return { dataSet: ds.name, folds: k, labels: [...ds.labels], methods, results };
}

export interface CvOptions {
  /** 1-based folds to run (default: all k). */
  onlyFolds?: readonly number[];
}

/**
 * Person-independent k-fold cross-validation of each method; results.json is rewritten after every fold, and
 * a resumed run (ctx.resume) skips the method × fold pairs it already holds.
 * When both fn2en and finetune are asked for (with teacher fine-tuning on), the fine-tune baseline is the
 * fn2en run's own fine-tuned face net: the same net `--method finetune` trains with that seed and config.
 */
export async function crossValidate(ds: DataSet, k: number, methods: readonly Method[], cfg: TrainConfig, ctx: RunContext, opts: CvOptions = {}): Promise<CvSummary> {
  const all = await loadAll(ds, cfg, ctx);
  const folds = personIndependentFolds(ds.samples, k, cfg.seed);
  for (const f of opts.onlyFolds ?? []) if (!Number.isInteger(f) || f < 1 || f > k) throw new ExpnetError('BAD_CONFIG', `fold ${f} does not exist (folds are 1..${k})`);
  const precision = resolvePrecision(cfg.precision, cfg.device, 'config.precision').precision;
  const shareTeacher = methods.includes('fn2en') && methods.includes('finetune') && cfg.teacher.fineTune;
  const resultsFile = join(ctx.dir, 'results.json');
  // Resuming keeps the folds already scored (a run can also be split with onlyFolds and finished later).
  const results: MethodFold[] = ctx.resume && existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as CvSummary).results : [];
  const done = (method: Method, fold: number): boolean => results.some((r) => r.method === method && r.fold === fold);
  const record = (r: MethodFold): void => {
    const old = results.findIndex((o) => o.method === r.method && o.fold === r.fold);
    if (old >= 0) results.splice(old, 1);
    results.push(r);
    results.sort((a, b) => a.fold - b.fold || methods.indexOf(a.method) - methods.indexOf(b.method));
    ctx.log({ fold: r.fold, method: r.method, testAccuracy: r.test.accuracy, valAccuracy: r.valAccuracy });
    ctx.reporter.message(`fold ${r.fold} ${r.method}: test accuracy ${(100 * r.test.accuracy).toFixed(2)} %`);
    writeFileAtomic(resultsFile, [Buffer.from(JSON.stringify({ ...summarise(ds, k, results), precision }, null, 1))]);
  };
  for (const [f, fold] of folds.entries()) {
    if (opts.onlyFolds && !opts.onlyFolds.includes(f + 1)) continue;
    const { train, validation } = validationSplit(ds, fold.train, cfg, cfg.seed + f);
    const splits = { train: subset(all, train), val: subset(all, validation) };
    const test = subset(all, fold.test);
    warnSmallValidation(ctx, splits.val.y.length, `fold ${f + 1}: `);
    for (const method of methods) {
      if (method === 'finetune' && shareTeacher) continue; // scored from the fn2en run below
      if (done(method, f + 1) && (method !== 'fn2en' || !shareTeacher || done('finetune', f + 1))) continue;
      const t0 = Date.now();
      const fctx = childContext(ctx, `fold${f + 1}-${method}`);
      ctx.reporter.message(`fold ${f + 1}/${k}, ${method}: train ${splits.train.y.length}, validation ${splits.val.y.length}, test ${test.y.length}`);
      const onTeacher = (t: { predict: TrainedModel['predict']; valAccuracy: number | null; stages: TrainedModel['stages'] }): void =>
        record({ method: 'finetune', fold: f + 1, valAccuracy: t.valAccuracy, test: metricsOfProbs(test.y, t.predict(test), ds.labels), seconds: (Date.now() - t0) / 1000 });
      const trained = await trainMethod({ ...cfg, method }, splits, fctx, ds.labels.length, undefined, method === 'fn2en' && shareTeacher ? { onTeacher } : {});
      if (trained.interrupted) {
        // --max-time or Ctrl-C: a half-trained fold is not a result; --resume continues it from its checkpoints.
        trained.dispose();
        return { ...summarise(ds, k, results), precision, interrupted: { fold: f + 1, method } };
      }
      const metrics = metricsOfProbs(test.y, trained.predict(test), ds.labels);
      trained.dispose();
      record({ method, fold: f + 1, valAccuracy: trained.valAccuracy, test: metrics, seconds: (Date.now() - t0) / 1000 });
    }
  }
  return { ...summarise(ds, k, results), precision };
}

/** The source splits `expnet train` never trains on: its test splits, and PrivateTest (kept for blind scoring). */
export const HELD_OUT_SPLITS: readonly string[] = ['PublicTest', 'Val', 'test', 'Test', 'PrivateTest'];

/** Which samples train and which test, by the data set's own split names. */
export function officialSplit(ds: DataSet): { train: number[]; test: number[]; testName: string | null } {
  const train: number[] = [];
  const test: number[] = [];
  let testName: string | null = null;
  ds.samples.forEach((s, i) => {
    if (s.split === 'PrivateTest') return; // held out for blind scoring
    if (s.split && HELD_OUT_SPLITS.includes(s.split)) {
      testName = s.split;
      test.push(i);
    } else train.push(i);
  });
  return { train, test, testName };
}

export interface TrainRun {
  trained: TrainedModel;
  test: Metrics | null;
  testName: string | null;
  valAccuracy: number | null;
  /** Temperature scaling fitted on the validation carve (for the model card; not in results.json). */
  calibration: TemperatureCalibration | null;
  classFrequencies: number[];
  classPrior: number[];
}

/** Trains one method on the data set's training split and scores it on the test split if there is one. */
export async function trainOnDataSet(ds: DataSet, cfg: TrainConfig, ctx: RunContext): Promise<TrainRun> {
  const { train, test, testName } = officialSplit(ds);
  if (train.length === 0) throw new ExpnetError('BAD_INPUT', `${ds.name}: no training samples`);
  const all = await loadAll(ds, cfg, ctx);
  const v = validationSplit(ds, train, cfg, cfg.seed);
  const splits = { train: subset(all, v.train), val: subset(all, v.validation) };
  warnSmallValidation(ctx, splits.val.y.length, '');
  ctx.reporter.message(`${cfg.method}: train ${splits.train.y.length}, validation ${splits.val.y.length}${testName ? `, ${testName} ${test.length}` : ''}`);
  const trained = await trainMethod(cfg, splits, ctx, ds.labels.length);
  const testSet = test.length > 0 ? subset(all, test) : null;
  const metrics = testSet ? metricsOfProbs(testSet.y, trained.predict(testSet), ds.labels) : null;
  // Validation metrics in full (balanced accuracy, per class): what model choices between runs are made on.
  const validation = splits.val.y.length > 0 ? metricsOfProbs(splits.val.y, trained.predict(splits.val), ds.labels) : null;
  const out = { method: cfg.method, precision: resolvePrecision(cfg.precision, cfg.device, 'config.precision').precision, valAccuracy: trained.valAccuracy, validation, testName, test: metrics, stages: trained.stages };
  if (isMainProcess()) writeFileAtomic(join(ctx.dir, 'results.json'), [Buffer.from(JSON.stringify(out, null, 1))]);
  return { trained, test: metrics, testName, valAccuracy: trained.valAccuracy, ...fitCalibration(trained, splits.train, splits.val, ds.labels.length, deployedBalance(cfg)) };
}
