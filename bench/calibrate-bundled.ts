/**
 * Temperature scaling and the class-prior correction on an expression model trained on FER2013 (default: the
 * bundled one), measured on face crops (no detection): T fitted on the model's own FER2013 validation carve
 * (valFraction and seed as given, default 0.1 and 1 = how the bundled model was trained, so its card's
 * valAccuracy is reproduced), then ECE before/after on that carve, PublicTest and CK+48 (contempt dropped), and
 * accuracy with `--prior uniform` dividing by the prior learnt with a `--balance` loss (the bundled model:
 * sqrt) and, for comparison, by the raw training frequencies. Data from `$EXPNET_DATA` (default ../shared/data).
 * Usage: node dist/bench/calibrate-bundled.js [--models DIR] [--model NAME] [--balance none|sqrt|inverse] [--seed 1] [--val 0.1]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCkPlus48 } from '../src/data/ckplus48.js';
import type { DataSet } from '../src/data/dataSet.js';
import { dataRoot } from '../src/data/dataRoot.js';
import { readFer2013 } from '../src/data/fer2013.js';
import type { ExpressionLabel } from '../src/data/labels.js';
import { calibrationOf } from '../src/eval/calibration.js';
import { metricsOfProbs } from '../src/train/metrics.js';
import { calibrateTemperature, logitsOfProbs, softmaxAt } from '../src/eval/temperature.js';
import { reweightProbs, uniformPriorWeights } from '../src/infer/classPrior.js';
import { createRecognizer } from '../src/infer/recognizer.js';
import { balancePower, resolveConfig, type ClassBalance } from '../src/train/config.js';
import { officialSplit, validationSplit } from '../src/train/experiment.js';
import { loadImageSet } from '../src/train/imageSet.js';

const { values } = parseArgs({ options: { models: { type: 'string' }, model: { type: 'string' }, balance: { type: 'string' }, seed: { type: 'string' }, val: { type: 'string' } } });
const rec = await createRecognizer({ ...(values.models ? { modelDir: values.models } : {}), ...(values.model ? { expressionModel: values.model } : {}) });
const labels = rec.labels as ExpressionLabel[];
const size = rec.bundle.card.input.size;

async function probsOf(ds: DataSet, idx: readonly number[]): Promise<{ probs: Float32Array[]; y: Int32Array }> {
  const set = await loadImageSet({ ...ds, labels }, idx, { channels: 1, height: size, width: size });
  const per = size * size;
  const probs: Float32Array[] = [];
  for (let i = 0; i < set.y.length; i += 256) {
    const crops = Array.from({ length: Math.min(256, set.y.length - i) }, (_, k) => set.x.subarray((i + k) * per, (i + k + 1) * per));
    probs.push(...(await rec.classify(crops)));
  }
  return { probs, y: set.y };
}

const fer = await readFer2013(join(dataRoot(), 'fer2013'));
const { train, test } = officialSplit(fer);
const cfg = resolveConfig({ seed: Number(values.seed ?? 1), valFraction: Number(values.val ?? 0.1) });
const carve = validationSplit(fer, train, cfg, cfg.seed);
const freq = labels.map((l) => carve.train.filter((i) => fer.samples[i]?.label === l).length / carve.train.length);
const p = balancePower((values.balance ?? 'sqrt') as ClassBalance);
const learnt = uniformPriorWeights(freq.map((f) => f ** (1 - p)));
const raw = uniformPriorWeights(freq);
const val = await probsOf(fer, carve.validation);
const c = calibrateTemperature(val.probs, val.y);
const pct = (x: number): string => (100 * x).toFixed(2);
process.stdout.write(`T = ${c.temperature.toFixed(4)} fitted on ${c.n} validation crops (NLL ${c.nllBefore.toFixed(4)} → ${c.nllAfter.toFixed(4)}); training frequencies ${freq.map((f) => f.toFixed(3)).join(' ')}\n`);
process.stdout.write('set | n | accuracy / balanced | ECE before → after T | accuracy / balanced, prior uniform (learnt) | (raw frequencies) | called neutral: as trained → uniform (learnt)\n');
const neutral = labels.indexOf('neutral');
for (const [name, ds, idx] of [['FER2013 validation carve', fer, carve.validation], ['FER2013 PublicTest', fer, test], ['CK+48 (no contempt)', await readCkPlus48(join(dataRoot(), 'ckplus48')), null]] as const) {
  const indices = idx ?? ds.samples.flatMap((s, i) => (labels.includes(s.label) ? [i] : []));
  const r = await probsOf(ds, indices);
  const scaled = r.probs.map((q) => softmaxAt(logitsOfProbs(q), c.temperature));
  const m = (ps: Float32Array[]): string => {
    const mm = metricsOfProbs(r.y, ps, labels);
    return `${pct(mm.accuracy)} / ${pct(mm.balancedAccuracy)}`;
  };
  const calledNeutral = (ps: Float32Array[]): string => pct(ps.filter((q) => q.indexOf(Math.max(...q)) === neutral).length / ps.length);
  const uniform = scaled.map((q) => reweightProbs(q, learnt));
  process.stdout.write(`${name} | ${r.y.length} | ${m(r.probs)} | ${calibrationOf(r.y, r.probs).ece.toFixed(4)} → ${calibrationOf(r.y, scaled).ece.toFixed(4)} | ${m(uniform)} | ${m(scaled.map((q) => reweightProbs(q, raw)))} | ${calledNeutral(scaled)} → ${calledNeutral(uniform)}\n`);
}
await rec.dispose();
