/**
 * The validation suite (issue 27): expression models side by side on every set we have, in one table with
 * accuracy and balanced accuracy, paired McNemar tests per set, and the coded selection score.
 * Sets (from `$EXPNET_DATA`, default ../shared/data; a missing one is skipped with a message):
 * - fer2013: FER2013 PublicTest (`test/`), original labels;
 * - ferplus: the same images against the FER+ crowd majority (8 classes; a 7-class model is scored without contempt's images);
 * - sfew: SFEW 2.0 Val (re-framed onto the crop template, as `expnet eval` decodes it);
 * - ckplus48: CK+48, only the `test` subjects of `--ck MANIFEST` (bench/ckplusHoldout.ts) when given, else every image
 *   (marked "seen?": the bundled mix model trained on 82 of its 118 subjects);
 * - taiwan-cfe-dev: the posed colour photos through the full pipeline (detect → align → classify, the largest face), the
 *   arg-max over all of the model's outputs as a user sees it; a photo without a face counts as wrong. Also the share of
 *   posed non-neutral photos called neutral.
 * Every model is scored by the arg-max over all of its outputs (an 8-class model's contempt answers count as wrong on 7-class sets).
 *
 * Selection rule (coded in `selectionScore`): ½ × taiwan-cfe-dev accuracy + ½ × the model's own validation accuracy
 * (its card's `metrics.valAccuracy`: the carve of its training data it was selected on). The posed photos weigh as much
 * as all crop data together; no test split (PublicTest, Val) enters the score. The test-split rows are the
 * no-regression check: a candidate must not lose to the current default on any of them with McNemar p < 0.05.
 * Usage: node dist/bench/suite.js [--model NAME|file.onnx ...] [--ck FILE] [--limit N] [--out file.json]
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { dataRoot } from '../src/data/dataRoot.js';
import { readCkPlus48 } from '../src/data/ckplus48.js';
import { readCsvManifest } from '../src/data/csvManifest.js';
import type { DataSet } from '../src/data/dataSet.js';
import { samplePath } from '../src/data/dataSet.js';
import { readFer2013 } from '../src/data/fer2013.js';
import { readFerPlus } from '../src/data/ferplus.js';
import { readImageFolder } from '../src/data/imageFolder.js';
import { readSfew } from '../src/data/sfew.js';
import { openClassifier } from '../src/eval/classifier.js';
import { compareModels } from '../src/eval/compare.js';
import { evalSplit } from '../src/eval/evalSplit.js';
import { predictDataSet, type Predictions } from '../src/eval/predictions.js';
import { ANCHORS_FILE, bundledModelDir, DEFAULT_EXPRESSION_MODEL, DETECTOR_FILE, LANDMARKS_FILE, resolveModelName } from '../src/infer/modelBundle.js';
import { createRecognizer } from '../src/infer/recognizer.js';
import { metricsOfProbs } from '../src/train/metrics.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const specs = process.argv.flatMap((a, i) => (a === '--model' && process.argv[i + 1] ? [process.argv[i + 1] as string] : []));
if (specs.length === 0) specs.push(DEFAULT_EXPRESSION_MODEL);
const limit = arg('--limit') === undefined ? Infinity : Number(arg('--limit'));
if (!(limit === Infinity || (Number.isInteger(limit) && limit > 0))) throw new Error(`--limit: expected an integer ≥ 1, got ${arg('--limit')}`);
const root = dataRoot();
const NO_FACE = 'no face';

/** Up to `limit` indices, evenly spaced. */
const spread = (idx: readonly number[]): number[] => (idx.length <= limit ? [...idx] : Array.from({ length: limit }, (_, k) => idx[Math.floor((k * idx.length) / limit)] as number));

/** A model as the Recognizer loads it: a bundled name, or an .onnx with its card beside it (put in a temp bundle). */
function bundleOf(spec: string): { dir: string; name: string; cleanup: () => void } {
  if (!spec.endsWith('.onnx')) return { dir: bundledModelDir(), name: spec, cleanup: () => {} };
  const card = spec.replace(/\.onnx$/, '.json');
  if (!existsSync(spec) || !existsSync(card)) throw new Error(`${spec}: expected the .onnx and its card ${card}`);
  const dir = mkdtempSync(join(tmpdir(), 'expnet-suite-'));
  for (const f of [DETECTOR_FILE, LANDMARKS_FILE, ANCHORS_FILE]) symlinkSync(join(bundledModelDir(), f), join(dir, f));
  copyFileSync(spec, join(dir, 'candidate.onnx'));
  copyFileSync(card, join(dir, 'candidate.json'));
  return { dir, name: 'candidate', cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The card's validation accuracy (the carve the model was selected on), or null. */
function validationOf(spec: string): number | null {
  const card = spec.endsWith('.onnx') ? spec.replace(/\.onnx$/, '.json') : join(bundledModelDir(), `${resolveModelName(spec)}.json`);
  const m = (JSON.parse(readFileSync(card, 'utf8')) as { metrics?: Record<string, unknown> }).metrics ?? {};
  return typeof m['valAccuracy'] === 'number' ? m['valAccuracy'] : null;
}

/** The coded selection rule (see the header). */
export function selectionScore(taiwan: number | null, validation: number | null): number | null {
  return taiwan === null || validation === null ? null : 0.5 * taiwan + 0.5 * validation;
}

/** Full-pipeline predictions on a photo folder: the largest face's probabilities, or the 'no face' column. */
async function photoPredictions(spec: string, ds: DataSet, indices: readonly number[]): Promise<{ p: Predictions; neutralRate: number }> {
  const b = bundleOf(spec);
  const rec = await createRecognizer({ modelDir: b.dir, expressionModel: b.name });
  try {
    const labels = [...rec.bundle.labels, NO_FACE];
    const probs: Float32Array[] = [];
    const truth: number[] = [];
    const paths: string[] = [];
    let nonNeutral = 0;
    let calledNeutral = 0;
    for (const i of indices) {
      const s = ds.samples[i];
      if (!s) continue;
      const r = await rec.detect(samplePath(ds, s));
      const face = [...r.faces].sort((a, c) => c.box.width * c.box.height - a.box.width * a.box.height)[0];
      const row = new Float32Array(labels.length);
      if (face) rec.bundle.labels.forEach((l, c) => (row[c] = face.expressions[l] ?? 0));
      else row[labels.length - 1] = 1;
      probs.push(row);
      truth.push(labels.indexOf(s.label));
      paths.push(s.path);
      if (s.label !== 'neutral') {
        nonNeutral++;
        if (face?.label === 'neutral') calledNeutral++;
      }
    }
    return { p: { model: spec, dataSet: ds.name, labels, truth: Int32Array.from(truth), probs, paths }, neutralRate: nonNeutral > 0 ? calledNeutral / nonNeutral : 0 };
  } finally {
    await rec.dispose();
    b.cleanup();
  }
}

interface SetSpec {
  name: string;
  read: () => Promise<{ ds: DataSet; indices: number[]; note?: string }>;
  photos?: boolean;
}

const ck = arg('--ck');
const SETS: SetSpec[] = [
  { name: 'fer2013 PublicTest', read: async () => { const ds = await readFer2013(join(root, 'fer2013')); return { ds, indices: evalSplit(ds).indices }; } },
  { name: 'FER+ PublicTest (majority)', read: async () => { const ds = await readFerPlus(join(root, 'fer2013')); return { ds, indices: evalSplit(ds).indices }; } },
  { name: 'sfew Val', read: async () => { const ds = await readSfew(join(root, 'sfew2')); return { ds, indices: evalSplit(ds).indices }; } },
  {
    name: ck ? 'ckplus48 held-out subjects' : 'ckplus48 (all; seen?)',
    read: async () => {
      if (!ck) { const ds = await readCkPlus48(join(root, 'ckplus48')); return { ds, indices: ds.samples.map((_, i) => i), note: 'every subject: models trained with CK+ in their mix have seen most of them' }; }
      const ds = await readCsvManifest(ck);
      return { ds, indices: ds.samples.flatMap((s, i) => (s.split === 'test' ? [i] : [])) };
    },
  },
  { name: 'taiwan-cfe-dev (photo pipeline)', photos: true, read: async () => { const ds = await readImageFolder(join(root, 'taiwan-cfe-dev')); return { ds, indices: ds.samples.map((_, i) => i) }; } },
];

const pct = (v: number): string => (100 * v).toFixed(2);
const rows: Record<string, unknown>[] = [];
const taiwanAcc = new Map<string, number>();
const lines: string[] = [`| set | n | ${specs.map((s) => `${basename(s)} acc / bal`).join(' | ')} | McNemar vs ${basename(specs[0] as string)} |`, `|---|---|${specs.map(() => '---').join('|')}|---|`];
for (const set of SETS) {
  let read: Awaited<ReturnType<SetSpec['read']>>;
  try {
    read = await set.read();
  } catch (err) {
    process.stderr.write(`suite: ${set.name} skipped (${(err as Error).message})\n`);
    continue;
  }
  const indices = spread(read.indices);
  const preds: Predictions[] = [];
  const extra: string[] = [];
  for (const spec of specs) {
    process.stderr.write(`suite: ${set.name}: ${spec} on ${indices.length} ${set.photos ? 'photos' : 'crops'}\n`);
    if (set.photos) {
      const { p, neutralRate } = await photoPredictions(spec, read.ds, indices);
      preds.push(p);
      extra.push(`${basename(spec)}: non-neutral called neutral ${pct(neutralRate)} %`);
      taiwanAcc.set(spec, metricsOfProbs(p.truth, p.probs, p.labels).accuracy);
    } else {
      const clf = await openClassifier(spec);
      try {
        preds.push((await predictDataSet(clf, read.ds, indices)).predictions);
      } finally {
        await clf.dispose();
      }
    }
  }
  const ms = preds.map((p) => metricsOfProbs(p.truth, p.probs, p.labels));
  const cmp = preds.length > 1 ? compareModels(preds) : null;
  const vsFirst = cmp ? cmp.pairs.slice(0, specs.length - 1).map((q, k) => `${basename(specs[k + 1] as string)} ${q.accuracyDiff <= 0 ? '+' : '−'}${pct(Math.abs(q.accuracyDiff))} (p = ${q.mcnemar.pValue.toFixed(3)})`).join('; ') : '';
  lines.push(`| ${set.name} | ${preds.map((p) => p.paths.length).join('/')} | ${ms.map((m) => `${pct(m.accuracy)} / ${pct(m.balancedAccuracy)}`).join(' | ')} | ${vsFirst} |`);
  rows.push({ set: set.name, note: read.note ?? null, models: specs.map((s, k) => ({ model: s, n: preds[k]?.paths.length, accuracy: ms[k]?.accuracy, balancedAccuracy: ms[k]?.balancedAccuracy })), pairs: cmp?.pairs ?? [], extra });
  if (extra.length) lines.push(`|  | | ${extra.join(' | ')} | |`);
}
const selection = specs.map((s) => ({ model: s, taiwan: taiwanAcc.get(s) ?? null, validation: validationOf(s), score: selectionScore(taiwanAcc.get(s) ?? null, validationOf(s)) }));
lines.push('', `selection score (½ taiwan-cfe-dev + ½ own validation carve): ${selection.map((x) => `${basename(x.model)} ${x.score === null ? 'n/a' : pct(x.score)}`).join(', ')}`);
process.stdout.write(lines.join('\n') + '\n');
const out = arg('--out');
if (out) {
  writeFileSync(resolve(out), JSON.stringify({ command: ['node dist/bench/suite.js', ...process.argv.slice(2)].join(' '), limit: Number.isFinite(limit) ? limit : null, sets: rows, selection }, null, 1) + '\n');
  process.stderr.write(`suite: wrote ${out} (${dirname(resolve(out))})\n`);
}
