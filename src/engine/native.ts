/** Loads the libtorch addon once, lazily, and types its surface. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExpnetError } from '../errors.js';

export type NativeArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
export type AttrValue = number | boolean | string | readonly number[] | null;

export interface NativeTensor {
  dispose(): void;
  isDisposed(): boolean;
  shape(): number[];
  dtype(): string;
  device(): string;
  requiresGrad(): boolean;
  setRequiresGrad(on: boolean): void;
  grad(): NativeTensor | null;
  zeroGrad(): void;
  backward(grad?: NativeTensor | null, retainGraph?: boolean): void;
  toArray(): NativeArray;
  item(): number;
  copyFrom(src: NativeTensor | NativeArray): void;
  numBytes(): number;
  memoryFormat(): 'contiguous' | 'channels_last' | 'strided';
}

export interface NativeOptimizerGroup {
  params: NativeTensor[];
  lr: number;
  [option: string]: number | boolean | NativeTensor[];
}

export interface NativeOptimizer {
  step(): void;
  zeroGrad(): void;
  setLr(group: number, lr: number): void;
  getLr(group: number): number;
  numGroups(): number;
  exportState(): Record<string, NativeTensor>;
  importState(state: Record<string, NativeTensor>): void;
  /** Frees the state now; training steps built on the optimizer keep their share until they are disposed. */
  dispose(): void;
}

/** A reference inside a traced program: a slot (input or op output) or a captured constant. */
export interface ProgramRef {
  kind: 'slot' | 'const';
  index: number;
}
export interface ProgramStep {
  op: string;
  inputs: (ProgramRef | null)[];
  attrs: AttrValue[];
  outputs: number[];
}
export interface ProgramDescription {
  /** Slots 0..inputs-1 are the program inputs. */
  inputs: number;
  steps: ProgramStep[];
  /** Captured tensors (parameters, buffers, constants): new handles owned by the caller. */
  consts: NativeTensor[];
  outputs: (ProgramRef | null)[];
  /** The autocast dtype the program was traced under ('bfloat16', 'float16') or 'none'. */
  autocast: string;
}

export interface NativeProgram {
  describe(): ProgramDescription;
  run(inputs: NativeTensor[], noGrad?: boolean): NativeTensor[];
  runAsync(inputs: NativeTensor[], noGrad?: boolean): Promise<NativeTensor[]>;
  numSteps(): number;
  dispose(): void;
}

export interface NativeTrainStep {
  step(inputs: NativeTensor[]): NativeTensor[];
  stepAsync(inputs: NativeTensor[]): Promise<NativeTensor[]>;
  dispose(): void;
}

/** ATen's thread-local autocast state (see src/engine/autocast.ts). */
export interface NativeAutocastOptions {
  cpu: boolean;
  cuda: boolean;
  cpuDtype?: string;
  cudaDtype?: string;
}

export interface NativeAddon {
  op(name: string, inputs: readonly (NativeTensor | null)[], attrs?: readonly AttrValue[]): NativeTensor | NativeTensor[];
  opNames(): string[];
  fromArray(data: NativeArray, shape: readonly number[], dtype: string, device?: string, requiresGrad?: boolean): NativeTensor;
  manualSeed(seed: number): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setGradEnabled(on: boolean): boolean;
  getRngState(): NativeTensor;
  setRngState(state: NativeTensor): void;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  liveTensors(): number;
  clipGradNorm(params: NativeTensor[], maxNorm: number): number;
  traceBegin(inputs: NativeTensor[]): void;
  traceEnd(outputs: NativeTensor[]): NativeProgram;
  traceAbort(): void;
  autocastPush(state: NativeAutocastOptions): number;
  autocastPop(): number;
  autocastState(): NativeAutocastOptions & { depth: number };
  NativeOptimizer: new (kind: string, groups: NativeOptimizerGroup[]) => NativeOptimizer;
  NativeTrainStep: new (program: NativeProgram, optimizer: NativeOptimizer, clipNorm: number) => NativeTrainStep;
  torchVersion: string;
}

/** The repository (package) root: the nearest folder above this file whose package.json is expnet's. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'expnet') return dir;
    const up = dirname(dir);
    if (up === dir) throw new ExpnetError('NOT_FOUND', 'cannot find the expnet package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The one command that builds the addon, in an installed package and in a clone alike. */
export const BUILD_NATIVE_COMMAND = 'npx expnet build-native';

let addon: NativeAddon | undefined;

/** Where the addon is loaded from: EXPNET_NATIVE, else native/build/Release/ of the package. */
export function nativePath(): string {
  return process.env['EXPNET_NATIVE'] ?? join(packageRoot(), 'native', 'build', 'Release', 'expnet_native.node');
}

/** Fails now, with the command that builds it, when the addon file is missing (a command calls it before reading its data). */
export function assertNativeBuilt(): void {
  const path = nativePath();
  if (!existsSync(path)) {
    throw new ExpnetError('NOT_FOUND', `the libtorch addon that training needs is not built (no ${path}): run \`${BUILD_NATIVE_COMMAND}\` (needs libtorch: Debian's libtorch-dev, or LIBTORCH=<libtorch folder>); inference does not need it`);
  }
}

/**
 * The addon, loaded on first use (loading libtorch takes ~1.5 s). Before loading, OMP_WAIT_POLICY defaults to
 * PASSIVE (spinning OpenMP workers made 2 threads 4x slower than 1 when the other core was busy), and
 * afterwards libtorch uses all cores (EXPNET_NUM_THREADS overrides).
 */
export function native(): NativeAddon {
  if (addon) return addon;
  process.env['OMP_WAIT_POLICY'] ??= 'PASSIVE';
  assertNativeBuilt();
  const path = nativePath();
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new ExpnetError('NATIVE', `cannot load the libtorch addon ${path}: ${(err as Error).message}`, { cause: err });
  }
  const threads = Number(process.env['EXPNET_NUM_THREADS'] ?? availableParallelism());
  addon.setNumThreads(Number.isInteger(threads) && threads > 0 ? threads : availableParallelism());
  return addon;
}
