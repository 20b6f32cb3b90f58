/**
 * Scores a fine-tuned face net (the "finetune" baseline) saved by a run's teacher stage on a data set's test
 * split — the same model `expnet train --method finetune` would train with the same seed and config, without
 * training it twice; writes results.json and predictions.json (for paired tests with `expnet eval --predictions`)
 * to <run>/eval-teacher/ (a multi-data run: <run>/eval-teacher-<set name>/).
 *   node dist/bench/evalTeacherCheckpoint.js <run dir> <data dir> [format]
 * (format: detected from the data when omitted). A multi-data run's teacher outputs the 7 basic classes: the
 * set's test faces are scored in that order, faces of other labels (CK+ contempt) dropped and counted.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectFormat } from '../src/data/detectFormat.js';
import { loadCheckpoint } from '../src/engine/checkpoint.js';
import { metricsOfProbs } from '../src/train/metrics.js';
import { FaceNetClassifier } from '../src/nets/faceNetClassifier.js';
import { teacherEntry } from '../src/nets/teachers.js';
import { BASIC7_LABELS, type ExpressionLabel } from '../src/data/labels.js';
import { resolveConfig } from '../src/train/config.js';
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
const runConfig = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { config: unknown; data?: unknown };
const cfg = resolveConfig(runConfig.config); // configs written before the teacher registry resolve to dlib-resnet
const ds = await readDataSet((format ?? detectFormat(data).format) as DataFormat, data);
// a multi-data run (config.json's `data` is a list) trains on the 7 basic classes (src/train/dataMix.ts)
const mix = Array.isArray(runConfig.data) && runConfig.data.length > 1;
const runLabels: readonly ExpressionLabel[] = mix ? BASIC7_LABELS : ds.labels;
// one folder per scored set for a multi-data run, `eval-teacher` for a one-set run
const outDir = join(run, mix ? `eval-teacher-${ds.name}` : 'eval-teacher');
const { test: allTest, testName } = officialSplit(ds);
const test = allTest.filter((i) => runLabels.includes(ds.samples[i]?.label as ExpressionLabel));
if (test.length < allTest.length) process.stdout.write(`${allTest.length - test.length} test faces of labels the run does not know dropped\n`);
const ctx = createRunContext(outDir, { seed: cfg.seed });
const all = await loadAll({ ...ds, samples: ds.samples }, cfg, ctx);
const set = subset(all, test);
const teacher = teacherEntry(cfg.teacher.net);
const cls = new FaceNetClassifier(await teacher.create(), runLabels.length, cfg.teacher.frozenUntil, 0.5, teacher);
loadCheckpoint(join(run, 'teacher.best.safetensors'), { model: cls });
const probs = predictProbs(set.y.length, cls, (i) => toTeacherInput(batchOf(set, i, null, null).x, cfg.teacher.inputSize), (x) => cls.forward(x), 64);
// truth in the run's label order (the same indices when the run trained on this set alone)
const truth = Int32Array.from(set.sampleIndex, (i) => runLabels.indexOf(ds.samples[i]?.label as ExpressionLabel));
const m = metricsOfProbs(truth, probs, runLabels);
writeFileSync(join(outDir, 'results.json'), JSON.stringify({ method: 'finetune', testName, test: m }, null, 1));
// For paired tests against other models (`expnet eval <data> --predictions <this file> --model ...`).
const predictions = { model: `finetune (${run})`, dataSet: ds.name, labels: [...runLabels], truth, probs, paths: set.sampleIndex.map((i) => ds.samples[i]?.path ?? String(i)) };
writeFileSync(join(outDir, 'predictions.json'), JSON.stringify(predictionsToJson(predictions)));
process.stdout.write(`finetune (teacher of ${run}): ${testName} accuracy ${(100 * m.accuracy).toFixed(2)} % (balanced ${(100 * m.balancedAccuracy).toFixed(2)} %)\n`);
cls.dispose();
