/**
 * `expnet train` over several data sets (src/train/dataMix.ts): one model on the 7 basic classes, batches drawn
 * from the sets in proportion to weight × size, model selection on the mean of the per-set validation
 * accuracies (or the pooled accuracy, config.selection), then per-set validation and test metrics, the temperature fitted on the validation carve, and
 * results.json + splits.json (which samples of each set trained, validated and tested) in the run folder.
 */
import { writeFileAtomic } from '../engine/safetensors.js';
import { join } from 'node:path';
import { BASIC7_LABELS } from '../data/labels.js';
import { isMainProcess } from '../engine/distributed.js';
import { resolvePrecision } from '../engine/autocast.js';
import { metricsOfProbs, type Metrics } from './metrics.js';
import type { TemperatureCalibration } from '../eval/temperature.js';
import type { TrainConfig } from './config.js';
import { describePart, readMix, type EntryFormat, type MixPart, type ResolvedEntry } from './dataMix.js';
import { concatImageSets, type ImageSet } from './imageSet.js';
import { drawCounts, isUniform, type SetBlock } from './sampling.js';
import { loadAll, subset, warnSmallValidation } from './experiment.js';
import { deployedBalance, fitCalibration } from './fitCalibration.js';
import type { RunContext } from './runContext.js';
import { trainMethod, type TrainedModel } from './trainMethod.js';
import { describeTrainingSet } from './trainingSets.js';
import type { TrainingSet } from '../nets/modelCard.js';

export interface SetResult {
  name: string;
  path: string;
  format: EntryFormat;
  weight: number;
  labelled: boolean;
  sizes: { train: number; validation: number; test: number };
  dropped: Record<string, number>;
  validation: Metrics | null;
  testName: string | null;
  test: Metrics | null;
  /** For the model card: which splits and people of the set were never trained on. */
  seen: TrainingSet;
}

export interface MixRun {
  trained: TrainedModel;
  labels: string[];
  /** Pooled over the sets' validation carves. */
  valAccuracy: number | null;
  sets: SetResult[];
  calibration: TemperatureCalibration | null;
  /** Training frequency of each class over the labelled training images (label order). */
  classFrequencies: number[];
  /** The class prior the model learnt (src/train/fitCalibration.ts). */
  classPrior: number[];
}

/** Average draws per epoch of each image of the concatenated blocks (1 everywhere when the weights are equal). */
function drawsPerImage(blocks: readonly SetBlock[]): (i: number) => number {
  if (isUniform(blocks)) return () => 1;
  const counts = drawCounts(blocks);
  const rate: number[] = blocks.flatMap((b, k) => new Array<number>(b.size).fill(b.size > 0 ? (counts[k] ?? 0) / b.size : 0));
  return (i) => rate[i] ?? 0;
}

async function loadPart(p: MixPart, cfg: TrainConfig, ctx: RunContext): Promise<{ train: ImageSet; val: ImageSet; test: ImageSet }> {
  const all = await loadAll(p.ds, cfg, ctx, [...p.train, ...p.validation, ...p.test]);
  const val = subset(all, p.validation);
  warnSmallValidation(ctx, val.y.length, `${p.name}: `);
  return { train: subset(all, p.train), val, test: subset(all, p.test) };
}

/** Trains `cfg.method` on the mix and scores it per set; results.json and splits.json go into ctx.dir. */
export async function trainOnMix(entries: readonly ResolvedEntry[], cfg: TrainConfig, ctx: RunContext): Promise<MixRun> {
  const parts = await readMix(entries, cfg, (t) => ctx.reporter.warn(t));
  for (const p of parts) {
    ctx.reporter.message(describePart(p));
    ctx.log({ data: p.name, format: p.format, weight: p.weight, labelled: p.labelled, train: p.train.length, validation: p.validation.length, test: p.test.length, testName: p.testName, dropped: p.dropped });
  }
  if (isMainProcess()) {
    const ids = (p: MixPart, idx: readonly number[]): string[] => idx.map((i) => p.ds.samples[i]?.path ?? '');
    const record = parts.map((p) => ({ name: p.name, path: p.path, train: ids(p, p.train), validation: ids(p, p.validation), test: ids(p, p.test), testName: p.testName }));
    writeFileAtomic(join(ctx.dir, 'splits.json'), [Buffer.from(JSON.stringify(record))]);
  }
  const loaded: { part: MixPart; train: ImageSet; val: ImageSet; test: ImageSet }[] = [];
  for (const part of parts) {
    const l = await loadPart(part, cfg, ctx);
    if (!part.labelled) l.train.y.fill(-1);
    loaded.push({ part, ...l });
  }
  const labelled = loaded.filter((l) => l.part.labelled);
  const unlabelled = loaded.filter((l) => !l.part.labelled);
  const block = (l: (typeof loaded)[number]) => ({ name: l.part.name, size: l.train.y.length, weight: l.part.weight });
  const splits = {
    train: concatImageSets(labelled.map((l) => l.train)),
    val: concatImageSets(labelled.map((l) => l.val)),
    ...(unlabelled.length > 0 ? { unlabelled: concatImageSets(unlabelled.map((l) => l.train)) } : {}),
    sets: { train: labelled.map(block), unlabelled: unlabelled.map(block), val: labelled.map((l) => ({ name: l.part.name, size: l.val.y.length })) },
  };
  ctx.reporter.message(`${cfg.method}: ${parts.length} data sets; train ${splits.train.y.length}, validation ${splits.val.y.length}${splits.unlabelled ? `, unlabelled ${splits.unlabelled.y.length}` : ''}`);
  const labels = [...BASIC7_LABELS];
  const trained = await trainMethod(cfg, splits, ctx, labels.length);
  const score = (s: ImageSet): Metrics | null => (s.y.length > 0 ? metricsOfProbs(s.y, trained.predict(s), labels) : null);
  const sets: SetResult[] = loaded.map(({ part: p, train, val, test }) => ({
    name: p.name, path: p.path, format: p.format, weight: p.weight, labelled: p.labelled,
    sizes: { train: train.y.length, validation: val.y.length, test: test.y.length },
    dropped: p.dropped,
    validation: p.labelled ? score(val) : null,
    testName: p.testName,
    test: p.labelled ? score(test) : null,
    seen: describeTrainingSet(p.name, p.ds, [...p.train, ...p.validation]),
  }));
  for (const s of sets) if (s.labelled) ctx.log({ data: s.name, valAccuracy: s.validation?.accuracy ?? null, ...(s.test ? { testName: s.testName, testAccuracy: s.test.accuracy } : {}) });
  const validation = score(splits.val);
  const { calibration, classFrequencies, classPrior } = fitCalibration(trained, splits.train, splits.val, labels.length, deployedBalance(cfg), drawsPerImage(splits.sets.train));
  if (calibration) ctx.log({ calibration });
  const out = {
    method: cfg.method,
    precision: resolvePrecision(cfg.precision, cfg.device, 'config.precision').precision,
    labels,
    valAccuracy: trained.valAccuracy,
    validation,
    sets,
    calibration,
    classFrequencies,
    classPrior,
    stages: trained.stages,
  };
  if (isMainProcess()) writeFileAtomic(join(ctx.dir, 'results.json'), [Buffer.from(JSON.stringify(out, null, 1))]);
  return { trained, labels, valAccuracy: trained.valAccuracy, sets, calibration, classFrequencies, classPrior };
}
