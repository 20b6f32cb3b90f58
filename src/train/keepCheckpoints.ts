/**
 * What a finished run keeps of its checkpoints: 'all' (default: every stage's resumable `<stage>.ckpt` with
 * optimiser state and its validation-selected `<stage>.best`), 'best' (only the `.best` weights: the run is
 * complete, so the optimiser state is dead weight) or 'last' (only the `.ckpt` of the last epoch, to continue
 * training). model.safetensors and the logs are never touched.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ExpnetError } from '../errors.js';

export const KEEP_MODES = ['all', 'best', 'last'] as const;
export type KeepMode = (typeof KEEP_MODES)[number];
export const DEFAULT_KEEP: KeepMode = 'all';

export function parseKeep(text: string | undefined): KeepMode {
  if (text === undefined) return DEFAULT_KEEP;
  if (!(KEEP_MODES as readonly string[]).includes(text)) throw new ExpnetError('BAD_CONFIG', `--keep: expected one of ${KEEP_MODES.join(', ')}, got '${text}'`);
  return text as KeepMode;
}

/** Deletes the checkpoints `keep` leaves out of `dir` (not recursive); returns the bytes kept and removed. */
export function keepCheckpoints(dir: string, keep: KeepMode): { kept: number; removed: number; files: string[] } {
  const out = { kept: 0, removed: 0, files: [] as string[] };
  for (const f of readdirSync(dir).sort()) {
    const kind = f.endsWith('.ckpt.safetensors') ? 'last' : f.endsWith('.best.safetensors') ? 'best' : null;
    if (kind === null) continue;
    const path = join(dir, f);
    const size = statSync(path).size;
    if (keep === 'all' || keep === kind) {
      out.kept += size;
      continue;
    }
    rmSync(path);
    out.removed += size;
    out.files.push(f);
  }
  return out;
}
