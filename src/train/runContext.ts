/** Where a run writes (its folder, metrics log) and how it reports progress; no console output in here. */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** Receives progress; the CLI draws a bar, tests pass a silent one. */
export interface Reporter {
  progress(p: Progress): void;
  message(text: string): void;
  warn(text: string): void;
}

export const silentReporter: Reporter = { progress: () => {}, message: () => {}, warn: () => {} };

export interface RunContext {
  dir: string;
  seed: number;
  resume: boolean;
  /** Epoch milliseconds after which training stops (0 = none). */
  deadline: number;
  reporter: Reporter;
  /** Training-step precision (trainMethod sets it from config.precision; absent = fp32). */
  precision?: 'fp32' | 'bf16';
  /** Appends one JSON line to metrics.jsonl. */
  log(record: Record<string, unknown>): void;
}

export function createRunContext(dir: string, o: { seed: number; resume?: boolean; maxTimeSec?: number; reporter?: Reporter }): RunContext {
  mkdirSync(dir, { recursive: true });
  const metrics = join(dir, 'metrics.jsonl');
  if (!o.resume) writeFileSync(metrics, '');
  return {
    dir,
    seed: o.seed,
    resume: o.resume ?? false,
    deadline: o.maxTimeSec ? Date.now() + o.maxTimeSec * 1000 : 0,
    reporter: o.reporter ?? silentReporter,
    log: (record) => appendFileSync(metrics, JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n'),
  };
}

/** A sub-folder context (e.g. one fold of a cross-validation) sharing reporter and deadline. */
export function childContext(ctx: RunContext, name: string): RunContext {
  const dir = join(ctx.dir, name);
  mkdirSync(dir, { recursive: true });
  return { ...ctx, dir, log: (r) => ctx.log({ run: name, ...r }) };
}
