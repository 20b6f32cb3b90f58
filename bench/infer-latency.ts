/**
 * Inference latency: expnet's Recognizer (ONNX Runtime, one intra-op thread) vs face-api.js on tfjs-wasm (SIMD,
 * one thread in Node), both in this process, interleaved A/B (order swapped every round), after warm-up; medians.
 * (a) classification per face at batch 1 (10 calls back to back per round, and single calls) and 32: `rec.classify` on 48×48 gray crops vs face-api's
 *     FaceExpressionNet `predictExpressions` on 112×112 RGB tensors (its input size: no resize inside);
 * (b) whole pipeline on the group photos of `$EXPNET_DATA/face-photos/group` (skipped with a message when
 *     absent), decoding included on both sides, photos as they are: `rec.detect(path)` vs sharp decode +
 *     `detectAllFaces(SSD).withFaceLandmarks().withFaceExpressions()`.
 * (c) where expnet's pipeline time goes, per photo: decode, the detector's square input (pad + resize), the
 *     detector's ORT run, the landmark net's ORT run and the classifier at batch = faces found; the rest of
 *     `detect` (SSD decoding, NMS, per-face crops, alignment) is the total minus these.
 * Wall and process CPU time (user + system, all threads) per call are both reported: other sessions load the
 * machine, and CPU time is the less noisy of the two. Crop contents are synthetic (cost does not depend on them).
 * (b) and (c) run once per `--detectors` entry SIZE:PRECISION (default: the Recognizer's default, 384:int8; e.g.
 * `384:int8,384:float32,512:float32`).
 * Usage: node dist/bench/infer-latency.js [--models DIR] [--model NAME] [--repeats 15] [--detectors 384:int8,512:float32]
 *        [--photos DIR (default $EXPNET_DATA/face-photos/group)] [--out file.json]
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tfjs from '@tensorflow/tfjs';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import * as ort from 'onnxruntime-node';
import { dataRoot } from '../src/data/dataRoot.js';
import { modelDir as faceApiModelDir } from '../src/formats/tfjs/tfjsManifest.js';
import { bundledModelDir, DEFAULT_EXPRESSION_MODEL } from '../src/infer/modelBundle.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_DETECTOR_PRECISION, DEFAULT_DETECTOR_SIZE, detectorModel, LANDMARKS_INPUT } from '../src/infer/facePipeline.js';
import { readRgb as readRgbPixels } from '../src/infer/readImage.js';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import { createSession } from '../src/infer/session.js';
import { squareInput } from '../src/infer/squareInput.js';
import { faceApiNets, readRgb } from '../test/helpers/faceApiReference.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const repeats = Number(arg('--repeats') ?? 15);
const modelDir = arg('--models') ?? bundledModelDir();
const modelName = arg('--model') ?? DEFAULT_EXPRESSION_MODEL;
const out = arg('--out');
/** Detector configurations SIZE:PRECISION to run the pipeline with (each interleaved with face-api, which runs at 512). */
const detectorConfigs = (arg('--detectors') ?? `${DEFAULT_DETECTOR_SIZE}:${DEFAULT_DETECTOR_PRECISION}`).split(',').map((c) => {
  const [size, precision] = c.split(':');
  if (precision !== 'int8' && precision !== 'float32') throw new Error(`--detectors: expected SIZE:int8 or SIZE:float32, got ${c}`);
  return { detectorSize: Number(size), detectorPrecision: precision } as const;
});
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats: expected an integer ≥ 1, got ${arg('--repeats')}`);
const FACE_API_SIZE = 112;
/**
 * Batch sizes, and back-to-back calls per timed round: 10 at batch 1 measures a steady stream of faces; 1 call
 * right after the other library's call measures a lone face on caches the other side has just evicted.
 */
const CASES = [{ batch: 1, calls: 10 }, { batch: 1, calls: 1 }, { batch: 32, calls: 1 }] as const;

interface Sample {
  wall: number;
  cpu: number;
}
interface Stat {
  /** Medians over the timed calls, ms per call. */
  wallMs: number;
  cpuMs: number;
  calls: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const stat = (xs: readonly Sample[]): Stat => ({ wallMs: median(xs.map((x) => x.wall)), cpuMs: median(xs.map((x) => x.cpu)), calls: xs.length });
const range = (xs: readonly number[]): string => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; sample: Sample }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, sample: { wall, cpu: (c.user + c.system) / 1000 } };
}

/**
 * `repeats` rounds of A and B, interleaved (A first on even rounds), after `warmup` untimed calls of each; a round
 * times `calls` back-to-back calls of one side and records the mean per call (calls > 1 measures a steady stream
 * of small calls rather than one call on caches the other side has just evicted).
 */
async function abRounds(a: () => Promise<unknown>, b: () => Promise<unknown>, warmup: number, calls = 1): Promise<{ a: Sample[]; b: Sample[] }> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const res = { a: [] as Sample[], b: [] as Sample[] };
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const k of order) {
      const f = k === 'a' ? a : b;
      const { sample } = await timed(async () => {
        for (let i = 0; i < calls; i++) await f();
      });
      res[k].push({ wall: sample.wall / calls, cpu: sample.cpu / calls });
    }
  }
  return res;
}

/** A deterministic pattern in [0, 1]. */
function pattern(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => 0.5 + 0.45 * Math.sin(0.013 * i * (seed + 1) + seed));
}

interface ClassifyRow {
  batch: number;
  callsPerRound: number;
  expnet: Stat;
  faceApi: Stat;
  expnetMsPerFace: number;
  faceApiMsPerFace: number;
  /** faceApi / expnet, wall medians; cpu likewise. */
  ratio: number;
  cpuRatio: number;
  roundRatios: number[];
}

async function classifyBench(rec: Recognizer): Promise<ClassifyRow[]> {
  const nets = await faceApiNets();
  const size = rec.bundle.card.input.size;
  const crops = Array.from({ length: 32 }, (_, k) => pattern(size * size, k));
  const tensors = Array.from({ length: 32 }, (_, k) =>
    faceapi.tf.tensor3d(pattern(FACE_API_SIZE * FACE_API_SIZE * 3, k).map((v) => 255 * v), [FACE_API_SIZE, FACE_API_SIZE, 3], 'float32'),
  );
  const rows: ClassifyRow[] = [];
  for (const { batch, calls } of CASES) {
    const mine = crops.slice(0, batch);
    const theirs = batch === 1 ? tensors[0] : tensors.slice(0, batch);
    if (!theirs) throw new Error('no face-api input tensor');
    const before = tfjs.memory().numTensors;
    const r = await abRounds(() => rec.classify(mine), () => nets.expression.predictExpressions(theirs), batch === 1 ? 10 : 3, calls);
    if (tfjs.memory().numTensors !== before) process.stderr.write(`warning: face-api left ${tfjs.memory().numTensors - before} tensors at batch ${batch}\n`);
    const [e, f] = [stat(r.a), stat(r.b)];
    rows.push({
      batch, callsPerRound: calls, expnet: e, faceApi: f, expnetMsPerFace: e.wallMs / batch, faceApiMsPerFace: f.wallMs / batch,
      ratio: f.wallMs / e.wallMs, cpuRatio: f.cpuMs / e.cpuMs, roundRatios: r.a.map((s, i) => (r.b[i]?.wall ?? NaN) / s.wall),
    });
  }
  for (const t of tensors) t.dispose();
  return rows;
}

interface PhotoRow {
  detector: string;
  photo: string;
  width: number;
  height: number;
  expnetFaces: number;
  faceApiFaces: number;
  expnet: Stat;
  faceApi: Stat;
  ratio: number;
  cpuRatio: number;
  roundRatios: number[];
}

let pipelineNetsLoaded: Promise<void> | undefined;
/** face-api's pipeline uses its global `nets`; load the three it needs from the package's model folder (once). */
function loadPipelineNets(): Promise<void> {
  pipelineNetsLoaded ??= (async () => {
    await faceApiNets(); // wasm backend up
    for (const net of [faceapi.nets.ssdMobilenetv1, faceapi.nets.faceLandmark68Net, faceapi.nets.faceExpressionNet]) await net.loadFromDisk(faceApiModelDir());
  })();
  return pipelineNetsLoaded;
}

async function faceApiPipeline(file: string): Promise<number> {
  const rgb = await readRgb(file);
  const img = faceapi.tf.tensor3d(Float32Array.from(rgb.data), [rgb.height, rgb.width, 3], 'float32');
  const faces = await faceapi.detectAllFaces(img, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 })).withFaceLandmarks().withFaceExpressions();
  img.dispose();
  return faces.length;
}

async function pipelineBench(rec: Recognizer, dir: string): Promise<PhotoRow[]> {
  await loadPipelineNets();
  const photos = readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const rows: PhotoRow[] = [];
  for (const name of photos) {
    const file = join(dir, name);
    const first = await rec.detect(file);
    const faceApiFaces = await faceApiPipeline(file);
    const before = tfjs.memory().numTensors;
    const r = await abRounds(() => rec.detect(file), () => faceApiPipeline(file), 1);
    if (tfjs.memory().numTensors !== before) process.stderr.write(`warning: face-api left ${tfjs.memory().numTensors - before} tensors on ${name}\n`);
    const [e, f] = [stat(r.a), stat(r.b)];
    rows.push({
      detector: `${rec.detectorSize}:${rec.detectorPrecision}`, photo: name, width: first.width, height: first.height, expnetFaces: first.faces.length, faceApiFaces, expnet: e, faceApi: f,
      ratio: f.wallMs / e.wallMs, cpuRatio: f.cpuMs / e.cpuMs, roundRatios: r.a.map((s, i) => (r.b[i]?.wall ?? NaN) / s.wall),
    });
    process.stderr.write(`  ${name} @${rec.detectorSize}:${rec.detectorPrecision}: expnet ${e.wallMs.toFixed(1)} ms, face-api ${f.wallMs.toFixed(1)} ms\n`);
  }
  return rows;
}

const STAGES = ['decode', 'detectorInput', 'detector', 'landmarks', 'classify'] as const;
type StageRow = { photo: string; faces: number; total: number } & Record<(typeof STAGES)[number], number>;

/** Median wall ms of each stage of expnet's pipeline, with separate sessions on the same models (same options). */
async function stageBench(rec: Recognizer, dir: string, photos: readonly PhotoRow[]): Promise<StageRow[]> {
  const size = rec.detectorSize;
  const detector = detectorModel(new Uint8Array(readFileSync(rec.bundle.detector)), rec.bundle.anchors, size, rec.detectorPrecision);
  const [det, lm] = await Promise.all([createSession(detector.model), createSession(rec.bundle.landmarks)]);
  const crop = rec.bundle.card.input.size;
  const rows: StageRow[] = [];
  for (const p of photos) {
    const file = join(dir, p.photo);
    const n = Math.max(1, p.expnetFaces);
    const marksIn = pattern(n * 3 * LANDMARKS_INPUT * LANDMARKS_INPUT, 3);
    const crops = Array.from({ length: n }, (_, k) => pattern(crop * crop, k));
    const t: Record<(typeof STAGES)[number], number[]> = { decode: [], detectorInput: [], detector: [], landmarks: [], classify: [] };
    for (let r = 0; r <= repeats; r++) {
      const img = await timed(() => readRgbPixels(file));
      const sq = await timed(async () => squareInput(img.value, size, false));
      const d = await timed(() => det.runFloat32({ data: sq.value.data, shape: [1, 3, size, size] }));
      const l = await timed(() => lm.runFloat32({ data: marksIn, shape: [n, 3, LANDMARKS_INPUT, LANDMARKS_INPUT] }));
      const c = await timed(() => rec.classify(crops));
      if (r === 0) continue; // warm-up
      [img, sq, d, l, c].forEach((x, i) => t[STAGES[i] as (typeof STAGES)[number]].push(x.sample.wall));
    }
    rows.push({ photo: p.photo, faces: p.expnetFaces, total: p.expnet.wallMs, decode: median(t.decode), detectorInput: median(t.detectorInput), detector: median(t.detector), landmarks: median(t.landmarks), classify: median(t.classify) });
  }
  await Promise.all([det.dispose(), lm.dispose()]);
  return rows;
}

function printStages(detector: string, rows: readonly StageRow[]): void {
  console.log(`\n### (c) expnet pipeline stages, detector ${detector} (median wall ms; 'rest' = detect total from (b) minus the stages)\n`);
  console.log(`| photo | faces | ${STAGES.join(' | ')} | rest | detect total |`);
  console.log(`|---|---:|${STAGES.map(() => '---:').join('|')}|---:|---:|`);
  for (const r of rows) {
    const sum = STAGES.reduce((a, k) => a + r[k], 0);
    console.log(`| ${r.photo} | ${r.faces} | ${STAGES.map((k) => r[k].toFixed(1)).join(' | ')} | ${(r.total - sum).toFixed(1)} | ${r.total.toFixed(1)} |`);
  }
}

function printClassify(rows: readonly ClassifyRow[]): void {
  console.log('\n### (a) Classification latency per face (median ms; wall / process CPU)\n');
  console.log('| batch (calls per round) | expnet ms/face | face-api ms/face | face-api / expnet wall (per-round range) | CPU ratio | expnet ms/call (CPU) | face-api ms/call (CPU) |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.batch} (${r.callsPerRound}) | ${r.expnetMsPerFace.toFixed(3)} | ${r.faceApiMsPerFace.toFixed(2)} | ${r.ratio.toFixed(1)}× (${range(r.roundRatios)}) | ${r.cpuRatio.toFixed(1)}× | ${r.expnet.wallMs.toFixed(2)} (${r.expnet.cpuMs.toFixed(2)}) | ${r.faceApi.wallMs.toFixed(1)} (${r.faceApi.cpuMs.toFixed(1)}) |`);
  }
  console.log('');
  for (const b1 of rows.filter((r) => r.batch === 1)) {
    const ok = b1.ratio >= 10 && b1.expnetMsPerFace <= 1;
    console.log(`target (batch 1, ${b1.callsPerRound} call(s) per round: expnet ≥ 10× faster, ≤ 1 ms/face): ${ok ? 'met' : 'NOT met'} (${b1.ratio.toFixed(1)}×, ${b1.expnetMsPerFace.toFixed(3)} ms/face)`);
  }
}

function printPipeline(rows: readonly PhotoRow[]): void {
  console.log(`\n### (b) Whole pipeline per photo, expnet's detector ${rows[0]?.detector ?? '?'} (decode + detect + landmarks + expressions; median ms; wall / process CPU)\n`);
  console.log('| photo | size | faces expnet / face-api | expnet ms (CPU) | face-api ms (CPU) | face-api / expnet wall (per-round range) | CPU ratio |');
  console.log('|---|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.photo} | ${r.width}×${r.height} | ${r.expnetFaces} / ${r.faceApiFaces} | ${r.expnet.wallMs.toFixed(1)} (${r.expnet.cpuMs.toFixed(1)}) | ${r.faceApi.wallMs.toFixed(1)} (${r.faceApi.cpuMs.toFixed(1)}) | ${r.ratio.toFixed(1)}× (${range(r.roundRatios)}) | ${r.cpuRatio.toFixed(1)}× |`);
  }
  const big = [...rows].sort((a, b) => b.width * b.height - a.width * a.height)[0];
  if (big) {
    const ok = big.ratio >= 7 && big.expnet.wallMs <= 120;
    console.log(`\ntarget (≥ 7× faster, ≤ 120 ms for a ~1900×1300 photo with 4 faces): largest photo here is ${big.photo} ${big.width}×${big.height} with ${big.expnetFaces} faces: ${ok ? 'met' : 'NOT met'} (${big.ratio.toFixed(1)}×, ${big.expnet.wallMs.toFixed(1)} ms)`);
  }
}

async function main(): Promise<void> {
  const loadBefore = load();
  console.log(`# expnet inference latency (${new Date().toISOString()})`);
  console.log(`node ${process.version}, onnxruntime-node ${ort.env.versions.node ?? '?'}, tfjs ${tfjs.version.tfjs} (wasm), face-api ${faceapi.version}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(`models: ${modelDir} (${modelName}); repeats ${repeats}; load average before: ${loadBefore}`);
  const rec = await createRecognizer({ modelDir, expressionModel: modelName });
  const classify = await classifyBench(rec);
  console.log(`tfjs backend: ${tfjs.getBackend()}`);
  printClassify(classify);
  const photosDir = join(dataRoot(), 'face-photos');
  const group = arg('--photos') ?? join(photosDir, 'group');
  const pipeline: PhotoRow[] = [];
  const stages: (StageRow & { config: string })[] = [];
  if (!existsSync(group) || (!arg('--photos') && !existsSync(join(photosDir, 'SOURCE.txt')))) {
    console.log(`\n(b) skipped: face photos not found at ${group} (face-photos needs SOURCE.txt and group/; set EXPNET_DATA or --photos DIR)`);
  } else {
    for (const config of detectorConfigs) {
      const r = await createRecognizer({ modelDir, expressionModel: modelName, ...config });
      const detector = `${config.detectorSize}:${config.detectorPrecision}`;
      const rows = await pipelineBench(r, group);
      printPipeline(rows);
      const st = await stageBench(r, group, rows);
      printStages(detector, st);
      pipeline.push(...rows);
      stages.push(...st.map((x) => ({ ...x, config: detector })));
      await r.dispose();
    }
  }
  await rec.dispose();
  const loadAfter = load();
  console.log(`\nload average (1/5/15 min): before ${loadBefore}, after ${loadAfter}`);
  if (out) {
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), modelDir, modelName, repeats, loadBefore, loadAfter, classify, pipeline, stages }, null, 1));
    console.log(`wrote ${out}`);
  }
}

await main();
