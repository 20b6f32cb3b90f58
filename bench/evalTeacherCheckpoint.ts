/**
 * Scores a fine-tuned face net (the "finetune" baseline) saved by a run's teacher stage on a data set's test
 * split — the same model `expnet train --method finetune` would train with the same seed and config, without
 * training it twice; writes <run>/eval-teacher/results.json and predictions.json (for paired tests with `expnet eval
 * --predictions`). Usage: node dist/bench/evalTeacherCheckpoint.js <run dir> <data dir> [format]
 * (format: detected from the data when omitted).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectFormat } from '../src/data/detectFormat.js';
import { loadCheckpoint } from '../src/engine/checkpoint.js';
import { metricsOfProbs } from '../src/train/metrics.js';
import { FaceNetClassifier } from '../src/nets/faceNetClassifier.js';
import { createPretrainedFaceNet } from '../src/nets/faceNetWeights.js';
import type { TrainConfig } from '../src/train/config.js';
import { loadAll, officialSplit, readDataSet, subset, type DataFormat } from '../src/train/experiment.js';
import { predictProbs } from '../src/train/featureCache.js';
import { predictionsToJson } from '../src/eval/predictions.js';
import { batchOf, toTeacherInput } from '../src/train/imageSet.js';
import { createRunContext } from '../src/train/runContext.js';

const [run, data, format] = process.argv.slice(2);
if (!run || !data) {
  process.stderr.write('usage: evalTeacherCheckpoint <run dir> <data dir> [format]\n');
  process.exit(2);
}
const cfg = (JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { config: TrainConfig }).config;
const ds = await readDataSet((format ?? detectFormat(data).format) as DataFormat, data);
const { test, testName } = officialSplit(ds);
const ctx = createRunContext(join(run, 'eval-teacher'), { seed: cfg.seed });
const all = await loadAll({ ...ds, samples: ds.samples }, cfg, ctx);
const set = subset(all, test);
const cls = new FaceNetClassifier(await createPretrainedFaceNet(), ds.labels.length, cfg.teacher.frozenUntil);
loadCheckpoint(join(run, 'teacher.best.safetensors'), { model: cls });
const probs = predictProbs(set.y.length, cls, (i) => toTeacherInput(batchOf(set, i, null, null).x), (x) => cls.forward(x), 64);
const m = metricsOfProbs(set.y, probs, ds.labels);
writeFileSync(join(run, 'eval-teacher', 'results.json'), JSON.stringify({ method: 'finetune', testName, test: m }, null, 1));
// For paired tests against other models (`expnet eval <data> --predictions <this file> --model ...`).
const predictions = { model: `finetune (${run})`, dataSet: ds.name, labels: [...ds.labels], truth: set.y, probs, paths: set.sampleIndex.map((i) => ds.samples[i]?.path ?? String(i)) };
writeFileSync(join(run, 'eval-teacher', 'predictions.json'), JSON.stringify(predictionsToJson(predictions)));
process.stdout.write(`finetune (teacher of ${run}): ${testName} accuracy ${(100 * m.accuracy).toFixed(2)} % (balanced ${(100 * m.balancedAccuracy).toFixed(2)} %)\n`);
cls.dispose();
