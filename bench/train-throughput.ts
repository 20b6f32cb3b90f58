/**
 * Training throughput on synthetic data, from the same initial weights, of the nets in trainBenchNets.ts (the
 * reference CNN, batch 32, and the bundled model's student, batch 64), in float32 and in bfloat16 autocast:
 *   fp32; bf16 = forward + loss under libtorch's autocast (bfloat16), NCHW tensors; bf16cl = the same with weights
 *   and batch channels-last (what `expnet train --precision bf16` runs: src/train/fitStage.ts), in
 *   (a) expnet: TrainStep (the traced step replayed natively) and the per-op eager path (Tensor ops from JS,
 *       backward, optimizer.step; bf16 inside `autocast()`);
 *   (b) PyTorch eager (Debian's python3-torch, same libtorch 1.13), bf16 = torch.autocast('cpu', bfloat16), bf16cl
 *       adds torch.channels_last, in a child process (train_throughput_peer.py).
 * Rounds interleave the implementations (order rotated each round) for each net and thread count; prints
 * images/s, ratios against PyTorch at the same precision and bf16/fp32 speed-ups, conv GFLOP/s against the
 * measured float32 / bfloat16 matmul peaks, first-step losses and peak RSS.
 * With --faceres, also the faceres teacher's top-block fine-tuning, a depthwise conv and its frozen forward, expnet
 * only (trainBenchFaceRes.ts); --nets none skips the PyTorch comparison (and the peer).
 * Usage: node --import tsx bench/train-throughput.ts [--nets reference,student|none] [--precisions fp32,bf16,bf16cl]
 *        [--steps 24] [--warmup 3] [--repeats 3] [--threads 1,2] [--batch N] [--seed 1] [--no-eager] [--python /usr/bin/python3]
 *        [--faceres] [--faceres-batch 32] [--faceres-steps 6]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import {
  adam, autocast, cpuHasNativeBf16, disposeAll, F, noGrad, packageRoot, setNumThreads, tensor, tidy, torchVersion, TrainStep, writeSafetensors,
  type Optimizer, type RawTensor, type Tensor,
} from '../src/engine/index.js';
import { measureSgemmPeak } from './sgemm-peak.js';
import { benchFaceRes } from './trainBenchFaceRes.js';
import { BENCH_NETS, buildModel, convForwardFlops, DEFAULT_BATCH, initialState, STUDENT_CONFIG, type BenchModel, type BenchNet } from './trainBenchNets.js';
import { num, Peer } from './trainBenchPeer.js';

process.env['OMP_WAIT_POLICY'] ??= 'PASSIVE';

const argv = process.argv.slice(2);
function flag(name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
}
function intFlag(name: string, fallback: number): number {
  const v = Number(flag(name, String(fallback)));
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} expects a non-negative integer, got '${flag(name, '')}'`);
  return v;
}
type Precision = 'fp32' | 'bf16' | 'bf16cl';
function listFlag<T extends string>(name: string, fallback: string, allowed: readonly T[]): T[] {
  const v = flag(name, fallback).split(',');
  for (const x of v) if (!allowed.includes(x as T)) throw new Error(`${name}: '${x}' is not one of ${allowed.join(', ')}`);
  return v as T[];
}
const opts = {
  nets: flag('--nets', '') === 'none' ? [] : listFlag<BenchNet>('--nets', 'reference,student', BENCH_NETS),
  precisions: listFlag<Precision>('--precisions', 'fp32,bf16,bf16cl', ['fp32', 'bf16', 'bf16cl']),
  steps: intFlag('--steps', 24),
  warmup: Math.max(1, intFlag('--warmup', 3)),
  repeats: Math.max(1, intFlag('--repeats', 3)),
  threads: flag('--threads', '1,2').split(',').map(Number),
  batch: argv.includes('--batch') ? intFlag('--batch', 32) : null,
  seed: intFlag('--seed', 1),
  lr: 1e-3,
  eager: !argv.includes('--no-eager'),
  python: flag('--python', '/usr/bin/python3'),
  faceres: argv.includes('--faceres'),
  faceresBatch: intFlag('--faceres-batch', 32),
  faceresSteps: intFlag('--faceres-steps', 6),
};
const batchOf = (net: BenchNet): number => opts.batch ?? DEFAULT_BATCH[net];

type Path = 'trainstep' | 'eager' | 'pytorch';
const LABEL: Record<Path, string> = { trainstep: 'expnet TrainStep', eager: 'expnet eager', pytorch: 'PyTorch eager' };
interface RoundResult {
  net: BenchNet;
  path: Path;
  precision: Precision;
  threads: number;
  seconds: number;
  /** CPU time of the whole process (user + system, all threads) over the timed steps. */
  cpuSeconds: number;
  firstLoss: number;
  lastLoss: number;
  rssKiB: number;
}

/** One expnet path at one precision, built once and reset before every round (initial weights, fresh Adam). */
class ExpnetTrainer {
  readonly #model: BenchModel;
  readonly #opt: Optimizer;
  readonly #x: Tensor;
  readonly #y: Tensor;
  readonly #trainStep: TrainStep | null;
  constructor(readonly net: BenchNet, readonly path: 'trainstep' | 'eager', readonly precision: Precision, init: ReadonlyMap<string, RawTensor>) {
    this.#model = buildModel(net, init);
    const raw = (name: string): RawTensor => init.get(name) as RawTensor;
    const x = tensor(raw('x').data, raw('x').shape);
    if (precision === 'bf16cl') {
      this.#model.channelsLast();
      this.#x = x.contiguous('channelsLast');
      x.dispose();
    } else this.#x = x;
    this.#y = tensor(raw('y').data, raw('y').shape, { dtype: 'int64' });
    this.#opt = adam(this.#model.parameters(), { lr: opts.lr });
    const ac = precision !== 'fp32' ? { autocast: { dtype: 'bfloat16' as const } } : {};
    this.#trainStep = path === 'trainstep' ? new TrainStep((xb, yb) => F.crossEntropy(this.#model.forward(xb), yb), [this.#x, this.#y], this.#opt, 0, ac) : null;
  }
  #loss(): Tensor {
    const f = (): Tensor => F.crossEntropy(this.#model.forward(this.#x), this.#y);
    return this.precision !== 'fp32' ? autocast({ dtype: 'bfloat16' }, f) : f();
  }
  #step(): number {
    if (this.#trainStep) {
      const r = this.#trainStep.step([this.#x, this.#y]);
      disposeAll(r.outputs);
      return r.loss;
    }
    this.#opt.zeroGrad();
    const loss = tidy(() => {
      const l = this.#loss();
      l.backward();
      return l.item();
    });
    this.#opt.step();
    return loss;
  }
  round(threads: number): RoundResult {
    setNumThreads(threads);
    noGrad(() => this.#model.reset());
    this.#opt.loadStateDict(new Map());
    const losses: number[] = [];
    for (let i = 0; i < opts.warmup; i++) losses.push(this.#step());
    const [t0, c0] = [performance.now(), process.cpuUsage()];
    for (let i = 0; i < opts.steps; i++) losses.push(this.#step());
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    return {
      net: this.net, path: this.path, precision: this.precision, threads, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6,
      firstLoss: losses[0] ?? NaN, lastLoss: losses.at(-1) ?? NaN, rssKiB: process.memoryUsage.rss() / 1024,
    };
  }
  dispose(): void {
    this.#trainStep?.dispose();
    this.#model.dispose();
    disposeAll([this.#x, this.#y]);
  }
}

let pyMaxRssKiB = 0;
async function pytorchRound(peer: Peer, net: BenchNet, precision: Precision, threads: number): Promise<RoundResult> {
  const r = await peer.request({ cmd: 'train', threads, warmup: opts.warmup, steps: opts.steps, lr: opts.lr, precision });
  pyMaxRssKiB = Math.max(pyMaxRssKiB, num(r, 'maxRssKiB'));
  return { net, path: 'pytorch', precision, threads, seconds: num(r, 'seconds'), cpuSeconds: num(r, 'cpuSeconds'), firstLoss: num(r, 'firstLoss'), lastLoss: num(r, 'lastLoss'), rssKiB: num(r, 'rssKiB') };
}

const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
type Peaks = Map<string, { expnet: number; pytorch: number }>;
const peakKey = (threads: number, p: Precision): string => `${threads}/${p === 'fp32' ? 'fp32' : 'bf16'}`;

async function measurePeaks(peer: Peer): Promise<Peaks> {
  const peaks: Peaks = new Map();
  const kinds = [...new Set(opts.precisions.map((p) => (p === 'fp32' ? 'fp32' : 'bf16')))] as Precision[];
  for (const threads of opts.threads)
    for (const p of kinds) {
      const dtype = p === 'fp32' ? 'float32' : 'bfloat16';
      const expnet = measureSgemmPeak({ threads, size: 1024, seconds: 1.5, dtype });
      const pytorch = num(await peer.request({ cmd: 'sgemm', threads, size: 1024, seconds: 1.5, dtype }), 'gflops');
      peaks.set(peakKey(threads, p), { expnet, pytorch });
      console.log(`matmul 1024² ${dtype} peak, ${threads} thread(s): expnet ${expnet.toFixed(1)} GFLOP/s, PyTorch ${pytorch.toFixed(1)} GFLOP/s`);
    }
  return peaks;
}

async function benchNet(net: BenchNet, peer: Peer, dir: string): Promise<RoundResult[]> {
  const init = initialState(net, opts.seed, batchOf(net));
  const file = path.join(dir, `${net}.safetensors`);
  writeSafetensors(file, init, { seed: String(opts.seed) });
  await peer.request({ cmd: 'load', path: file, net, config: STUDENT_CONFIG });
  const paths: Path[] = opts.eager ? ['trainstep', 'pytorch', 'eager'] : ['trainstep', 'pytorch'];
  const impls = opts.precisions.flatMap((p) => paths.map((x) => [x, p] as const));
  const trainers = new Map<string, ExpnetTrainer>();
  for (const [x, p] of impls) if (x !== 'pytorch') trainers.set(`${x}/${p}`, new ExpnetTrainer(net, x, p, init));
  const results: RoundResult[] = [];
  try {
    for (const threads of opts.threads)
      for (let r = 0; r < opts.repeats; r++)
        for (let k = 0; k < impls.length; k++) {
          const [x, p] = impls[(k + r) % impls.length] as readonly [Path, Precision];
          const res = x === 'pytorch' ? await pytorchRound(peer, net, p, threads) : (trainers.get(`${x}/${p}`) as ExpnetTrainer).round(threads);
          results.push(res);
          const ips = (opts.steps * batchOf(net)) / res.seconds;
          console.log(`  ${net} threads ${threads} round ${r + 1}: ${`${LABEL[x]} ${p}`.padEnd(21)} ${ips.toFixed(1).padStart(7)} images/s ` +
            `(${((res.seconds / opts.steps) * 1000).toFixed(1)} ms/step, CPU ${((res.cpuSeconds / opts.steps) * 1000).toFixed(1)} ms/step; loss ${res.firstLoss.toFixed(6)} → ${res.lastLoss.toFixed(6)})`);
        }
  } finally {
    for (const t of trainers.values()) t.dispose();
  }
  return results;
}

function report(net: BenchNet, results: readonly RoundResult[], peaks: Peaks): boolean {
  const batch = batchOf(net);
  const ips = (x: Path, p: Precision, threads: number): number[] => results.filter((r) => r.path === x && r.precision === p && r.threads === threads).map((r) => (opts.steps * batch) / r.seconds);
  const med = (x: Path, p: Precision, t: number): number => median(ips(x, p, t));
  const flops = 3 * convForwardFlops(net);
  console.log(`\n${net} (batch ${batch}): median of ${opts.repeats} round(s) of ${opts.steps} steps; conv GFLOP/s = 3 × ${(convForwardFlops(net) / 1e6).toFixed(1)} MFLOP/image × images/s, % of the matmul peak of that precision.`);
  console.log('| threads | precision | expnet TrainStep img/s | expnet eager img/s | PyTorch eager img/s | TrainStep / PyTorch (per-round range) | eager / PyTorch | conv GFLOP/s TrainStep (% peak) | matmul peak GFLOP/s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const t of opts.threads)
    for (const p of opts.precisions) {
      const [a, e, b] = [med('trainstep', p, t), opts.eager ? med('eager', p, t) : NaN, med('pytorch', p, t)];
      const pairs = ips('trainstep', p, t).map((v, i) => v / (ips('pytorch', p, t)[i] ?? NaN));
      const peak = peaks.get(peakKey(t, p))?.expnet ?? NaN;
      console.log(`| ${t} | ${p} | ${a.toFixed(1)} | ${opts.eager ? e.toFixed(1) : '-'} | ${b.toFixed(1)} | ${(a / b).toFixed(3)} (${Math.min(...pairs).toFixed(2)}–${Math.max(...pairs).toFixed(2)}) | ` +
        `${opts.eager ? (e / b).toFixed(3) : '-'} | ${((a * flops) / 1e9).toFixed(1)} (${((100 * a * flops) / 1e9 / peak).toFixed(0)}%) | ${peak.toFixed(1)} |`);
    }
  let ok = true;
  const all = (['fp32', 'bf16', 'bf16cl'] as const).every((p) => opts.precisions.includes(p));
  if (all) {
    console.log(`\n${net}: speed-up over fp32 of the same implementation (median images/s); expnet's training bf16 is bf16cl`);
    console.log('| threads | TrainStep bf16 | TrainStep bf16cl | eager bf16cl | PyTorch bf16 | PyTorch bf16cl | TrainStep bf16cl / best PyTorch bf16 |');
    console.log('|---|---|---|---|---|---|---|');
    for (const t of opts.threads) {
      const su = (x: Path, p: Precision): number => med(x, p, t) / med(x, 'fp32', t);
      const bestPy = Math.max(med('pytorch', 'bf16', t), med('pytorch', 'bf16cl', t));
      const vsPy = med('trainstep', 'bf16cl', t) / bestPy;
      const f = (v: number): string => `${v.toFixed(2)}×`;
      console.log(`| ${t} | ${f(su('trainstep', 'bf16'))} | ${f(su('trainstep', 'bf16cl'))} | ${opts.eager ? f(su('eager', 'bf16cl')) : '-'} | ${f(su('pytorch', 'bf16'))} | ${f(su('pytorch', 'bf16cl'))} | ${vsPy.toFixed(3)} |`);
      if (net === 'student') {
        const hit = su('trainstep', 'bf16cl') >= 1.6 && vsPy >= 1.0;
        ok &&= hit;
        console.log(`  targets on the student, ${t} thread(s): expnet bf16 ≥ 1.6× expnet fp32 (${su('trainstep', 'bf16cl').toFixed(2)}×), ≥ 1.0× the faster PyTorch bf16 autocast (${vsPy.toFixed(3)}): ${hit ? 'met' : 'NOT met'}`);
      }
    }
  }
  for (const p of opts.precisions) {
    const first = (x: Path): number => results.find((r) => r.path === x && r.precision === p)?.firstLoss ?? NaN;
    const tol = p === 'fp32' ? 1e-4 : 2e-2;
    const diffs = (['trainstep', 'eager'] as const).filter((x) => opts.eager || x === 'trainstep').map((x) => Math.abs(first(x) - first('pytorch')));
    const worst = Math.max(...diffs);
    console.log(`first-step loss ${p}: expnet ${first('trainstep').toFixed(7)} vs PyTorch ${first('pytorch').toFixed(7)}: max |diff| ${worst.toExponential(2)} ${worst <= tol ? `OK (≤ ${tol})` : `MISMATCH (> ${tol})`}`);
    if (!(worst <= tol)) process.exitCode = 1;
  }
  return ok;
}

async function main(): Promise<void> {
  if (opts.steps < 1) throw new Error('--steps must be at least 1');
  console.log(`train-throughput: nets ${opts.nets.join(',')}, precisions ${opts.precisions.join(',')}, steps ${opts.steps} (+${opts.warmup} warm-up) × repeats ${opts.repeats}, ` +
    `threads ${opts.threads.join(',')}, seed ${opts.seed}, OMP_WAIT_POLICY=${process.env['OMP_WAIT_POLICY']}; native bf16 CPU: ${cpuHasNativeBf16()}; load average at start ${load()}`);
  if (opts.nets.length > 0) await benchPeerNets();
  if (opts.faceres) {
    benchFaceRes({ precisions: opts.precisions, threads: opts.threads, steps: opts.faceresSteps, warmup: Math.min(opts.warmup, 2), repeats: opts.repeats, batch: opts.faceresBatch, seed: opts.seed });
    console.log(`load average at end ${load()}`);
  }
}

async function benchPeerNets(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'expnet-train-throughput-'));
  const peer = new Peer(opts.python, path.join(packageRoot(), 'bench', 'train_throughput_peer.py'));
  try {
    const hello = await peer.request({ cmd: 'load', path: (writeSafetensors(path.join(dir, 'hello.safetensors'), initialState('reference', opts.seed, 2)), path.join(dir, 'hello.safetensors')) });
    console.log(`expnet libtorch ${torchVersion()}; PyTorch ${String(hello['torch'])} (${opts.python})`);
    const peaks = await measurePeaks(peer);
    const verdicts: boolean[] = [];
    for (const net of opts.nets) verdicts.push(report(net, await benchNet(net, peer, dir), peaks));
    console.log(`\npeak RSS: expnet (node, all paths) ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; PyTorch ${(pyMaxRssKiB / 1024).toFixed(0)} MiB; load average at end ${load()}`);
    if (opts.nets.includes('student') && opts.precisions.length === 3) console.log(`bf16 targets on the student: ${verdicts.every(Boolean) ? 'met' : 'NOT met'}`);
  } finally {
    peer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  console.error(`train-throughput failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
