/**
 * The run folder (`--out`) before a training writes to it: a path it can be (not a file, not on a virtual file
 * system such as /proc, where Node's recursive mkdir spins), whether it already holds a run, and clearing one
 * for `--overwrite`. Only a run's own files are removed; anything else in the folder stays.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExpnetError, fsReason } from '../errors.js';

/** Files a training writes at the top of its folder (checkpoints and leftovers matched by `isRunFile`). */
const RUN_FILES = ['config.json', 'metrics.jsonl', 'results.json', 'splits.json', 'model.safetensors'];
/** A cross-validation fold's own run folder (src/train/experiment.ts `crossValidate`). */
const FOLD_DIR = /^fold\d+-[a-z0-9]+$/;
/** statfs f_type of proc and sysfs: files there are not files, and `mkdir -p` below them loops. */
const VIRTUAL_FS = new Map([[0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x64626720, 'debugfs'], [0x74726163, 'tracefs'], [0x73636673, 'securityfs'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2']]);

const isRunFile = (name: string): boolean => RUN_FILES.includes(name) || name.endsWith('.safetensors') || /\.safetensors\.tmp-\d+-\d+$/.test(name);

/** The nearest folder of `path` (or `path` itself) that exists. */
function nearestExisting(path: string): string {
  let p = resolve(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/**
 * Checks `--out` and creates it.
 * @throws ExpnetError('BAD_CONFIG') for an existing file, a path on a virtual file system, or one that cannot be created.
 */
export function makeRunFolder(out: string, flag = '--out'): void {
  const base = nearestExisting(out);
  let kind: string | undefined;
  try {
    kind = VIRTUAL_FS.get(statfsSync(base).type);
  } catch {
    kind = undefined;
  }
  if (kind === undefined && /^\/(proc|sys)(\/|$)/.test(resolve(out))) kind = resolve(out).split('/')[1];
  if (kind !== undefined) throw new ExpnetError('BAD_CONFIG', `${flag} ${out}: ${base} is on a virtual file system (${kind}), not a disk; choose a run folder on a disk`);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new ExpnetError('BAD_CONFIG', `${flag} ${out}: expected a run folder, got an existing file`);
  try {
    mkdirSync(out, { recursive: true });
  } catch (err) {
    throw new ExpnetError('BAD_CONFIG', `${flag} ${out}: cannot create the run folder: ${fsReason(err)}`, { cause: err });
  }
}

/** What of a training run `dir` holds: its trained files (checkpoints, results, a non-empty log), top level and folds. */
export function runFilesIn(dir: string): string[] {
  const found: string[] = [];
  const visit = (d: string, prefix: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && FOLD_DIR.test(e.name) && prefix === '') visit(join(d, e.name), `${e.name}/`);
      else if (e.isFile() && isRunFile(e.name) && e.name !== 'config.json' && (e.name !== 'metrics.jsonl' || statSync(join(d, e.name)).size > 0)) found.push(prefix + e.name);
    }
  };
  visit(dir, '');
  return found.sort();
}

/**
 * Refuses to start a new run over a trained one: `dir` holding checkpoints, results or logged epochs needs
 * `--resume` (continue it) or `--overwrite` (start over). A folder with only a config.json (a run that stopped
 * before training) is reused.
 */
export function refuseTrainedRun(dir: string): void {
  const files = runFilesIn(dir);
  if (files.length === 0) return;
  const finished = files.includes('model.safetensors') || files.includes('results.json');
  const shown = files.slice(0, 4).join(', ') + (files.length > 4 ? `, … (${files.length} files)` : '');
  throw new ExpnetError('BAD_CONFIG', `--out ${dir} already holds a${finished ? ' finished' : 'n unfinished'} training run (${shown}): continue it with --resume${finished ? ' (a finished run only re-scores and re-saves its model)' : ''}, or start over with --overwrite (deletes that run's files), or choose another --out`);
}

/** `--overwrite`: deletes the training run in `dir` (its files and fold folders; nothing else). Returns what was removed. */
export function clearRun(dir: string): string[] {
  const files = runFilesIn(dir);
  if (files.length > 0 && !existsSync(join(dir, 'config.json'))) {
    throw new ExpnetError('BAD_CONFIG', `--overwrite: ${dir} holds ${files[0]} but no config.json, so it is not an expnet run folder; delete its files yourself or choose another --out`);
  }
  if (existsSync(join(dir, 'config.json'))) {
    const cfg = readFileSync(join(dir, 'config.json'), 'utf8');
    if (!/"command":\s*"expnet /.test(cfg)) throw new ExpnetError('BAD_CONFIG', `--overwrite: ${join(dir, 'config.json')} is not an expnet run's config; delete it yourself or choose another --out`);
  }
  const removed: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory() && FOLD_DIR.test(e.name)) {
      for (const f of readdirSync(path)) if (isRunFile(f)) rmSync(join(path, f));
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
      removed.push(`${e.name}/`);
    } else if (e.isFile() && isRunFile(e.name)) {
      rmSync(path);
      removed.push(e.name);
    }
  }
  return removed.sort();
}
