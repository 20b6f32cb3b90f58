/**
 * Real photos as input: does the photo pipeline's aligned crop look like the crops a model was trained on, and
 * what does the full pipeline (detect → 68 landmarks → align → classify) score against classifying the data
 * set's own crop?
 *
 * For each set (FER2013 PublicTest, SFEW 2.0 Val, CK+48 — or its held-out subjects with `--ck <manifest.csv>`):
 * 1. geometry: the landmark net's eye and mouth centres on the data set's crops as a model sees them (resized to
 *    a square, as the training decoder does), as fractions of the crop — mean and s.d. — next to the model's
 *    alignment template (its card's `alignment`, else FER_CROP_TEMPLATE);
 * 2. accuracy: the crop classified directly (`classifyCrop`) against the pipeline on the same image upscaled to
 *    `--upscale` px and padded by half its side in gray (48-px crops that fill the frame are too small for the
 *    detector), arg-max over the model's labels.
 *
 *   node dist/bench/crop-geometry.js [--models DIR] [--model NAME] [--ck FILE] [--limit N] [--upscale 192] [--split test|train] [--out FILE]
 *
 * `--split train` measures the training splits instead (FER2013 train/, SFEW Train/, CK+48's other subjects):
 * where each set's crops put the face, for `DataSet.framing`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { readCsvManifest } from '../src/data/csvManifest.js';
import { readCkPlus48 } from '../src/data/ckplus48.js';
import type { DataSet } from '../src/data/dataSet.js';
import { dataRoot } from '../src/data/dataRoot.js';
import { readFer2013 } from '../src/data/fer2013.js';
import type { ExpressionLabel } from '../src/data/labels.js';
import { readSfew } from '../src/data/sfew.js';
import type { Point } from '../src/faces/box.js';
import { alignmentPoints } from '../src/faces/similarity.js';
import { createRecognizer } from '../src/infer/recognizer.js';
import { officialSplit } from '../src/train/experiment.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string' }, model: { type: 'string' }, ck: { type: 'string' }, limit: { type: 'string', default: '600' },
    upscale: { type: 'string', default: '192' }, out: { type: 'string' }, split: { type: 'string', default: 'test' },
  },
});
const root = dataRoot();
const rec = await createRecognizer({ ...(values.models ? { modelDir: values.models } : {}), ...(values.model ? { expressionModel: values.model } : {}) });
const labels = rec.labels;
const template = rec.bundle.template;
const limit = Number(values.limit);
const upscale = Number(values.upscale);

interface Stat { mean: number; sd: number }
const stat = (xs: readonly number[]): Stat => {
  const m = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return { mean: m, sd: Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1)) };
};

/** Every k-th test sample so that at most `limit` remain (deterministic, all classes kept in proportion). */
function pick(ds: DataSet, idx: readonly number[]): number[] {
  const usable = idx.filter((i) => labels.includes(ds.samples[i]?.label as ExpressionLabel));
  const step = Math.max(1, Math.ceil(usable.length / limit));
  return usable.filter((_, k) => k % step === 0);
}

async function measure(name: string, ds: DataSet, idx: readonly number[]): Promise<Record<string, unknown>> {
  const pts: { le: Point[]; re: Point[]; m: Point[] } = { le: [], re: [], m: [] };
  let direct = 0;
  let piped = 0;
  let found = 0;
  let pipedFound = 0;
  let neutralDirect = 0;
  let neutralPiped = 0;
  let nonNeutral = 0;
  const chosen = pick(ds, idx);
  for (const i of chosen) {
    const s = ds.samples[i];
    if (!s) continue;
    const file = join(ds.root, s.path);
    const meta = await sharp(file).metadata();
    const w = meta.width ?? 1;
    const h = meta.height ?? 1;
    const scale = Math.max(1, upscale / Math.max(w, h));
    const [bw, bh] = [Math.round(w * scale), Math.round(h * scale)];
    // Tight crops fill the frame, where the detector finds nothing: pad by half the side on every edge (gray).
    const [px, py] = [Math.round(bw / 2), Math.round(bh / 2)];
    const big = await sharp(file).resize(bw, bh, { kernel: 'cubic' })
      .extend({ left: px, right: px, top: py, bottom: py, background: { r: 128, g: 128, b: 128 } }).png().toBuffer();
    const d = (await rec.classifyCrop(file)).faces[0];
    if (d?.label === s.label) direct++;
    if (s.label !== 'neutral') {
      nonNeutral++;
      if (d?.label === 'neutral') neutralDirect++;
    }
    const faces = (await rec.detect(big)).faces;
    const f = faces.reduce<(typeof faces)[number] | undefined>((a, b) => (a === undefined || b.score > a.score ? b : a), undefined);
    if (!f) continue;
    found++;
    if (f.label === s.label) {
      piped++;
      pipedFound++;
    }
    if (s.label !== 'neutral' && f.label === 'neutral') neutralPiped++;
    const [le, re, m] = alignmentPoints(f.landmarks);
    const frac = (p: Point): Point => ({ x: (p.x - px) / bw, y: (p.y - py) / bh });
    pts.le.push(frac(le));
    pts.re.push(frac(re));
    pts.m.push(frac(m));
  }
  const n = chosen.length;
  const geo = (ps: Point[]): { x: Stat; y: Stat } => ({ x: stat(ps.map((p) => p.x)), y: stat(ps.map((p) => p.y)) });
  const row = {
    set: name, n, detected: found,
    directAccuracy: direct / n, pipelineAccuracy: piped / n, pipelineAccuracyOnDetected: pipedFound / Math.max(1, found),
    calledNeutral: { direct: neutralDirect / Math.max(1, nonNeutral), pipeline: neutralPiped / Math.max(1, nonNeutral), nonNeutral },
    leftEye: geo(pts.le), rightEye: geo(pts.re), mouth: geo(pts.m),
  };
  const f2 = (s: Stat): string => `${s.mean.toFixed(3)}±${s.sd.toFixed(3)}`;
  const pct = (x: number): string => (100 * x).toFixed(1);
  process.stdout.write(
    `${name}: n ${n}, detected ${found} (${pct(found / n)} %); accuracy crop ${pct(row.directAccuracy)} %, pipeline ${pct(row.pipelineAccuracy)} % ` +
      `(${pct(row.pipelineAccuracyOnDetected)} % of detected); non-neutral called neutral: crop ${pct(row.calledNeutral.direct)} %, pipeline ${pct(row.calledNeutral.pipeline)} %\n` +
      `  eyes L (${f2(row.leftEye.x)}, ${f2(row.leftEye.y)}) R (${f2(row.rightEye.x)}, ${f2(row.rightEye.y)}) mouth (${f2(row.mouth.x)}, ${f2(row.mouth.y)})\n`,
  );
  return row;
}

const results: Record<string, unknown>[] = [];
process.stdout.write(
  `model ${rec.bundle.card.name ?? values.model ?? 'default'}; template eyes (${template.leftEye.x}, ${template.leftEye.y}) (${template.rightEye.x}, ${template.rightEye.y}) mouth (${template.mouth.x}, ${template.mouth.y})\n`,
);
const fer = await readFer2013(join(root, 'fer2013'));
const part = (ds: DataSet): number[] => (values.split === 'train' ? officialSplit(ds).train : officialSplit(ds).test);
results.push(await measure(`FER2013 ${values.split === 'train' ? 'train' : 'PublicTest'}`, fer, part(fer)));
const sfew = await readSfew(join(root, 'sfew2'));
results.push(await measure(`SFEW 2.0 ${values.split === 'train' ? 'Train' : 'Val'}`, sfew, part(sfew)));
if (values.ck) {
  const ck = await readCsvManifest(values.ck);
  results.push(await measure(`CK+48 ${values.split === 'train' ? 'training' : 'held-out'} subjects`, ck, part(ck)));
} else {
  const ck = await readCkPlus48(join(root, 'ckplus48'));
  results.push(await measure('CK+48 (all)', ck, ck.samples.map((_, i) => i)));
}
if (values.out) writeFileSync(values.out, JSON.stringify({ model: rec.bundle.card.name, template, upscale, limit, results }, null, 1) + '\n');
await rec.dispose();
