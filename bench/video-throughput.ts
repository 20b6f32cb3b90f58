/**
 * Video throughput (issue 28): a 640×480 clip at 30 frames/s with one face (the bundled astronaut photo moving on
 * a gray background, made with ffmpeg in a temp folder), through `recognizer.video()` on ONNX Runtime with
 * `--threads` intra-op threads (default 2), ffmpeg decoding in its own process beside it.
 * (a) processed frames/s of the whole loop (decode → faces → tracks → smoothing) for each `--detect-every` k
 *     (default 1,5,10), rounds interleaved; process CPU ms per frame too (other sessions load the machine; CPU time
 *     is the less noisy figure; ffmpeg's own CPU is not in it). Target: ≥ 30 frames/s.
 * (b) per-frame cost next to face-api.js (tfjs-wasm, SIMD, one thread: its Node wasm build has no threads) on
 *     the same decoded frames: expnet's whole pipeline on a frame (`detectPixels`, i.e. k = 1) vs
 *     `detectAllFaces(SSD).withFaceLandmarks().withFaceExpressions()`, interleaved A/B, medians, ratios as in
 *     bench/infer-latency.ts; and the k > 1 loop's wall ms per frame from (a) against the same face-api figure.
 * --rss: memory over a long clip instead: a `--minutes` (default 10) clip (the 10 s clip looped, stream copy),
 *     sampled at `--rss-fps` (default 2) frames/s; RSS and V8 heap at the first frame, the middle and the end.
 * --spin-wait: ONNX Runtime's worker threads spin between runs (its default; expnet's is off), for comparison.
 * Usage: node dist/bench/video-throughput.js [--threads 2] [--spin-wait] [--seconds 10] [--detect-every 1,5,10] [--rounds 2]
 *        [--peer-frames 20] [--no-peer] | --rss [--minutes 10] [--rss-fps 2] [--detect-every 1]; [--out file.json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import * as ort from 'onnxruntime-node';
import { packageRoot } from '../src/engine/native.js';
import { modelDir as faceApiModelDir } from '../src/formats/tfjs/tfjsManifest.js';
import type { RgbPixels } from '../src/infer/readImage.js';
import { createRecognizer, type Recognizer } from '../src/infer/recognizer.js';
import { videoFrames } from '../src/infer/videoSource.js';
import { faceApiNets } from '../test/helpers/faceApiReference.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const has = (name: string): boolean => process.argv.includes(name);
const num = (name: string, dflt: number, int = true): number => {
  const v = Number(arg(name) ?? dflt);
  if (!(v > 0) || (int && !Number.isInteger(v))) throw new Error(`${name}: expected a ${int ? 'whole ' : ''}number > 0, got ${arg(name)}`);
  return v;
};
const threads = num('--threads', 2);
const seconds = num('--seconds', 10);
const rounds = num('--rounds', 2);
const peerFrames = num('--peer-frames', 20);
const ks = (arg('--detect-every') ?? (has('--rss') ? '1' : '1,5,10')).split(',').map(Number);
if (ks.some((k) => !(Number.isInteger(k) && k >= 1))) throw new Error(`--detect-every: expected whole numbers ≥ 1, got ${arg('--detect-every')}`);
const out = arg('--out');
const TARGET_FPS = 30;
const MiB = 2 ** 20;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

/** 640×480, 30 frames/s, `s` seconds: the astronaut (220 px) gliding on a gray background. */
function makeClip(dir: string, s: number): string {
  const file = join(dir, `face-640x480-${s}s.mp4`);
  const face = join(packageRoot(), 'examples', 'astronaut.png');
  ffmpeg([
    '-f', 'lavfi', '-i', `color=c=gray:s=640x480:d=${s}:r=30`, '-i', face, '-filter_complex',
    "[1]scale=220:220[f];[0][f]overlay=x='160+60*sin(t)':y='100+20*cos(t)'", '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file,
  ]);
  return file;
}

interface LoopRun {
  detectEvery: number;
  frames: number;
  detections: number;
  faces: number;
  wallS: number;
  fps: number;
  cpuMsPerFrame: number;
}

async function loop(rec: Recognizer, clip: string, detectEvery: number): Promise<LoopRun> {
  const run = rec.video(clip, { detectEvery });
  await run.info();
  let frames = 0;
  let faces = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for await (const f of run) {
    frames++;
    faces += f.faces.length;
  }
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { detectEvery, frames, detections: run.keyframes.detections, faces, wallS, fps: frames / wallS, cpuMsPerFrame: (c.user + c.system) / 1000 / frames };
}

async function throughput(rec: Recognizer, clip: string): Promise<LoopRun[]> {
  await loop(rec, clip, ks[0] ?? 1); // warm-up
  const runs: LoopRun[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 === 0 ? ks : [...ks].reverse()) {
      const x = await loop(rec, clip, k);
      runs.push(x);
      process.stderr.write(`  round ${r + 1}, detect every ${k}: ${x.fps.toFixed(1)} frames/s, ${x.cpuMsPerFrame.toFixed(1)} CPU ms/frame, load ${load()}\n`);
    }
  }
  console.log(`\n### (a) Processed frames/s, 640×480 at 30 frames/s, ${threads} ORT threads (median of ${rounds} rounds; wall / process CPU)\n`);
  console.log('| detect every | frames | detector runs | faces | frames/s (rounds) | CPU ms/frame | target ≥ 30 |');
  console.log('|---:|---:|---:|---:|---:|---:|---|');
  for (const k of ks) {
    const xs = runs.filter((x) => x.detectEvery === k);
    const fps = median(xs.map((x) => x.fps));
    const x = xs[0] as LoopRun;
    console.log(`| ${k} | ${x.frames} | ${x.detections} | ${x.faces} | ${fps.toFixed(1)} (${xs.map((y) => y.fps.toFixed(1)).join(', ')}) | ${median(xs.map((y) => y.cpuMsPerFrame)).toFixed(1)} | ${fps >= TARGET_FPS ? 'met' : 'NOT met'} |`);
  }
  return runs;
}

async function faceApiFrame(img: RgbPixels): Promise<number> {
  const t = faceapi.tf.tensor3d(Float32Array.from(img.data), [img.height, img.width, 3], 'float32');
  const faces = await faceapi.detectAllFaces(t, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 })).withFaceLandmarks().withFaceExpressions();
  t.dispose();
  return faces.length;
}

interface PeerRow {
  frames: number;
  expnet: { wallMs: number; cpuMs: number; faces: number };
  faceApi: { wallMs: number; cpuMs: number; faces: number };
  ratio: number;
  cpuRatio: number;
}

async function timed(f: () => Promise<number>): Promise<{ wall: number; cpu: number; faces: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const faces = await f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000, faces };
}

async function peer(rec: Recognizer, clip: string, runs: readonly LoopRun[]): Promise<PeerRow> {
  await faceApiNets(); // wasm backend up
  for (const net of [faceapi.nets.ssdMobilenetv1, faceapi.nets.faceLandmark68Net, faceapi.nets.faceExpressionNet]) await net.loadFromDisk(faceApiModelDir());
  const imgs: RgbPixels[] = [];
  for await (const f of videoFrames(clip, { fps: peerFrames / seconds })) imgs.push(f.image);
  const mine = (img: RgbPixels) => async () => (await rec.detectPixels(img)).length;
  const theirs = (img: RgbPixels) => () => faceApiFrame(img);
  await mine(imgs[0] as RgbPixels)();
  await theirs(imgs[0] as RgbPixels)();
  const a: { wall: number; cpu: number; faces: number }[] = [];
  const b: typeof a = [];
  for (const [i, img] of imgs.entries()) {
    if (i % 2 === 0) {
      a.push(await timed(mine(img)));
      b.push(await timed(theirs(img)));
    } else {
      b.push(await timed(theirs(img)));
      a.push(await timed(mine(img)));
    }
  }
  const row: PeerRow = {
    frames: imgs.length,
    expnet: { wallMs: median(a.map((x) => x.wall)), cpuMs: median(a.map((x) => x.cpu)), faces: a.reduce((s, x) => s + x.faces, 0) },
    faceApi: { wallMs: median(b.map((x) => x.wall)), cpuMs: median(b.map((x) => x.cpu)), faces: b.reduce((s, x) => s + x.faces, 0) },
    ratio: 0,
    cpuRatio: 0,
  };
  row.ratio = row.faceApi.wallMs / row.expnet.wallMs;
  row.cpuRatio = row.faceApi.cpuMs / row.expnet.cpuMs;
  console.log(`\n### (b) Per-frame cost next to face-api.js on the same ${imgs.length} frames (median ms; wall / process CPU)\n`);
  console.log('| | ms/frame (CPU) | faces found | face-api / this, wall | CPU |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| face-api.js (SSD 512 + landmarks + expressions, tfjs-wasm, 1 thread) | ${row.faceApi.wallMs.toFixed(1)} (${row.faceApi.cpuMs.toFixed(1)}) | ${row.faceApi.faces} | 1.0× | 1.0× |`);
  console.log(`| expnet, detector on the frame (${threads} threads) | ${row.expnet.wallMs.toFixed(1)} (${row.expnet.cpuMs.toFixed(1)}) | ${row.expnet.faces} | ${row.ratio.toFixed(1)}× | ${row.cpuRatio.toFixed(1)}× |`);
  for (const k of ks.filter((x) => x > 1)) {
    const xs = runs.filter((x) => x.detectEvery === k);
    const wall = 1000 / median(xs.map((x) => x.fps));
    const cpu = median(xs.map((x) => x.cpuMsPerFrame));
    console.log(`| expnet video loop, detect every ${k} (from (a), decoding included) | ${wall.toFixed(1)} (${cpu.toFixed(1)}) | — | ${(row.faceApi.wallMs / wall).toFixed(1)}× | ${(row.faceApi.cpuMs / cpu).toFixed(1)}× |`);
  }
  return row;
}

interface RssPoint {
  at: string;
  frame: number;
  time: number;
  rssMiB: number;
  heapMiB: number;
}

async function rss(rec: Recognizer, dir: string): Promise<RssPoint[]> {
  const minutes = num('--minutes', 10, false);
  const fps = num('--rss-fps', 2, false);
  const segment = makeClip(dir, 10);
  const long = join(dir, `face-640x480-${minutes}min.mp4`);
  ffmpeg(['-stream_loop', String(Math.ceil((minutes * 60) / 10) - 1), '-i', segment, '-c', 'copy', '-t', String(minutes * 60), long]);
  const run = rec.video(long, { fps, detectEvery: ks[0] ?? 1 });
  const total = (await run.expectedFrames()) ?? 0;
  const marks = new Map([[0, 'start (first frame)'], [Math.floor(total / 2), 'middle'], [total - 1, 'end (last frame)']]);
  const points: RssPoint[] = [];
  let max = 0;
  let n = 0;
  const t0 = performance.now();
  for await (const f of run) {
    const m = process.memoryUsage();
    max = Math.max(max, m.rss);
    const at = marks.get(f.index);
    if (at !== undefined) points.push({ at, frame: f.index, time: f.time, rssMiB: m.rss / MiB, heapMiB: m.heapUsed / MiB });
    n++;
  }
  const wallS = (performance.now() - t0) / 1000;
  console.log(`\n### RSS over a ${minutes}-minute 640×480 clip, sampled at ${fps} frames/s (${n} frames in ${wallS.toFixed(0)} s, detect every ${ks[0] ?? 1})\n`);
  console.log('| point | frame | clip time | RSS MiB | V8 heap used MiB |');
  console.log('|---|---:|---:|---:|---:|');
  for (const p of points) console.log(`| ${p.at} | ${p.frame} | ${p.time.toFixed(0)} s | ${p.rssMiB.toFixed(1)} | ${p.heapMiB.toFixed(1)} |`);
  console.log(`\nlargest RSS seen: ${(max / MiB).toFixed(1)} MiB; tracks: ${run.summary().length}`);
  return points;
}

async function main(): Promise<void> {
  const loadBefore = load();
  console.log(`# expnet video throughput (${new Date().toISOString()})`);
  console.log(`ORT threads ${threads}, spin-wait ${has('--spin-wait') ? 'on' : 'off'}; node ${process.version}, onnxruntime-node ${ort.env.versions.node ?? '?'}, face-api ${faceapi.version}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); load average before: ${loadBefore}`);
  const dir = mkdtempSync(join(tmpdir(), 'expnet-video-bench-'));
  const rec = await createRecognizer({ session: { intraOpThreads: threads, spinWait: has('--spin-wait') } });
  const result: Record<string, unknown> = { date: new Date().toISOString(), threads, spinWait: has('--spin-wait'), loadBefore };
  try {
    if (has('--rss')) result['rss'] = await rss(rec, dir);
    else {
      const clip = makeClip(dir, seconds);
      result['runs'] = await throughput(rec, clip);
      if (!has('--no-peer')) result['peer'] = await peer(rec, clip, result['runs'] as LoopRun[]);
    }
  } finally {
    await rec.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  result['loadAfter'] = load();
  console.log(`\nload average (1/5/15 min): before ${loadBefore}, after ${load()}`);
  if (out) {
    writeFileSync(out, JSON.stringify(result, null, 1));
    console.log(`wrote ${out}`);
  }
}

await main();
