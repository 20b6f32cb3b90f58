/** Process-wide engine settings: seeds, threads, grad mode, devices, live-tensor count. */
import { native } from './native.js';
import { Tensor } from './tensor.js';

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

export function cudaAvailable(): boolean {
  return native().cudaAvailable();
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
