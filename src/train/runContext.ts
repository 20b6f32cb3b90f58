/** Where a run writes (its folder, metrics log) and how it reports progress; no console output in here. */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExpnetError, fsReason } from '../errors.js';

export interface Progress {
  stage: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  imagesPerSec: number;
  etaSec: number;
}

/** A stage a run will train, for a whole-run ETA: its epochs and training images per epoch. */
export interface StagePlan {
  name: string;
  epochs: number;
  images: number;
}

/** Receives progress; the CLI draws a bar, tests pass a silent one. */
export interface Reporter {
  progress(p: Progress): void;
  message(text: string): void;
  warn(text: string): void;
  /** The stages a training is about to run (in order), told once before the first. */
  plan?(stages: readonly StagePlan[]): void;
  /** Each metrics.jsonl record (per epoch: stage, epoch, loss, val, …), as it is logged. */
  record?(record: Readonly<Record<string, unknown>>): void;
}

export const silentReporter: Reporter = { progress: () => {}, message: () => {}, warn: () => {} };

export interface RunContext {
  dir: string;
  seed: number;
  resume: boolean;
  /** Epoch milliseconds after which training stops (0 = none); `stop()` moves it to now. */
  readonly deadline: number;
  reporter: Reporter;
  /** Training-step precision (trainMethod sets it from config.precision; absent = fp32). */
  precision?: 'fp32' | 'bf16';
  /** Appends one JSON line to metrics.jsonl (and shows it to the reporter). */
  log(record: Record<string, unknown>): void;
  /** Ends training after the current step, as a time limit does (the run stays resumable); e.g. on Ctrl-C. */
  stop?(): void;
}

export function createRunContext(dir: string, o: { seed: number; resume?: boolean; maxTimeSec?: number; reporter?: Reporter }): RunContext {
  mkdirSync(dir, { recursive: true });
  const metrics = join(dir, 'metrics.jsonl');
  if (!o.resume) writeFileSync(metrics, '');
  const earlier = o.resume ? loggedBefore(metrics) : new Set<string>();
  let deadline = o.maxTimeSec ? Date.now() + o.maxTimeSec * 1000 : 0;
  const reporter = o.reporter ?? silentReporter;
  return {
    dir,
    seed: o.seed,
    resume: o.resume ?? false,
    get deadline(): number {
      return deadline;
    },
    reporter,
    log: (record) => {
      // A resumed run repeats what its predecessor logged after its last checkpoint: that row is there already.
      if (!earlier.has(recordKey(record))) {
        try {
          appendFileSync(metrics, JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
        } catch (err) {
          throw new ExpnetError('WRITE_FAILED', `cannot append to ${metrics}: ${fsReason(err)}`, { cause: err });
        }
      }
      reporter.record?.(record);
    },
    stop: () => {
      deadline = 1;
    },
  };
}

/** Fields that tell one metrics.jsonl record from another of the same kind. */
const IDENTITY = ['run', 'fold', 'method', 'stage', 'epoch', 'data'];

/** What a record is about (which epoch of which stage, ...) and which fields it has, not its values. */
export function recordKey(record: Readonly<Record<string, unknown>>): string {
  const fields = Object.keys(record).filter((k) => k !== 'time').sort();
  return JSON.stringify([IDENTITY.map((k) => record[k] ?? null), fields]);
}

/**
 * The records of an existing metrics.jsonl (keys, see recordKey); a torn last line (a process killed while
 * appending) is cut off so the next record starts on its own line.
 */
function loggedBefore(file: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Set();
  }
  const keys = new Set<string>();
  const good: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      keys.add(recordKey(JSON.parse(line) as Record<string, unknown>));
      good.push(line);
    } catch {
      // torn or foreign line: dropped
    }
  }
  const clean = good.map((l) => l + '\n').join('');
  if (clean !== text) writeFileSync(file, clean);
  return keys;
}

/** A sub-folder context (e.g. one fold of a cross-validation) sharing reporter, deadline and stop. */
export function childContext(ctx: RunContext, name: string): RunContext {
  const dir = join(ctx.dir, name);
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    seed: ctx.seed,
    resume: ctx.resume,
    reporter: ctx.reporter,
    get deadline(): number {
      return ctx.deadline;
    },
    log: (r) => ctx.log({ run: name, ...r }),
    stop: () => ctx.stop?.(),
    ...(ctx.precision !== undefined ? { precision: ctx.precision } : {}),
  };
}

/** The same context training at `precision` (deadline and stop stay live: a spread would freeze the deadline). */
export function withPrecision(ctx: RunContext, precision: 'fp32' | 'bf16'): RunContext {
  return {
    dir: ctx.dir,
    seed: ctx.seed,
    resume: ctx.resume,
    reporter: ctx.reporter,
    get deadline(): number {
      return ctx.deadline;
    },
    log: (r) => ctx.log(r),
    stop: () => ctx.stop?.(),
    precision,
  };
}
