/**
 * What identifies a run: its resolved config, data sets and formats, saved as config.json. `--resume` compares
 * the new ones with the saved ones key by key: continuing another run's checkpoints with another seed, method
 * or data would train a hybrid. A few keys may change: the time limit freely, and with `--force` the epochs
 * (of a stage whose successors have not started), the device and the precision.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExpnetError } from '../errors.js';
import { TRAIN_DEFAULTS, type TrainConfig } from './config.js';
import type { ResolvedEntry } from './dataMix.js';

/** config.json of a run folder: the command, its data (one path and format, or a mix's entries) and the config. */
export interface RunRecord {
  command: string;
  data: string | ResolvedEntry[];
  format?: string;
  config: TrainConfig;
}

/** Config keys a resume may change without --force: limits of this session, not properties of the run. */
export const RESUME_FREE_KEYS: readonly string[] = ['maxTimeSec'];
/** Config keys `--force` lets a resume change: the stages' epochs, where and in which number format it trains. */
export const RESUME_FORCE_KEYS: readonly string[] = ['teacher.stage.epochs', 'stageA.epochs', 'stageB.epochs', 'device', 'precision'];
/** Stages in training order, and the epochs key of each. */
const STAGES: readonly [string, string][] = [['teacher', 'teacher.stage.epochs'], ['stageA', 'stageA.epochs'], ['stageB', 'stageB.epochs']];

export interface Difference {
  key: string;
  was: unknown;
  now: unknown;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const at = (o: unknown, key: string): unknown => key.split('.').reduce<unknown>((v, k) => (isPlain(v) ? v[k] : undefined), o);

/** Leaf keys (a.b.c) whose values differ; a key missing from `was` (an older run) counts as its default. */
export function configDifferences(was: unknown, now: unknown, defaults: unknown = TRAIN_DEFAULTS, prefix = ''): Difference[] {
  if (isPlain(now)) {
    return Object.keys(now).flatMap((k) => {
      const key = prefix ? `${prefix}.${k}` : k;
      const old = isPlain(was) && k in was ? was[k] : at(defaults, key);
      return configDifferences(old, now[k], defaults, key);
    });
  }
  return JSON.stringify(was) === JSON.stringify(now) ? [] : [{ key: prefix, was, now }];
}

const samePath = (a: unknown, b: unknown): boolean => typeof a === 'string' && typeof b === 'string' && (a === b || resolve(a) === resolve(b));

/** The data sets' differences: path (compared resolved), format, weight, labelled, per entry. */
export function dataDifferences(was: Pick<RunRecord, 'data' | 'format'>, now: Pick<RunRecord, 'data' | 'format'>): Difference[] {
  const list = (r: Pick<RunRecord, 'data' | 'format'>): Record<string, unknown>[] => (Array.isArray(r.data) ? r.data.map((e) => ({ ...e })) : [{ path: r.data, format: r.format }]);
  const a = list(was);
  const b = list(now);
  const out: Difference[] = [];
  const name = (i: number, k: string): string => (a.length === 1 && b.length === 1 ? (k === 'path' ? 'data' : k) : `data[${i + 1}].${k}`);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) {
      out.push({ key: `data[${i + 1}]`, was: x?.['path'] ?? '(none)', now: y?.['path'] ?? '(none)' });
      continue;
    }
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const same = k === 'path' ? samePath(x[k], y[k]) : JSON.stringify(x[k]) === JSON.stringify(y[k]);
      if (!same) out.push({ key: name(i, k), was: x[k], now: y[k] });
    }
  }
  return out;
}

const show = (d: Difference): string => `${d.key}: ${JSON.stringify(d.was) ?? '(none)'} → ${JSON.stringify(d.now) ?? '(none)'}`;

/** A stage's checkpoint in `dir` or in one of its cross-validation fold folders. */
function hasCheckpoint(dir: string, stage: string): boolean {
  const names = [`${stage}.ckpt.safetensors`, `${stage}.best.safetensors`];
  const dirs = [dir, ...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name))];
  return dirs.some((d) => names.some((n) => existsSync(join(d, n))));
}

/**
 * Compares the run about to resume in `dir` with its saved config.json; returns the forced differences (to be
 * reported). Nothing saved (a run stopped before writing it): nothing to compare, an empty list.
 * @throws ExpnetError('BAD_CONFIG') naming every key that differs, unless all of them may be (and are) forced.
 */
export function checkResume(dir: string, now: RunRecord, force: boolean): Difference[] {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return [];
  let saved: RunRecord;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
  } catch (cause) {
    throw new ExpnetError('BAD_CONFIG', `--resume: ${file} is not valid JSON, so the run's config cannot be checked; start over with --overwrite`, { cause });
  }
  const diffs = [...dataDifferences(saved, now), ...configDifferences(saved.config, now.config).filter((d) => !RESUME_FREE_KEYS.includes(d.key))];
  if (diffs.length === 0) return [];
  const stuck = diffs.filter((d) => !RESUME_FORCE_KEYS.includes(d.key));
  // More epochs for a stage whose successor has trained would change what the successor's checkpoint started from.
  for (const d of diffs) {
    const i = STAGES.findIndex(([, key]) => key === d.key);
    const later = STAGES.slice(i + 1).find(([stage]) => hasCheckpoint(dir, stage));
    if (i >= 0 && later) stuck.push({ ...d, key: `${d.key} (${later[0]} has already trained from it)` });
  }
  const what = `--resume: ${dir} was trained with another config: ${diffs.map(show).join(', ')}`;
  if (stuck.length > 0) {
    // Only keys that cannot change at all: the list of differences says it. Some that --force could change: say which cannot.
    const mixed = stuck.some((d) => RESUME_FORCE_KEYS.includes(d.key.split(' ')[0] ?? '')) || diffs.some((d) => RESUME_FORCE_KEYS.includes(d.key));
    const why = !mixed ? '' : `; ${stuck.map((d) => d.key).join(', ')} cannot change on resume, even with --force (it allows only ${RESUME_FORCE_KEYS.join(', ')}, and a stage's epochs only while no later stage has trained)`;
    throw new ExpnetError('BAD_CONFIG', `${what}${why}. Resume with the run's own settings (its config.json), or start over with --overwrite, or choose another --out`);
  }
  if (!force) throw new ExpnetError('BAD_CONFIG', `${what}. These may change on resume with --force (the run continues with the new values), or resume with the run's own settings`);
  return diffs;
}

export const describeDifferences = (diffs: readonly Difference[]): string => diffs.map(show).join(', ');
