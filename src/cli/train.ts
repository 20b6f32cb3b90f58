/** `expnet train`: train one method on a data set's training split; save the model with its card. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { destroyProcessGroup, initProcessGroup } from '../engine/distributed.js';
import { ExpnetError } from '../errors.js';
import { ExpNet } from '../nets/expNet.js';
import { saveExpNetModel, type TrainingSet } from '../nets/modelCard.js';
import type { DataSet } from '../data/dataSet.js';
import type { TemperatureCalibration } from '../eval/temperature.js';
import type { TrainConfig } from '../train/config.js';
import { officialSplit, readDataSet, trainOnDataSet, type DataFormat } from '../train/experiment.js';
import { describeTrainingSet } from '../train/trainingSets.js';
import type { RunContext } from '../train/runContext.js';
import type { TrainedModel } from '../train/trainMethod.js';
import { trainOnMix } from '../train/trainMix.js';
import type { ResolvedEntry } from './dataArgs.js';
import { describeFailures, launchWorkers } from '../train/distributedLauncher.js';
import { keepCheckpoints, parseKeep } from '../train/keepCheckpoints.js';
import { DIST_OPTIONS, groupFromArgs, localRankFromEnv, prepareRun, TRAIN_OPTIONS } from './trainArgs.js';
import { resumeCommand, stopOnSigint, whereStopped } from './trainStop.js';
import { teacherEntry } from '../nets/teachers.js';

export const TRAIN_HELP = `expnet train --data <dir|csv> [--data <dir|csv> ...] [options]
  Trains on the data set's training split (FER2013: Training; PrivateTest is never read), selects the epoch on
  validation data carved from it, and reports accuracy on its test split (FER2013: PublicTest) if any.
  Several --data: one model on the 7 basic classes (CK+ contempt dropped), a validation carve per set (by
  subject/movie where known), the epoch chosen on the mean per-set validation accuracy (--set selection=pooled:
  on all carves together, each image counting the same), test splits (FER2013
  test/, SFEW Val/) scored per set and never trained on; results.json and splits.json per set.
  --format F      ckplus48|ckplus|fer2013|jaffe|oulu|sfew|tfd|folder|csv|unlabelled (default: detected from
                  the content); with several --data, once per --data in the same order (auto = detect);
                  unlabelled: a folder of face images without labels, for fn2en's stage (a) only (stageA.data)
  --weight W      sampling weight per --data (same order; default 1): an epoch draws from each set in
                  proportion to weight × size; a config file's data list [{ path, format?, weight?, labelled? }]
                  does the same
  Calibration: a temperature fitted on the validation carve goes into the model card (and the exported graph).
  --method M      fn2en (default) | finetune | scratch
  --config FILE   JSON config (see src/train/config.ts); --set key.path=value overrides (repeatable)
  --out DIR       run folder (default runs/<method>-<timestamp>); holds config.json, metrics.jsonl,
                  checkpoints, results.json and model.safetensors; one training at a time (run.lock:
                  a second one is refused naming the PID; a dead process's lock is taken over)
  --resume        continue the run in --out; its config.json must match (seed, method, data, format and
                  every other key; --max-time may change); a difference is an error naming the keys
  --force         with --resume: let the epochs (teacher.stage/stageA/stageB.epochs, of a stage no later
                  stage has trained from), device and precision differ from the saved run's; nothing else
  --overwrite     --out holds a trained run (checkpoints, results, logged epochs): delete its files and
                  start over (without --resume or --overwrite such an --out is refused)
  --max-time S    stop after S seconds (resumable)
  --device D      cpu (default) | cuda | cuda:N; CUDA needs the addon built against a CUDA libtorch
                  (docs/DISTRIBUTED.md); with --nproc, worker i trains on cuda:i
  --precision P   auto (default) | bf16 | fp32: bf16 trains under libtorch's autocast (bfloat16 convolutions and
                  matmuls; weights, gradients, optimiser state, losses and checkpoints stay float32), 1.5-1.8x
                  faster where the CPU has native bfloat16; auto picks bf16 on such a CPU (avx512_bf16 or AMX
                  in /proc/cpuinfo), fp32 elsewhere and on CUDA. bf16 on a CPU without it is an error (it
                  would be emulated, slower). fp32 for bitwise comparisons with earlier fp32 runs.
  --keep K        checkpoints a finished run keeps: all (default) | best (each stage's selected weights
                  only) | last (each stage's resumable last epoch only); model.safetensors is always kept
  --seed N  --threads N  --quiet
  Ctrl-C stops after the current step and prints how to resume (the last finished epoch is the resume point).
 Data parallel (libtorch c10d, Gloo; see docs/DISTRIBUTED.md); the config's batch size is the global batch:
  --nproc N       launch N worker processes on this host (like torchrun; cores/N threads each)
  --nnodes H --node-rank I --master-addr HOST --master-port P
                  several hosts: the same command on every host, I = 0..H-1, HOST = node 0, same --out
  --rank R --world-size W [--master-addr HOST --master-port P]
                  join a group as one process (or set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)
  --dist-timeout S  rendezvous and collective timeout (default 1800)   --backend gloo|nccl (nccl: GPUs)`;

const LAUNCHER_ONLY = new Set(['nproc', 'nnodes', 'node-rank', 'master-addr', 'master-port']);

/** `expnet train --nproc N ...`: the same command in N workers (with RANK, WORLD_SIZE, ...); returns the first failure's code. */
async function launchTraining(v: { nproc?: string | undefined; nnodes?: string | undefined; 'node-rank'?: string | undefined; 'master-addr'?: string | undefined; 'master-port'?: string | undefined; out?: string | undefined; method?: string | undefined }, rest: string[]): Promise<number> {
  const nnodes = Number(v.nnodes ?? 1);
  if (nnodes > 1 && !v.out) throw new ExpnetError('BAD_CONFIG', 'several hosts need --out (the same run folder on every host)');
  const out = v.out ?? join('runs', `${v.method ?? 'fn2en'}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const script = process.argv[1];
  if (!script) throw new ExpnetError('NOT_FOUND', 'cannot tell which script to start the workers with (process.argv[1] is empty)');
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const lineStart = new Map<number, boolean>();
  const r = await launchWorkers({
    nproc: Number(v.nproc ?? 1),
    nnodes,
    nodeRank: Number(v['node-rank'] ?? 0),
    ...(v['master-addr'] ? { masterAddr: v['master-addr'] } : {}),
    ...(v['master-port'] ? { masterPort: Number(v['master-port']) } : {}),
    argv: [script, 'train', ...rest, ...(v.out ? [] : ['--out', out])],
    signal: abort.signal,
    output: (rank, stream, chunk) => {
      const sink = stream === 'stdout' ? process.stdout : process.stderr;
      if (rank === 0) return void sink.write(chunk);
      const text = chunk.toString('utf8');
      const atStart = lineStart.get(rank) ?? true;
      sink.write((atStart ? `[rank ${rank}] ` : '') + text.replace(/\n(?=.)/g, `\n[rank ${rank}] `));
      lineStart.set(rank, text.endsWith('\n'));
    },
  });
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (r.exitCode !== 0) process.stderr.write(`expnet train: ${describeFailures(r.failures)}; continue with the same command plus --resume --out ${out}\n`);
  return r.exitCode;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values, tokens } = parseArgs({ args: argv, options: { ...TRAIN_OPTIONS, ...DIST_OPTIONS }, strict: true, tokens: true });
  if (values.nproc !== undefined || values.nnodes !== undefined) {
    const drop = new Set<number>();
    for (const t of tokens)
      if (t.kind === 'option' && LAUNCHER_ONLY.has(t.name)) {
        drop.add(t.index);
        if (t.value !== undefined && !t.inlineValue) drop.add(t.index + 1);
      }
    return launchTraining(values, argv.filter((_, i) => !drop.has(i)));
  }
  const group = groupFromArgs(values);
  if (group && group.worldSize > 1 && !values.out) throw new ExpnetError('BAD_CONFIG', '--out is required when several processes train together (one run folder for all ranks)');
  if (group) await initProcessGroup(group);
  const main = (group?.rank ?? 0) === 0;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const keep = parseKeep(values.keep);
  const command = ['expnet train', ...argv].join(' ');
  const { cfg, data, format, entries, mix, ctx, bar } = prepareRun(values, join('runs', `${values.method ?? 'fn2en'}-${stamp}`), command, group?.rank ?? 0, group ? localRankFromEnv(group.rank) : null);
  const resume = resumeCommand('expnet train', argv, ctx.dir);
  const sigint = main && !group ? stopOnSigint(ctx, () => bar?.last() ?? null, resume) : null;
  let run: CliRun;
  try {
    run = mix ? await mixRun(entries, cfg, ctx) : await singleRun(await readDataSet(format, data, (t) => ctx.reporter.warn(t)), format, cfg, ctx);
  } finally {
    sigint?.uninstall();
  }
  if (!main) {
    run.trained.dispose();
    destroyProcessGroup();
    return 0;
  }
  if (run.trained.interrupted) {
    const why = sigint?.stopped ? 'Ctrl-C' : '--max-time';
    process.stdout.write(`${cfg.method}: stopped by ${why} during ${whereStopped(bar?.last() ?? null)}; the epochs finished before it are saved in ${ctx.dir}; continue with:\n  ${resume}\n`);
    run.trained.dispose();
    return sigint?.stopped ? 130 : 0;
  }
  if (run.trained.model instanceof ExpNet) {
    const path = join(ctx.dir, 'model.safetensors');
    const c = run.calibration;
    saveExpNetModel(path, run.trained.model, {
      name: `expnet-${run.name}-${cfg.method}`,
      task: 'expression',
      arch: 'expnet',
      input: { size: cfg.student.inputSize, channels: cfg.student.inChannels, range: [0, 1], layout: 'NCHW' },
      labels: run.labels,
      config: run.trained.model.config,
      method: cfg.method,
      training: { data: run.data, sets: run.sets, command, seed: cfg.seed, precision: cfg.precision === 'bf16' ? 'bf16' : 'fp32', epochs: { stageA: cfg.stageA.epochs, stageB: cfg.stageB.epochs, teacher: cfg.teacher.stage.epochs }, ...(cfg.method === 'scratch' ? {} : { teacher: { net: cfg.teacher.net, inputSize: cfg.teacher.inputSize, frozenUntil: cfg.teacher.frozenUntil, target: cfg.stageA.target } }) },
      metrics: run.metrics,
      ...(c ? { calibration: { temperature: c.temperature, eceBefore: c.eceBefore, eceAfter: c.eceAfter } } : {}),
      classFrequencies: run.classFrequencies,
      classPrior: run.classPrior,
      licence: 'weights: MIT (expnet); trained on research data whose terms apply to derived models',
      provenance: `expnet FaceNet2ExpNet training; teacher: ${cfg.method === 'scratch' ? 'none (trained from scratch)' : teacherEntry(cfg.teacher.net).provenance}`,
      created: new Date().toISOString(),
    });
    ctx.reporter.message(`model saved: ${path}`);
  }
  process.stdout.write(run.summary);
  run.trained.dispose();
  const kept = keepCheckpoints(ctx.dir, keep);
  if (kept.removed > 0) ctx.reporter.message(`--keep ${keep}: removed ${kept.files.join(', ')} (${mb(kept.removed)}); ${mb(kept.kept)} of checkpoints kept`);
  return 0;
}

const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** What the CLI saves and prints of a run, single- or multi-data. */
interface CliRun {
  trained: TrainedModel;
  name: string;
  data: string;
  /** Per data set, what was never trained on (the card's training.sets). */
  sets: TrainingSet[];
  labels: string[];
  metrics: Record<string, number>;
  calibration: TemperatureCalibration | null;
  classFrequencies: number[];
  classPrior: number[];
  summary: string;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

async function singleRun(ds: DataSet, format: DataFormat, cfg: TrainConfig, ctx: RunContext): Promise<CliRun> {
  const run = await trainOnDataSet(ds, cfg, ctx);
  const summary =
    `${cfg.method}: validation accuracy ${run.valAccuracy === null ? 'n/a' : pct(run.valAccuracy)}` +
    (run.test ? `, ${run.testName} accuracy ${pct(run.test.accuracy)} (balanced ${pct(run.test.balancedAccuracy)})` : '') +
    '\n';
  return {
    trained: run.trained, name: ds.name, data: `${ds.name} (${format})`, sets: [describeTrainingSet(ds.name, ds, officialSplit(ds).train)], labels: [...ds.labels],
    metrics: { ...(run.valAccuracy !== null ? { valAccuracy: run.valAccuracy } : {}), ...(run.test ? { [`${run.testName ?? 'test'}Accuracy`]: run.test.accuracy } : {}) },
    calibration: run.calibration, classFrequencies: run.classFrequencies, classPrior: run.classPrior, summary,
  };
}

async function mixRun(entries: ResolvedEntry[], cfg: TrainConfig, ctx: RunContext): Promise<CliRun> {
  const run = await trainOnMix(entries, cfg, ctx);
  const metrics: Record<string, number> = run.valAccuracy !== null ? { valAccuracy: run.valAccuracy } : {};
  const lines = [`${cfg.method}: validation accuracy ${run.valAccuracy === null ? 'n/a' : pct(run.valAccuracy)} (pooled)`];
  for (const s of run.sets) {
    if (s.validation) metrics[`${s.name}.valAccuracy`] = s.validation.accuracy;
    if (s.test) metrics[`${s.name}.${s.testName ?? 'test'}Accuracy`] = s.test.accuracy;
    if (s.labelled) lines.push(`  ${s.name}: validation ${s.validation ? pct(s.validation.accuracy) : 'n/a'}${s.test ? `, ${s.testName} ${pct(s.test.accuracy)} (balanced ${pct(s.test.balancedAccuracy)})` : ''}`);
  }
  const data = run.sets.map((s) => `${s.name} (${s.format}, weight ${s.weight}${s.labelled ? '' : ', unlabelled'})`).join(' + ');
  return { trained: run.trained, name: 'mix', data, sets: run.sets.map((s) => s.seen), labels: run.labels, metrics, calibration: run.calibration, classFrequencies: run.classFrequencies, classPrior: run.classPrior, summary: lines.join('\n') + '\n' };
}
