/**
 * Data parallelism over libtorch's c10d: one process group per process (TCPStore rendezvous + Gloo; NCCL with a
 * CUDA libtorch built with NCCL headers), collectives on tensors, and the settings PyTorch's launchers use
 * (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT). Gradient averaging itself happens inside TrainStep (libtorch's
 * DDP Reducer, see `TrainStepOptions.gradSync`). Collectives run off the JS thread; every rank must call the
 * same collectives in the same order.
 */
import { ExpnetError } from '../errors.js';
import { BUILD_NATIVE_COMMAND, native, type NativeAddon, type NativeTensor } from './native.js';
import { tensor } from './creation.js';
import type { Tensor } from './tensor.js';

export type DistBackend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Rendezvous and per-collective timeout (default 1800 s, PyTorch's); a dead peer is usually seen at once. */
  timeoutSec?: number;
  backend?: DistBackend;
}

export interface ProcessGroupInfo {
  rank: number;
  worldSize: number;
  backend: DistBackend;
  /** host:port of the TCPStore (rank 0). */
  master: string;
  timeoutMs: number;
}

/** The addon's c10d surface (src/dist.cc). */
export interface NativeDist {
  initProcessGroup(o: { rank: number; worldSize: number; masterAddr: string; masterPort: number; timeoutMs: number; backend: string }): Promise<void>;
  destroyProcessGroup(): void;
  processGroupInfo(): ProcessGroupInfo | null;
  distBackends(): string[];
  allReduce(tensors: NativeTensor[], op: ReduceOp): Promise<void>;
  broadcast(tensors: NativeTensor[], root: number): Promise<void>;
  barrier(): Promise<void>;
}

export function nativeDist(): NativeAddon & NativeDist {
  const n = native() as NativeAddon & Partial<NativeDist>;
  if (typeof n.initProcessGroup !== 'function') throw new ExpnetError('NATIVE', 'the libtorch addon predates c10d support; rebuild it with `' + BUILD_NATIVE_COMMAND + '`');
  return n as NativeAddon & NativeDist;
}

export const DEFAULT_TIMEOUT_SEC = 1800;

/** Backends compiled into the addon: [] when built without gloo headers. */
export function distBackends(): DistBackend[] {
  return nativeDist().distBackends().filter((b): b is DistBackend => b === 'gloo' || b === 'nccl');
}

function intIn(name: string, raw: string | number, lo: number, hi: number): number {
  const v = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ExpnetError('BAD_CONFIG', `${name}: expected an integer from ${lo} to ${hi}, got ${String(raw)}`);
  return v;
}

/** Checks and completes the options (the rank must be below the world size, the port in 1..65535). */
export function resolveGroupOptions(o: ProcessGroupOptions): Required<ProcessGroupOptions> {
  const worldSize = intIn('world size', o.worldSize, 1, 1 << 20);
  const timeoutSec = o.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  if (!(timeoutSec > 0)) throw new ExpnetError('BAD_CONFIG', `distributed timeout: expected seconds > 0, got ${timeoutSec}`);
  if (!o.masterAddr) throw new ExpnetError('BAD_CONFIG', 'master address: expected a host name or IP, got an empty string');
  const backend = o.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new ExpnetError('BAD_CONFIG', `backend: expected gloo or nccl, got ${String(backend)}`);
  return { rank: intIn('rank', o.rank, 0, worldSize - 1), worldSize, masterAddr: o.masterAddr, masterPort: intIn('master port', o.masterPort, 1, 65535), timeoutSec, backend };
}

/**
 * The group PyTorch's launchers describe in the environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; plus
 * EXPNET_DIST_TIMEOUT seconds and EXPNET_DIST_BACKEND), or null when WORLD_SIZE is unset.
 */
export function groupFromEnv(env: NodeJS.ProcessEnv = process.env): Required<ProcessGroupOptions> | null {
  const world = env['WORLD_SIZE'];
  if (world === undefined || world === '') return null;
  const missing = ['RANK', 'MASTER_ADDR', 'MASTER_PORT'].filter((k) => !env[k]);
  if (missing.length > 0) throw new ExpnetError('BAD_CONFIG', `WORLD_SIZE=${world} is set but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not`);
  return resolveGroupOptions({
    rank: Number(env['RANK']),
    worldSize: Number(world),
    masterAddr: env['MASTER_ADDR'] ?? '',
    masterPort: Number(env['MASTER_PORT']),
    timeoutSec: env['EXPNET_DIST_TIMEOUT'] ? Number(env['EXPNET_DIST_TIMEOUT']) : DEFAULT_TIMEOUT_SEC,
    backend: (env['EXPNET_DIST_BACKEND'] ?? 'gloo') as DistBackend,
  });
}

function nativeErr(err: unknown): ExpnetError {
  return new ExpnetError('NATIVE', (err as Error).message, { cause: err });
}

/** Joins the group: rank 0 serves the TCPStore at masterAddr:masterPort, every rank connects (bounded by the timeout). */
export async function initProcessGroup(options: ProcessGroupOptions): Promise<ProcessGroupInfo> {
  const o = resolveGroupOptions(options);
  const n = nativeDist();
  try {
    await n.initProcessGroup({ rank: o.rank, worldSize: o.worldSize, masterAddr: o.masterAddr, masterPort: o.masterPort, timeoutMs: Math.round(o.timeoutSec * 1000), backend: o.backend });
  } catch (err) {
    throw nativeErr(err);
  }
  const info = n.processGroupInfo();
  if (!info) throw new ExpnetError('NATIVE', 'initProcessGroup returned without a group');
  return info;
}

/** Leaves the group (no-op without one). */
export function destroyProcessGroup(): void {
  nativeDist().destroyProcessGroup();
}

/** The current group, or null in a single-process run. */
export function processGroup(): ProcessGroupInfo | null {
  return nativeDist().processGroupInfo();
}

/** Rank 0, or a single-process run: the process that writes checkpoints, logs and reports. */
export function isMainProcess(): boolean {
  return (processGroup()?.rank ?? 0) === 0;
}

/** Reduces the tensors across ranks in place (one message per dtype). */
export async function allReduce(tensors: readonly Tensor[], op: ReduceOp = 'sum'): Promise<void> {
  try {
    await nativeDist().allReduce(tensors.map((t) => t.handle), op);
  } catch (err) {
    throw nativeErr(err);
  }
}

/** Copies rank `root`'s values into the tensors of every rank, in place. */
export async function broadcast(tensors: readonly Tensor[], root = 0): Promise<void> {
  try {
    await nativeDist().broadcast(tensors.map((t) => t.handle), root);
  } catch (err) {
    throw nativeErr(err);
  }
}

export async function barrier(): Promise<void> {
  try {
    await nativeDist().barrier();
  } catch (err) {
    throw nativeErr(err);
  }
}

/** Plain numbers through a collective on one float64 tensor; without a group they come back unchanged. */
async function numbersVia(values: readonly number[], collective: (t: Tensor) => Promise<void>): Promise<number[]> {
  if (!processGroup() || values.length === 0) return [...values];
  const t = tensor(Float64Array.from(values));
  try {
    await collective(t);
    return Array.from(t.data() as Float64Array);
  } finally {
    t.dispose();
  }
}

/** All-reduces plain numbers (as float64): metric sums, counts, flags. Without a group, returns them unchanged. */
export const allReduceNumbers = (values: readonly number[], op: ReduceOp = 'sum'): Promise<number[]> => numbersVia(values, (t) => allReduce([t], op));

/** Rank `root`'s numbers on every rank (float64). Without a group, returns them unchanged. */
export const broadcastNumbers = (values: readonly number[], root = 0): Promise<number[]> => numbersVia(values, (t) => broadcast([t], root));
