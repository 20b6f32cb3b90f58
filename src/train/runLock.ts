/**
 * One training at a time per run folder: `<dir>/run.lock` holds the owner's PID, host, boot and process start
 * time. The file appears complete or not at all (written aside, then hard-linked into place: link fails when
 * the name exists). A lock whose process is gone (dead PID, another boot, a PID reused by another process) or
 * that another host wrote is stale: it is taken over with a warning. A live one is an error naming folder and PID.
 */
import { hostname } from 'node:os';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExpnetError, fsReason } from '../errors.js';

export const RUN_LOCK_FILE = 'run.lock';

export interface RunLockOwner {
  pid: number;
  host: string;
  /** Linux boot id ('' where there is none): the same PID after a reboot is another process. */
  boot: string;
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22; '' where unknown). */
  start: string;
  command: string;
  since: string;
}

const readText = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

const bootId = (): string => readText('/proc/sys/kernel/random/boot_id')?.trim() ?? '';

/** Fields of /proc/PID/stat after the parenthesised name (state first); [] where there is none. */
const statFields = (pid: number): string[] => {
  const stat = readText(`/proc/${pid}/stat`);
  return stat === null ? [] : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};

/** Start time of process `pid` (field 22 of /proc/PID/stat); '' when unknown. */
export function processStart(pid: number): string {
  return statFields(pid)[19] ?? '';
}

/** This process as a lock owner. */
export function selfOwner(command: string): RunLockOwner {
  return { pid: process.pid, host: hostname(), boot: bootId(), start: processStart(process.pid), command, since: new Date().toISOString() };
}

/** Why `owner` no longer holds its lock (a stale lock), or null when its process still runs. */
export function staleReason(owner: RunLockOwner): string | null {
  if (owner.host !== hostname()) return `it was taken on host ${owner.host}, this is ${hostname()}`;
  const boot = bootId();
  if (owner.boot !== boot) return 'it was taken before this machine last booted';
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ESRCH') return `process ${owner.pid} is no longer running`;
  }
  const [state, ...rest] = statFields(owner.pid);
  if (state === 'Z' || state === 'X') return `process ${owner.pid} has exited (its parent has not reaped it yet)`;
  const start = rest[18] ?? '';
  if (owner.start !== '' && start !== '' && start !== owner.start) return `process ${owner.pid} is no longer running (the PID now belongs to another process)`;
  return null;
}

function parseOwner(text: string | null): RunLockOwner | null {
  if (text === null) return null;
  try {
    const o = JSON.parse(text) as Partial<RunLockOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? { boot: '', start: '', command: '', since: '', ...o } as RunLockOwner : null;
  } catch {
    return null;
  }
}

export interface RunLock {
  file: string;
  /** Removes the lock if this process still holds it (also done at exit). */
  release(): void;
}

/**
 * Takes the run lock of `dir` (which must exist) for this process; `warn` is told when a stale lock is taken over.
 * @throws ExpnetError('BAD_CONFIG') when another live process holds it, naming the folder and that PID.
 */
export function acquireRunLock(dir: string, command: string, warn: (text: string) => void): RunLock {
  const file = join(dir, RUN_LOCK_FILE);
  const me = selfOwner(command);
  const text = JSON.stringify(me) + '\n';
  const tmp = join(dir, `.${RUN_LOCK_FILE}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
  } catch (err) {
    throw new ExpnetError('WRITE_FAILED', `cannot write the run lock in ${dir}: ${fsReason(err)}`, { cause: err });
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'EEXIST' || attempt >= 3) throw new ExpnetError('WRITE_FAILED', `cannot take the run lock ${file}: ${fsReason(err)}`, { cause: err });
      }
      const seen = readText(file);
      const owner = parseOwner(seen);
      if (owner === null && seen !== null && seen !== '') throw new ExpnetError('BAD_CONFIG', `${dir}: its run lock ${RUN_LOCK_FILE} is not readable as a lock; if no training uses this folder, delete the file`);
      const why = owner === null ? 'it is empty' : staleReason(owner);
      if (why === null && owner !== null) {
        throw new ExpnetError('BAD_CONFIG', `${dir} is in use by another training (PID ${owner.pid} on ${owner.host}, since ${owner.since}): two runs into one folder would mix their files; wait for it to end, or choose another --out`);
      }
      // Moved aside, then checked: only the process that moved this very lock takes it over.
      const aside = `${file}.stale.${process.pid}`;
      try {
        renameSync(file, aside);
      } catch {
        continue; // gone meanwhile: try again
      }
      const moved = readText(aside);
      if (moved !== seen) {
        try {
          linkSync(aside, file); // a live lock moved by mistake goes back
        } catch {
          // a third process took the name meanwhile
        }
        rmSync(aside, { force: true });
        throw new ExpnetError('BAD_CONFIG', `${dir}: another training took the run lock at the same moment; choose another --out or try again`);
      }
      rmSync(aside, { force: true });
      warn(`${dir}: took over a stale run lock (${why}${owner ? `; PID ${owner.pid} since ${owner.since}` : ''})`);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    const o = parseOwner(readText(file));
    if (o?.pid === process.pid && o.host === me.host) rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { file, release };
}
