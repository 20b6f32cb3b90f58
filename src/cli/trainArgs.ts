/** Options shared by `expnet train` and `expnet cv`: data, config file, --set overrides, run folder. */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../engine/safetensors.js';
import { join } from 'node:path';
import { detectFormat } from '../data/detectFormat.js';
import { ExpnetError } from '../errors.js';
import { deviceOfRank, resolveConfig, type TrainConfig } from '../train/config.js';
import type { DataFormat } from '../train/experiment.js';
import { detectEntryFormats, resolveDataEntries, type ResolvedEntry } from './dataArgs.js';
import { createRunContext, silentReporter, type Reporter, type RunContext } from '../train/runContext.js';
import { groupFromEnv, resolveGroupOptions, type DistBackend, type ProcessGroupOptions } from '../engine/distributed.js';
import { assertNativeBuilt } from '../engine/native.js';
import { setNumThreads } from '../engine/runtime.js';
import { resolvePrecision } from '../engine/autocast.js';
import { progressBar, type ProgressBar } from './progressBar.js';
import { acquireRunLock } from '../train/runLock.js';
import { clearRun, makeRunFolder, refuseTrainedRun } from '../train/runFolder.js';
import { checkResume, describeDifferences, type RunRecord } from '../train/runFingerprint.js';

export const TRAIN_OPTIONS = {
  data: { type: 'string', multiple: true },
  format: { type: 'string', multiple: true },
  weight: { type: 'string', multiple: true },
  method: { type: 'string' },
  config: { type: 'string' },
  set: { type: 'string', multiple: true },
  out: { type: 'string' },
  seed: { type: 'string' },
  resume: { type: 'boolean' },
  force: { type: 'boolean' },
  overwrite: { type: 'boolean' },
  'max-time': { type: 'string' },
  threads: { type: 'string' },
  device: { type: 'string' },
  precision: { type: 'string' },
  quiet: { type: 'boolean' },
  keep: { type: 'string' },
} as const;

/** `expnet train` only: local workers (--nproc), hosts, or this process's place in a group started elsewhere. */
export const DIST_OPTIONS = {
  nproc: { type: 'string' },
  nnodes: { type: 'string' },
  'node-rank': { type: 'string' },
  rank: { type: 'string' },
  'world-size': { type: 'string' },
  'master-addr': { type: 'string' },
  'master-port': { type: 'string' },
  'dist-timeout': { type: 'string' },
  backend: { type: 'string' },
} as const;

export interface DistArgs {
  nproc?: string | undefined;
  nnodes?: string | undefined;
  'node-rank'?: string | undefined;
  rank?: string | undefined;
  'world-size'?: string | undefined;
  'master-addr'?: string | undefined;
  'master-port'?: string | undefined;
  'dist-timeout'?: string | undefined;
  backend?: string | undefined;
}

/** The process group this process joins: --rank/--world-size/--master-addr/--master-port, else RANK, WORLD_SIZE, ... from the environment, else none. */
export function groupFromArgs(a: DistArgs, env: NodeJS.ProcessEnv = process.env): Required<ProcessGroupOptions> | null {
  const fromEnv = groupFromEnv(env);
  if (a['world-size'] === undefined && a.rank === undefined) {
    if (!fromEnv) return null;
    return resolveGroupOptions({ ...fromEnv, ...(a['dist-timeout'] ? { timeoutSec: Number(a['dist-timeout']) } : {}), ...(a.backend ? { backend: a.backend as DistBackend } : {}) });
  }
  if (a['world-size'] === undefined || a.rank === undefined) throw new ExpnetError('BAD_CONFIG', '--rank and --world-size go together');
  return resolveGroupOptions({
    rank: Number(a.rank),
    worldSize: Number(a['world-size']),
    masterAddr: a['master-addr'] ?? env['MASTER_ADDR'] ?? '127.0.0.1',
    masterPort: Number(a['master-port'] ?? env['MASTER_PORT'] ?? 29500),
    ...(a['dist-timeout'] ? { timeoutSec: Number(a['dist-timeout']) } : fromEnv ? { timeoutSec: fromEnv.timeoutSec } : {}),
    backend: (a.backend ?? fromEnv?.backend ?? 'gloo') as DistBackend,
  });
}

export interface TrainArgs {
  /** One data set, or several (repeated --data). */
  data?: string | string[] | undefined;
  format?: string | string[] | undefined;
  weight?: string | string[] | undefined;
  method?: string | undefined;
  config?: string | undefined;
  set?: string[] | undefined;
  out?: string | undefined;
  seed?: string | undefined;
  resume?: boolean | undefined;
  /** With --resume: continue although the epochs, device or precision differ from the saved run's. */
  force?: boolean | undefined;
  /** Start over in an --out that holds a run: its files are deleted first. */
  overwrite?: boolean | undefined;
  'max-time'?: string | undefined;
  threads?: string | undefined;
  device?: string | undefined;
  precision?: string | undefined;
  quiet?: boolean | undefined;
  keep?: string | undefined;
}

/** `a.b.c=value` → { a: { b: { c: value } } }; the value is JSON when it parses, else a string. */
export function setOverride(expr: string): Record<string, unknown> {
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new ExpnetError('BAD_CONFIG', `--set ${expr}: expected key.path=value`);
  let value: unknown;
  const raw = expr.slice(eq + 1);
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return expr
    .slice(0, eq)
    .split('.')
    .reduceRight<unknown>((v, k) => ({ [k]: v }), value) as Record<string, unknown>;
}

export interface Prepared {
  cfg: TrainConfig;
  /** The first data set (the only one of a single-data run). */
  data: string;
  format: DataFormat;
  /** Every data set of the run (src/cli/dataArgs.ts). */
  entries: ResolvedEntry[];
  /** Several data sets, weights or unlabelled faces: src/train/trainMix.ts trains it. */
  mix: boolean;
  ctx: RunContext;
  /** The progress bar of rank 0 (null on other ranks). */
  bar: ProgressBar | null;
}

/** This process's place on its host in a data-parallel run: LOCAL_RANK (set by the launcher), else the global rank. */
export function localRankFromEnv(rank: number, env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env['LOCAL_RANK'] ?? rank);
  if (!Number.isInteger(v) || v < 0) throw new ExpnetError('BAD_CONFIG', `LOCAL_RANK: expected an integer >= 0, got ${JSON.stringify(env['LOCAL_RANK'])}`);
  return v;
}

/**
 * Resolves the config (defaults ← --config file ← flags), prepares the run folder and saves the resolved config.
 * A worker of rank > 0 writes nothing and reports nothing (rank 0 does); it reads the run folder to resume.
 * In a data-parallel run (`localRank` given), device 'cuda' becomes this process's GPU, cuda:<localRank>; the
 * saved config keeps 'cuda'.
 */
export function prepareRun(a: TrainArgs, defaultOut: string, command: string, rank = 0, localRank: number | null = null): Prepared {
  const parsed = a.config ? (JSON.parse(readFileSync(a.config, 'utf8')) as unknown) : undefined;
  // The config file's `data` list names the data sets; the rest is the TrainConfig.
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  const { data: fileData, ...rest }: Record<string, unknown> = isObject ? (parsed as Record<string, unknown>) : {};
  const file = isObject ? rest : parsed;
  const list = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
  const given = resolveDataEntries({ data: list(a.data), format: list(a.format), weight: list(a.weight) }, fileData); // formats given are checked here, before the config resolves
  if (!given) throw new ExpnetError('BAD_CONFIG', '--data <folder or csv> is required');
  assertNativeBuilt();
  const flags: Record<string, unknown> = {};
  if (a.method) flags['method'] = a.method;
  if (a.seed) flags['seed'] = Number(a.seed);
  if (a['max-time']) flags['maxTimeSec'] = Number(a['max-time']);
  if (a.device) flags['device'] = a.device;
  if (a.precision) flags['precision'] = a.precision;
  const resolved = resolveConfig(file, flags, ...(a.set ?? []).map(setOverride));
  // 'auto' becomes what this machine trains with, so config.json, results.json and the card say what was used.
  const p = resolvePrecision(resolved.precision, resolved.device, a.precision ? '--precision' : 'config.precision');
  const cfg: TrainConfig = { ...resolved, precision: p.precision };
  const local = localRank === null ? cfg : { ...cfg, device: deviceOfRank(cfg.device, localRank) };
  // Detected once the config has resolved: a config error is reported without looking at the data.
  const { entries, detected } = detectEntryFormats(given.entries, detectFormat);
  const mix = given.mix;
  const first = entries[0];
  if (!first) throw new ExpnetError('BAD_CONFIG', '--data <folder or csv> is required');
  const { path: data } = first;
  // A single-data run reads one data set's format; 'unlabelled' makes a run a mix (src/cli/dataArgs.ts).
  const format = first.format as DataFormat;
  if (a.threads) setNumThreads(Number(a.threads));
  const out = a.out ?? defaultOut;
  if (a.resume && a.overwrite) throw new ExpnetError('BAD_CONFIG', '--resume continues the run in --out, --overwrite deletes it: give one of them');
  if (a.force && !a.resume) throw new ExpnetError('BAD_CONFIG', '--force goes with --resume (it lets a resumed run change its epochs, device or precision)');
  if (rank > 0) {
    const deadline = cfg.maxTimeSec ? Date.now() + cfg.maxTimeSec * 1000 : 0;
    return { cfg: local, data, format, entries, mix, ctx: { dir: out, seed: cfg.seed, resume: a.resume ?? false, deadline, reporter: silentReporter, log: () => {} }, bar: null };
  }
  const bar = progressBar(process.stderr, a.quiet ?? false);
  const record: RunRecord = mix ? { command, data: entries, config: cfg } : { command, data, format, config: cfg };
  openRunFolder(out, a, record, command, bar);
  const ctx = createRunContext(out, { seed: cfg.seed, resume: a.resume ?? false, maxTimeSec: cfg.maxTimeSec, reporter: bar });
  writeFileAtomic(join(out, 'config.json'), [Buffer.from(JSON.stringify(record, null, 1))]);
  for (const d of detected) ctx.reporter.message(`data format${mix ? ` of ${d.path}` : ''}: ${d.detection.format} (${d.detection.reason})`);
  ctx.reporter.message(`precision: ${p.precision} (${p.reason})`);
  return { cfg: local, data, format, entries, mix, ctx, bar };
}

/**
 * Before a run writes to `out`: the folder is a possible one and created, this process holds its lock (one
 * training per folder), and what is already there is continued (--resume, same config), deleted (--overwrite)
 * or, holding a trained run, refused.
 */
function openRunFolder(out: string, a: TrainArgs, record: RunRecord, command: string, reporter: Reporter): void {
  makeRunFolder(out);
  acquireRunLock(out, command, (t) => reporter.warn(t));
  if (a.resume) {
    const forced = checkResume(out, record, a.force ?? false);
    if (forced.length > 0) reporter.warn(`--force: the resumed run continues with ${describeDifferences(forced)}`);
  } else if (a.overwrite) {
    const removed = clearRun(out);
    if (removed.length > 0) reporter.message(`--overwrite: removed ${removed.join(', ')} from ${out}`);
  } else refuseTrainedRun(out);
}
