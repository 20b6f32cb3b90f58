/** Process-wide engine settings: seeds, threads, grad mode, devices, live-tensor count. */
import { ExpnetError } from '../errors.js';
import { native } from './native.js';
import { Tensor, type Device } from './tensor.js';

/** Seeds libtorch's default generator (initialisation, dropout, rand*). */
export function manualSeed(seed: number): void {
  native().manualSeed(seed);
}

/** Intra-op threads for libtorch (default: all cores, or EXPNET_NUM_THREADS). */
export function setNumThreads(n: number): void {
  native().setNumThreads(n);
}
export function getNumThreads(): number {
  return native().getNumThreads();
}

/** Runs `fn` with autograd recording off (inference, parameter updates by hand). */
export function noGrad<T>(fn: () => T): T {
  const prev = native().setGradEnabled(false);
  try {
    return fn();
  } finally {
    native().setGradEnabled(prev);
  }
}

/** Native tensors alive right now (handles not yet disposed or collected): for leak tests. */
export function liveTensors(): number {
  return native().liveTensors();
}

/** Whether this libtorch build has CUDA and sees at least one GPU (false with Debian's CPU-only libtorch). */
export function cudaAvailable(): boolean {
  return native().cudaAvailable();
}
/** CUDA devices libtorch sees (0 without CUDA). */
export function cudaDeviceCount(): number {
  return native().cudaDeviceCount();
}

export const NO_CUDA_HINT = 'this libtorch build has no CUDA; build the addon with LIBTORCH=<a CUDA libtorch>, see docs/DISTRIBUTED.md';

/**
 * Checks a device name before any tensor goes there: 'cpu', 'cuda' or 'cuda:N' with N below the GPU count. A CUDA
 * device on a libtorch without CUDA is a BAD_CONFIG ExpnetError (never a libtorch crash); `where` names the caller
 * (a config path, a flag) in the message.
 */
export function checkDevice(device: string, where = 'device'): Device {
  const m = /^cuda(?::(\d+))?$/.exec(device);
  if (device === 'cpu') return 'cpu';
  if (!m) throw new ExpnetError('BAD_CONFIG', `${where}: expected 'cpu', 'cuda' or 'cuda:N', got ${JSON.stringify(device)}`);
  const count = cudaAvailable() ? cudaDeviceCount() : 0;
  if (count === 0) throw new ExpnetError('BAD_CONFIG', `${where}: '${device}' was asked for but ${NO_CUDA_HINT}`);
  const index = m[1] === undefined ? null : Number(m[1]);
  if (index !== null && index >= count) {
    throw new ExpnetError('BAD_CONFIG', `${where}: '${device}' does not exist (libtorch sees ${count} CUDA device${count > 1 ? 's' : ''}: cuda:0${count > 1 ? `..cuda:${count - 1}` : ''})`);
  }
  return device as Device;
}

/** The state of libtorch's CPU generator (uint8 tensor), for checkpoints. */
export function getRngState(): Tensor {
  return new Tensor(native().getRngState());
}
export function setRngState(state: Tensor): void {
  native().setRngState(state.handle);
}

/** Scales gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  return native().clipGradNorm(params.map((p) => p.handle), maxNorm);
}

export function torchVersion(): string {
  return native().torchVersion;
}
