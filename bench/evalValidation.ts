/**
 * Scores trained expression nets on the validation data their runs carved from the training split (same seed
 * and valFraction as each run's config.json), with balanced accuracy and per-class recall: the numbers model
 * choices between runs are made on (never a test split).
 * Usage: node dist/bench/evalValidation.js <data dir> <run dir> [<run dir> ...]   (each run dir holds config.json + model.safetensors)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metricsOfProbs } from '../src/train/metrics.js';
import { loadExpNetModel } from '../src/nets/modelCard.js';
import type { TrainConfig } from '../src/train/config.js';
import { loadAll, officialSplit, readDataSet, subset, validationSplit, type DataFormat } from '../src/train/experiment.js';
import { createRunContext, silentReporter } from '../src/train/runContext.js';
import { predictStudent } from '../src/train/trainMethod.js';

const [data, ...runs] = process.argv.slice(2);
if (!data || runs.length === 0) {
  process.stderr.write('usage: evalValidation <data dir> <run dir> [<run dir> ...]\n');
  process.exit(2);
}
const saved = (run: string): { config: TrainConfig; format: DataFormat } => JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { config: TrainConfig; format: DataFormat };
const first = saved(runs[0] as string);
const ds = await readDataSet(first.format, data);
const { train } = officialSplit(ds);
const all = await loadAll(ds, first.config, { ...createRunContext(join(runs[0] as string, 'eval-validation'), { seed: first.config.seed }), reporter: silentReporter });
const pct = (v: number): string => (100 * v).toFixed(2);
for (const run of runs) {
  const { config } = saved(run);
  const val = subset(all, validationSplit(ds, train, config, config.seed).validation);
  const { model } = loadExpNetModel(join(run, 'model.safetensors'));
  const m = metricsOfProbs(val.y, predictStudent(model, val), ds.labels);
  model.dispose();
  const recall = m.perClass.map((c) => `${c.label} ${pct(c.recall)}`).join(', ');
  process.stdout.write(`${run}: validation n=${m.n} accuracy ${pct(m.accuracy)} % balanced ${pct(m.balancedAccuracy)} % (recall: ${recall})\n`);
}
