/**
 * Model choices for a multi-data run, on validation only: each run's own per-set validation carve (its
 * splits.json), scored for the run's model alone, with horizontal-flip averaging, and — given several runs
 * trained on the same mix and carve — their ensemble (mean probability) with and without the flip. Prints
 * accuracy and balanced accuracy per set, their mean over sets (config.selection 'mean') and the pooled accuracy
 * (selection 'pooled'). `--model M` (repeatable: a .safetensors, an .onnx with its card, or a bundled model's name)
 * scores other models on the same carves, e.g. the bundled default, to choose between models on validation only;
 * their outputs are mapped onto the carve's labels by name.
 * Usage: node dist/bench/evalMixValidation.js <run dir> [<run dir> ...] [--model M ...] [--json out.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { restrictLabels } from '../src/data/dataSet.js';
import { BASIC7_LABELS } from '../src/data/labels.js';
import { openClassifier, type ExpressionClassifier } from '../src/eval/classifier.js';
import type { ExpNet } from '../src/nets/expNet.js';
import { loadExpNetModel } from '../src/nets/modelCard.js';
import type { TrainConfig } from '../src/train/config.js';
import { readEntry, type EntryFormat } from '../src/train/dataMix.js';
import { loadImageSet, type ImageSet } from '../src/train/imageSet.js';
import { metricsOfProbs } from '../src/train/metrics.js';
import { predictStudent } from '../src/train/trainMethod.js';

const argv = process.argv.slice(2);
const runs: string[] = [];
const others: string[] = [];
let jsonOut: string | undefined;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] as string;
  if (a === '--json' || a === '--model') {
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--json') jsonOut = v;
    else others.push(v);
  } else runs.push(a);
}
if (runs.length === 0) {
  process.stderr.write('usage: evalMixValidation <run dir> [<run dir> ...] [--model M ...] [--json out.json]\n');
  process.exit(2);
}
interface Saved { config: TrainConfig; data: { path: string; format: EntryFormat }[] }
interface SplitRecord { name: string; path: string; validation: string[] }
const saved = JSON.parse(readFileSync(join(runs[0] as string, 'config.json'), 'utf8')) as Saved;
const splits = JSON.parse(readFileSync(join(runs[0] as string, 'splits.json'), 'utf8')) as SplitRecord[];
for (const r of runs.slice(1)) {
  const other = JSON.parse(readFileSync(join(r, 'splits.json'), 'utf8')) as SplitRecord[];
  if (JSON.stringify(other.map((s) => s.validation)) !== JSON.stringify(splits.map((s) => s.validation))) {
    throw new Error(`${r}: its validation carve differs from ${runs[0]}'s (an ensemble is scored on one carve)`);
  }
}

/** The image set mirrored left–right. */
function flipped(set: ImageSet): ImageSet {
  const { channels: C, height: H, width: W } = set.shape;
  const x = new Float32Array(set.x.length);
  for (let n = 0; n < set.y.length * C; n++)
    for (let yy = 0; yy < H; yy++)
      for (let xx = 0; xx < W; xx++) x[(n * H + yy) * W + xx] = set.x[(n * H + yy) * W + (W - 1 - xx)] ?? 0;
  return { ...set, x };
}
const mean = (ps: Float32Array[][]): Float32Array[] => (ps[0] ?? []).map((_, i) => {
  const out = new Float32Array(BASIC7_LABELS.length);
  for (const p of ps) (p[i] ?? out).forEach((v, k) => (out[k] = (out[k] ?? 0) + v / ps.length));
  return out;
});

const s = saved.config.student;
const models: { run: string; model: ExpNet }[] = runs.map((run) => ({ run, model: loadExpNetModel(join(run, 'model.safetensors')).model }));
const extra: { spec: string; cls: ExpressionClassifier }[] = [];
for (const spec of others) extra.push({ spec, cls: await openClassifier(spec) });

/** A classifier's probabilities reordered onto `labels` (by name). */
function onto(cls: ExpressionClassifier, labels: readonly string[], probs: Float32Array[]): Float32Array[] {
  const at = labels.map((l) => cls.labels.indexOf(l));
  const missing = labels.filter((_, k) => (at[k] ?? -1) < 0);
  if (missing.length > 0) throw new Error(`${cls.name}: no output for ${missing.join(', ')} (its labels: ${cls.labels.join(', ')})`);
  return probs.map((p) => Float32Array.from(at, (j) => p[j] ?? 0));
}
const rows: { set: string; variant: string; n: number; accuracy: number; balanced: number }[] = [];
for (const part of splits) {
  const entry = saved.data.find((d) => d.path === part.path);
  if (!entry || part.validation.length === 0) continue;
  const ds = restrictLabels(await readEntry(entry.format, entry.path), BASIC7_LABELS);
  const want = new Set(part.validation);
  const idx = ds.samples.flatMap((smp, i) => (want.has(smp.path) ? [i] : []));
  const val = await loadImageSet(ds, idx, { channels: s.inChannels, height: s.inputSize, width: s.inputSize });
  const mirror = flipped(val);
  const plain = models.map((m) => predictStudent(m.model, val));
  const flip = models.map((m, k) => mean([plain[k] ?? [], predictStudent(m.model, mirror)]));
  const score = (variant: string, probs: Float32Array[]): void => {
    const m = metricsOfProbs(val.y, probs, ds.labels);
    rows.push({ set: part.name, variant, n: m.n, accuracy: m.accuracy, balanced: m.balancedAccuracy });
  };
  models.forEach((m, k) => {
    score(`${m.run}`, plain[k] ?? []);
    score(`${m.run} + flip`, flip[k] ?? []);
  });
  if (models.length > 1) {
    score(`ensemble of ${models.length}`, mean(plain));
    score(`ensemble of ${models.length} + flip`, mean(flip));
  }
  for (const { spec, cls } of extra) {
    const own = cls.input.size === s.inputSize && cls.input.channels === s.inChannels ? val : await loadImageSet(ds, idx, { channels: cls.input.channels, height: cls.input.size, width: cls.input.size });
    score(spec, onto(cls, ds.labels, await cls.predict(own.x, own.y.length)));
  }
}
const pct = (v: number): string => (100 * v).toFixed(2);
const variants = [...new Set(rows.map((r) => r.variant))];
for (const v of variants) {
  const mine = rows.filter((r) => r.variant === v);
  const avg = (f: (r: (typeof rows)[number]) => number): number => mine.reduce((a, r) => a + f(r), 0) / mine.length;
  const pooled = mine.reduce((a, r) => a + r.accuracy * r.n, 0) / Math.max(1, mine.reduce((a, r) => a + r.n, 0));
  process.stdout.write(`${v}: mean over sets ${pct(avg((r) => r.accuracy))} % (balanced ${pct(avg((r) => r.balanced))} %), pooled ${pct(pooled)} %; ${mine.map((r) => `${r.set} ${pct(r.accuracy)} / ${pct(r.balanced)} (n ${r.n})`).join('; ')}\n`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 1) + '\n');
for (const m of models) m.model.dispose();
for (const e of extra) await e.cls.dispose();
