/**
 * A local launcher like `torchrun`: starts N worker processes with PyTorch's rendezvous variables (RANK,
 * WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), forwards their output, and when one fails gives the others
 * a grace period to stop by themselves (c10d reports the dead peer) before terminating them, so a run never hangs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { ExpnetError } from '../errors.js';

export interface LaunchOptions {
  /** Workers on this host. */
  nproc: number;
  /** Node arguments of each worker after the flags: the script and its arguments. */
  argv: readonly string[];
  /** Node flags of each worker (default: this process's, e.g. `--import tsx`). */
  execArgv?: readonly string[];
  /** Hosts in the run (default 1) and this host's index: global rank = nodeRank * nproc + local rank. */
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  /** Default: a free port on this host (single host only). */
  masterPort?: number;
  env?: NodeJS.ProcessEnv;
  /** libtorch threads per worker (EXPNET_NUM_THREADS; default: cores / nproc, at least 1) unless env sets it. */
  threadsPerProcess?: number;
  /** After a worker fails, seconds the others get to stop by themselves before SIGTERM (then SIGKILL 5 s later). */
  graceSec?: number;
  /** Receives every chunk a worker writes (default: dropped). */
  output?: (rank: number, stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Aborting terminates all workers. */
  signal?: AbortSignal;
}

export interface WorkerExit {
  rank: number;
  code: number | null;
  signal: string | null;
}

export interface LaunchResult {
  /** 0 when every worker succeeded, else the first failure's exit code (1 for a signal). */
  exitCode: number;
  /** Workers that failed, in the order they ended (the first one is the cause; the rest were stopped). */
  failures: WorkerExit[];
}

/** A TCP port that was free a moment ago on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function launchWorkers(o: LaunchOptions): Promise<LaunchResult> {
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  if (!Number.isInteger(o.nproc) || o.nproc < 1) throw new ExpnetError('BAD_CONFIG', `--nproc: expected an integer >= 1, got ${o.nproc}`);
  if (!Number.isInteger(nnodes) || nnodes < 1 || !Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes)
    throw new ExpnetError('BAD_CONFIG', `--nnodes ${nnodes} --node-rank ${nodeRank}: expected nnodes >= 1 and 0 <= node-rank < nnodes`);
  if (nnodes > 1 && (!o.masterAddr || !o.masterPort))
    throw new ExpnetError('BAD_CONFIG', 'several hosts need --master-addr (the host of node-rank 0, reachable from all) and --master-port');
  const masterAddr = o.masterAddr ?? '127.0.0.1';
  const masterPort = o.masterPort ?? (await freePort(masterAddr));
  const world = nnodes * o.nproc;
  const env = o.env ?? process.env;
  const threads = o.threadsPerProcess ?? Math.max(1, Math.floor(availableParallelism() / o.nproc));
  const children: ChildProcess[] = [];
  const failures: WorkerExit[] = [];
  let stopping: NodeJS.Timeout | undefined;
  let killing: NodeJS.Timeout | undefined;
  const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
  const stopAll = (): void => {
    for (const c of children) if (alive(c)) c.kill('SIGTERM');
    killing ??= setTimeout(() => children.forEach((c) => alive(c) && c.kill('SIGKILL')), 5000);
  };
  const onAbort = (): void => stopAll();
  o.signal?.addEventListener('abort', onAbort);

  const exits = Array.from({ length: o.nproc }, (_, local) => {
    const rank = nodeRank * o.nproc + local;
    const child = spawn(process.execPath, [...(o.execArgv ?? process.execArgv), ...o.argv], {
      env: {
        ...env,
        RANK: String(rank),
        LOCAL_RANK: String(local),
        WORLD_SIZE: String(world),
        LOCAL_WORLD_SIZE: String(o.nproc),
        MASTER_ADDR: masterAddr,
        MASTER_PORT: String(masterPort),
        EXPNET_NUM_THREADS: env['EXPNET_NUM_THREADS'] ?? String(threads),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    child.stdout?.on('data', (d: Buffer) => o.output?.(rank, 'stdout', d));
    child.stderr?.on('data', (d: Buffer) => o.output?.(rank, 'stderr', d));
    return new Promise<void>((resolve) => {
      child.once('error', () => {
        failures.push({ rank, code: 127, signal: null });
        resolve();
      });
      child.once('close', (code, signal) => {
        if (code !== 0) {
          failures.push({ rank, code, signal });
          stopping ??= setTimeout(stopAll, (o.graceSec ?? 30) * 1000);
        }
        resolve();
      });
    });
  });
  await Promise.all(exits);
  clearTimeout(stopping);
  clearTimeout(killing);
  o.signal?.removeEventListener('abort', onAbort);
  const first = failures[0];
  return { exitCode: first ? (first.code ?? 1) || 1 : 0, failures };
}

/** `rank 1 exited with code 3; rank 0 with code 1` */
export function describeFailures(failures: readonly WorkerExit[]): string {
  return failures.map((f) => `rank ${f.rank} ${f.signal ? `was ended by ${f.signal}` : `exited with code ${f.code}`}`).join('; ');
}
