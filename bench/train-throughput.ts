/**
 * Training throughput of the reference CNN (input 1×64×64; conv3×3 32-64-128-256, each + ReLU + maxpool 2;
 * FC 256 + ReLU; FC 7; Adam; batch 32) on synthetic data, from the same initial weights, in
 *   (a) expnet: TrainStep (the traced step replayed natively) and the per-op eager path (Tensor ops from JS,
 *       backward, optimizer.step), and
 *   (b) PyTorch eager (Debian's python3-torch, same libtorch 1.13) in a child process (train_throughput_peer.py).
 * Rounds interleave expnet and PyTorch for each thread count; prints images/s, the ratio expnet/PyTorch,
 * conv GFLOP/s against the measured sgemm peak, first-step losses (must agree to 1e-4) and peak RSS.
 * Usage: node --import tsx bench/train-throughput.ts [--steps 24] [--warmup 3] [--repeats 3] [--threads 1,2]
 *        [--batch 32] [--seed 1] [--no-eager] [--python /usr/bin/python3]
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  adam, disposeAll, F, manualSeed, noGrad, packageRoot, randint, randn, setNumThreads, tensor, tidy, torchVersion, TrainStep, uniformInit, writeSafetensors,
  type Optimizer, type RawTensor, type Tensor,
} from '../src/engine/index.js';
import { measureSgemmPeak } from './sgemm-peak.js';

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
const opts = {
  steps: intFlag('--steps', 24),
  warmup: Math.max(1, intFlag('--warmup', 3)),
  repeats: Math.max(1, intFlag('--repeats', 3)),
  threads: flag('--threads', '1,2').split(',').map(Number),
  batch: intFlag('--batch', 32),
  seed: intFlag('--seed', 1),
  lr: 1e-3,
  eager: !argv.includes('--no-eager'),
  python: flag('--python', '/usr/bin/python3'),
};

// ---- the reference CNN: a parameter tree and a pure forward function ----
const CHANNELS = [1, 32, 64, 128, 256] as const;
const SIDE = 64;
const CLASSES = 7;
interface Dense {
  weight: Tensor;
  bias: Tensor;
}
interface ReferenceCnn {
  convs: Dense[];
  fc1: Dense;
  fc2: Dense;
}

/** Shapes and fan-ins of every parameter, named as in the PyTorch peer's state dict. */
function parameterSpecs(): [name: string, shape: number[], fanIn: number][] {
  const specs: [string, number[], number][] = [];
  for (let i = 0; i < 4; i++) {
    const [cin, cout] = [CHANNELS[i] as number, CHANNELS[i + 1] as number];
    specs.push([`conv${i + 1}.weight`, [cout, cin, 3, 3], cin * 9], [`conv${i + 1}.bias`, [cout], cin * 9]);
  }
  const flat = 256 * (SIDE / 16) ** 2;
  specs.push(['fc1.weight', [256, flat], flat], ['fc1.bias', [256], flat], ['fc2.weight', [CLASSES, 256], 256], ['fc2.bias', [CLASSES], 256]);
  return specs;
}

function buildModel(init: ReadonlyMap<string, RawTensor>): ReferenceCnn {
  const p = (name: string): Tensor => {
    const raw = init.get(name);
    if (!raw) throw new Error(`initial weights lack '${name}'`);
    return tensor(raw.data, raw.shape, { requiresGrad: true });
  };
  const dense = (prefix: string): Dense => ({ weight: p(`${prefix}.weight`), bias: p(`${prefix}.bias`) });
  return { convs: [1, 2, 3, 4].map((i) => dense(`conv${i}`)), fc1: dense('fc1'), fc2: dense('fc2') };
}
function namedParameters(m: ReferenceCnn): [string, Tensor][] {
  const layers: [string, Dense][] = [...m.convs.map((c, i): [string, Dense] => [`conv${i + 1}`, c]), ['fc1', m.fc1], ['fc2', m.fc2]];
  return layers.flatMap(([name, d]): [string, Tensor][] => [[`${name}.weight`, d.weight], [`${name}.bias`, d.bias]]);
}
const parametersOf = (m: ReferenceCnn): Tensor[] => namedParameters(m).map(([, t]) => t);

function forward(m: ReferenceCnn, x: Tensor): Tensor {
  let h = x;
  for (const c of m.convs) h = F.maxPool2d(F.relu(F.conv2d(h, c.weight, c.bias, { padding: 1 })), 2);
  return F.linear(F.relu(F.linear(h.flatten(1), m.fc1.weight, m.fc1.bias)), m.fc2.weight, m.fc2.bias);
}

/** Forward FLOPs of the four convs for one image (2 per multiply-add); training ≈ 3× (forward + 2 backward). */
function convForwardFlops(): number {
  let flops = 0;
  let side = SIDE;
  for (let i = 0; i < 4; i++) {
    flops += 2 * (CHANNELS[i] as number) * 9 * (CHANNELS[i + 1] as number) * side * side;
    side /= 2;
  }
  return flops;
}

// ---- the PyTorch peer: JSON lines over stdio ----
interface Reply {
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}
class Peer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  constructor(python: string, script: string) {
    this.#child = spawn(python, [script], { env: { ...process.env, OMP_WAIT_POLICY: process.env['OMP_WAIT_POLICY'] ?? 'PASSIVE' } });
    this.#child.stderr.pipe(process.stderr);
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const w = this.#waiting.shift();
      try {
        w?.resolve(JSON.parse(line) as Reply);
      } catch {
        w?.reject(new Error(`peer printed a line that is not JSON: ${line.slice(0, 200)}`));
      }
    });
    const fail = (why: string): void => {
      for (const w of this.#waiting.splice(0)) w.reject(new Error(`PyTorch peer (${python} ${script}) ${why}`));
    };
    this.#child.on('error', (err) => fail(`could not start: ${err.message}`));
    this.#child.stdin.on('error', (err) => fail(`stopped reading its input: ${err.message}`));
    this.#child.on('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal})`));
  }
  async request(msg: Record<string, unknown>): Promise<Reply> {
    const reply = new Promise<Reply>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#child.stdin.write(JSON.stringify(msg) + '\n');
    const r = await reply;
    if (!r.ok) throw new Error(`PyTorch peer failed on ${String(msg['cmd'])}: ${r.error ?? 'unknown error'}`);
    return r;
  }
  close(): void {
    this.#child.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
  }
}
const num = (r: Reply, key: string): number => {
  const v = r[key];
  if (typeof v !== 'number') throw new Error(`PyTorch peer reply lacks a numeric '${key}': ${JSON.stringify(r)}`);
  return v;
};

// ---- one measured round per implementation ----
type Impl = 'trainstep' | 'eager' | 'pytorch';
interface RoundResult {
  impl: Impl;
  threads: number;
  seconds: number;
  /** CPU time of the whole process (user + system, all threads) over the timed steps. */
  cpuSeconds: number;
  /** The kernel's share of it (page faults of fresh allocations, thread wake-ups). */
  sysSeconds: number;
  firstLoss: number;
  lastLoss: number;
  /** Resident set size of the process right after the round. */
  rssKiB: number;
}

/**
 * One expnet path with its model, optimiser (and TrainStep), built once and reset before every round: the
 * initial weights are copied back and the Adam state cleared, as a fresh model would start.
 */
class ExpnetTrainer {
  readonly #model: ReferenceCnn;
  readonly #opt: Optimizer;
  readonly #x: Tensor;
  readonly #y: Tensor;
  readonly #trainStep: TrainStep | null;
  constructor(readonly impl: 'trainstep' | 'eager', readonly init: ReadonlyMap<string, RawTensor>) {
    this.#model = buildModel(init);
    const raw = (name: string): RawTensor => init.get(name) as RawTensor;
    this.#x = tensor(raw('x').data, raw('x').shape);
    this.#y = tensor(raw('y').data, raw('y').shape, { dtype: 'int64' });
    this.#opt = adam(parametersOf(this.#model), { lr: opts.lr });
    this.#trainStep = impl === 'trainstep'
      ? new TrainStep((xb, yb) => F.crossEntropy(forward(this.#model, xb), yb), [this.#x, this.#y], this.#opt)
      : null;
  }
  #step(): number {
    const [x, y, opt] = [this.#x, this.#y, this.#opt];
    if (this.#trainStep) {
      const r = this.#trainStep.step([x, y]);
      disposeAll(r.outputs);
      return r.loss;
    }
    opt.zeroGrad();
    const loss = tidy(() => {
      const l = F.crossEntropy(forward(this.#model, x), y);
      l.backward();
      return l.item();
    });
    opt.step();
    return loss;
  }
  round(threads: number): RoundResult {
    setNumThreads(threads);
    noGrad(() => {
      for (const [name, t] of namedParameters(this.#model)) t.assign((this.init.get(name) as RawTensor).data);
    });
    this.#opt.loadStateDict(new Map());
    const losses: number[] = [];
    for (let i = 0; i < opts.warmup; i++) losses.push(this.#step());
    const [t0, c0] = [performance.now(), process.cpuUsage()];
    for (let i = 0; i < opts.steps; i++) losses.push(this.#step());
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    return {
      impl: this.impl, threads, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, sysSeconds: cpu.system / 1e6,
      firstLoss: losses[0] ?? NaN, lastLoss: losses[losses.length - 1] ?? NaN, rssKiB: process.memoryUsage.rss() / 1024,
    };
  }
  dispose(): void {
    this.#trainStep?.dispose();
    disposeAll([parametersOf(this.#model), this.#x, this.#y]);
  }
}

let pyMaxRssKiB = 0;
async function pytorchRound(peer: Peer, threads: number): Promise<RoundResult> {
  const r = await peer.request({ cmd: 'train', threads, warmup: opts.warmup, steps: opts.steps, lr: opts.lr });
  pyMaxRssKiB = Math.max(pyMaxRssKiB, num(r, 'maxRssKiB'));
  return {
    impl: 'pytorch', threads, seconds: num(r, 'seconds'), cpuSeconds: num(r, 'cpuSeconds'), sysSeconds: num(r, 'sysSeconds'),
    firstLoss: num(r, 'firstLoss'), lastLoss: num(r, 'lastLoss'), rssKiB: num(r, 'rssKiB'),
  };
}

// ---- reporting helpers ----
const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const imagesPerSec = (r: RoundResult): number => (opts.steps * opts.batch) / r.seconds;
const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const LABEL: Record<Impl, string> = { trainstep: 'expnet TrainStep', eager: 'expnet eager', pytorch: 'PyTorch eager' };

async function main(): Promise<void> {
  if (opts.steps < 1) throw new Error('--steps must be at least 1');
  console.log(`train-throughput: steps ${opts.steps} (+${opts.warmup} warm-up) × repeats ${opts.repeats}, threads ${opts.threads.join(',')}, ` +
    `batch ${opts.batch}, seed ${opts.seed}, OMP_WAIT_POLICY=${process.env['OMP_WAIT_POLICY']}; load average at start ${load()}`);

  // Initial weights and a fixed synthetic batch, from a seed, shared with the peer as safetensors.
  manualSeed(opts.seed);
  const init = new Map<string, RawTensor>();
  tidy(() => {
    for (const [name, shape, fanIn] of parameterSpecs()) {
      const t = uniformInit(shape, fanIn);
      init.set(name, { dtype: 'float32', shape, data: t.data() });
      t.dispose();
    }
    init.set('x', { dtype: 'float32', shape: [opts.batch, 1, SIDE, SIDE], data: randn([opts.batch, 1, SIDE, SIDE]).data() });
    init.set('y', { dtype: 'int64', shape: [opts.batch], data: randint(0, CLASSES, [opts.batch], { dtype: 'int64' }).data() });
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'expnet-train-throughput-'));
  const weightsPath = path.join(dir, 'init.safetensors');
  writeSafetensors(weightsPath, init, { seed: String(opts.seed) });
  const nodeBaseKiB = process.memoryUsage.rss() / 1024;

  const trainers = new Map<Impl, ExpnetTrainer>();
  const peer = new Peer(opts.python, path.join(packageRoot(), 'bench', 'train_throughput_peer.py'));
  try {
    const loaded = await peer.request({ cmd: 'load', path: weightsPath });
    console.log(`expnet libtorch ${torchVersion()}; PyTorch ${String(loaded['torch'])} (${opts.python})`);

    const peaks = new Map<number, { expnet: number; pytorch: number }>();
    for (const threads of opts.threads) {
      const expnet = measureSgemmPeak({ threads, size: 1024, seconds: 1.5 });
      const pytorch = num(await peer.request({ cmd: 'sgemm', threads, size: 1024, seconds: 1.5 }), 'gflops');
      peaks.set(threads, { expnet, pytorch });
      console.log(`sgemm 1024² float32 peak, ${threads} thread(s): expnet ${expnet.toFixed(1)} GFLOP/s, PyTorch ${pytorch.toFixed(1)} GFLOP/s`);
    }

    const results: RoundResult[] = [];
    trainers.set('trainstep', new ExpnetTrainer('trainstep', init));
    if (opts.eager) trainers.set('eager', new ExpnetTrainer('eager', init));
    for (const threads of opts.threads) {
      for (let r = 0; r < opts.repeats; r++) {
        // Rotate the order each round (A B E, B E A, E A B, ...) so no implementation always runs first.
        const order: Impl[] = opts.eager ? ['trainstep', 'pytorch', 'eager'] : ['trainstep', 'pytorch'];
        for (let k = 0; k < order.length; k++) {
          const impl = order[(k + r) % order.length] as Impl;
          const res = impl === 'pytorch' ? await pytorchRound(peer, threads) : (trainers.get(impl) as ExpnetTrainer).round(threads);
          results.push(res);
          console.log(`  threads ${threads} round ${r + 1}: ${LABEL[res.impl].padEnd(16)} ${imagesPerSec(res).toFixed(1).padStart(7)} images/s ` +
            `(${((res.seconds / opts.steps) * 1000).toFixed(1)} ms/step, CPU ${((res.cpuSeconds / opts.steps) * 1000).toFixed(1)} ms/step, ` +
            `sys ${((100 * res.sysSeconds) / res.cpuSeconds).toFixed(0)}%; loss ${res.firstLoss.toFixed(6)} → ${res.lastLoss.toFixed(6)}; rss ${mib(res.rssKiB)})`);
        }
      }
    }
    report(results, peaks, nodeBaseKiB, num(loaded, 'rssKiB'));
  } finally {
    for (const t of trainers.values()) t.dispose();
    peer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(results: readonly RoundResult[], peaks: ReadonlyMap<number, { expnet: number; pytorch: number }>, nodeBaseKiB: number, pyBaseKiB: number): void {
  const trainFlopsPerImage = 3 * convForwardFlops();
  const ips = (impl: Impl, threads: number): number[] => results.filter((r) => r.impl === impl && r.threads === threads).map(imagesPerSec);
  console.log(`\nMedian of ${opts.repeats} round(s) of ${opts.steps} steps; conv GFLOP/s = 3 × ${(convForwardFlops() / 1e6).toFixed(1)} MFLOP/image ` +
    `× images/s (whole-step time); % of the sgemm peak at the same thread count.`);
  console.log('| threads | expnet TrainStep img/s | expnet eager img/s | PyTorch eager img/s | TrainStep / PyTorch (per-round range) | eager / PyTorch (range) | conv GFLOP/s TrainStep (% peak) | conv GFLOP/s PyTorch (% peak) | sgemm peak GFLOP/s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  let worst = Infinity;
  for (const threads of opts.threads) {
    const [a, e, b] = [median(ips('trainstep', threads)), opts.eager ? median(ips('eager', threads)) : NaN, median(ips('pytorch', threads))];
    const peak = peaks.get(threads)?.expnet ?? NaN;
    const gf = (v: number): string => `${((v * trainFlopsPerImage) / 1e9).toFixed(1)} (${((100 * v * trainFlopsPerImage) / 1e9 / peak).toFixed(0)}%)`;
    worst = Math.min(worst, a / b);
    const range = (impl: Impl): string => {
      const pairs = ips(impl, threads).map((v, i) => v / (ips('pytorch', threads)[i] ?? NaN));
      return `${(impl === 'trainstep' ? a / b : e / b).toFixed(3)} (${Math.min(...pairs).toFixed(2)}–${Math.max(...pairs).toFixed(2)})`;
    };
    console.log(`| ${threads} | ${a.toFixed(1)} | ${opts.eager ? e.toFixed(1) : '-'} | ${b.toFixed(1)} | ${range('trainstep')} | ` +
      `${opts.eager ? range('eager') : '-'} | ${gf(a)} | ${gf(b)} | ${peak.toFixed(1)} |`);
  }

  console.log('\nCPU time per step (whole process, all threads; less sensitive to other load than wall time):');
  console.log('| threads | expnet TrainStep CPU ms/step | expnet eager CPU ms/step | PyTorch eager CPU ms/step | PyTorch / TrainStep | PyTorch / eager |');
  console.log('|---|---|---|---|---|---|');
  for (const threads of opts.threads) {
    const cpu = (impl: Impl): number =>
      median(results.filter((r) => r.impl === impl && r.threads === threads).map((r) => (r.cpuSeconds / opts.steps) * 1000));
    const [a, e, b] = [cpu('trainstep'), opts.eager ? cpu('eager') : NaN, cpu('pytorch')];
    console.log(`| ${threads} | ${a.toFixed(1)} | ${opts.eager ? e.toFixed(1) : '-'} | ${b.toFixed(1)} | ${(b / a).toFixed(3)} | ${opts.eager ? (b / e).toFixed(3) : '-'} |`);
  }

  const firstOf = (impl: Impl): number => results.find((r) => r.impl === impl)?.firstLoss ?? NaN;
  const ref = firstOf('pytorch');
  let lossOk = true;
  for (const impl of ['trainstep', 'eager'] as const) {
    if (impl === 'eager' && !opts.eager) continue;
    const worstDiff = Math.max(...results.filter((r) => r.impl === impl).map((r) => Math.abs(r.firstLoss - ref)));
    lossOk &&= worstDiff <= 1e-4;
    console.log(`first-step loss: ${LABEL[impl]} ${firstOf(impl).toFixed(7)} vs PyTorch ${ref.toFixed(7)}: max |diff| ${worstDiff.toExponential(2)} ` +
      `${worstDiff <= 1e-4 ? 'OK (≤ 1e-4)' : 'MISMATCH (> 1e-4)'}`);
  }
  for (const threads of opts.threads) {
    const last = (impl: Impl): string => median(results.filter((r) => r.impl === impl && r.threads === threads).map((r) => r.lastLoss)).toFixed(7);
    console.log(`loss after ${opts.warmup + opts.steps} steps on ${threads} thread(s): expnet TrainStep ${last('trainstep')}` +
      `${opts.eager ? `, eager ${last('eager')}` : ''}, PyTorch ${last('pytorch')}`);
  }
  console.log(`peak RSS: expnet (node, all paths) ${mib(process.resourceUsage().maxRSS)} (after libtorch load + init ${mib(nodeBaseKiB)}); ` +
    `PyTorch ${mib(pyMaxRssKiB)} (after import + load ${mib(pyBaseKiB)})`);
  console.log(`load average at end ${load()}; worst TrainStep/PyTorch ratio ${worst.toFixed(3)} (target ≥ 1.0, floor 0.95)`);
  if (!lossOk) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  console.error(`train-throughput failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
