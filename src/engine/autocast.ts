/**
 * Mixed precision through libtorch's own autocast (ATen's Autocast dispatch keys, as `torch.autocast`): inside a
 * scope, ops on ATen's lower-precision list (convolutions, matmuls, linear) run in bfloat16 (CPU) or float16 /
 * bfloat16 (CUDA), ops on its float32 list (losses, softmax-like reductions) in float32. Parameters, gradients,
 * optimiser state and BatchNorm statistics are never cast.
 *
 * ATen keeps this state per thread. `autocast(opts, fn)` sets it on the JS thread for a synchronous `fn`; a
 * Program or TrainStep traced inside a scope records the state and sets it again on whichever thread replays it
 * (the JS thread, or the worker thread of runAsync/stepAsync), so async training runs in the traced precision.
 */
import { readFileSync } from 'node:fs';
import { ExpnetError } from '../errors.js';
import { native, type NativeAutocastOptions } from './native.js';
import type { Device } from './tensor.js';

export type AutocastDType = 'bfloat16' | 'float16';

export interface AutocastOptions {
  /** Lower-precision dtype (default: bfloat16 on the CPU, float16 on CUDA; the CPU has bfloat16 only). */
  dtype?: AutocastDType;
  /** Which device's ops are cast (default 'cpu'). */
  device?: 'cpu' | 'cuda';
  /** false: a scope that turns autocast off inside an enclosing one. */
  enabled?: boolean;
}

/** The training precision a user asks for: 'auto' = bf16 where the CPU has native bfloat16, else fp32. */
export type Precision = 'fp32' | 'bf16' | 'auto';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'auto'];

function nativeState(o: AutocastOptions): NativeAutocastOptions {
  const on = o.enabled ?? true;
  const device = o.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new ExpnetError('BAD_INPUT', `autocast: device must be 'cpu' or 'cuda', got ${JSON.stringify(device)}`);
  const dtype = o.dtype ?? (device === 'cpu' ? 'bfloat16' : 'float16');
  if (device === 'cpu' && dtype !== 'bfloat16') throw new ExpnetError('BAD_INPUT', `autocast: on the CPU only 'bfloat16' is supported, got ${JSON.stringify(dtype)}`);
  return device === 'cpu' ? { cpu: on, cuda: false, cpuDtype: dtype } : { cpu: false, cuda: on, cudaDtype: dtype };
}

/**
 * Runs the synchronous `fn` with autocast on the JS thread (like `with torch.autocast(...)`). Scopes nest; the
 * state before the scope comes back however `fn` ends. An async `fn` is refused: autocast is thread-local and
 * would leak into whatever JS runs while it awaits; trace a Program/TrainStep inside the scope instead (its
 * replay, async included, keeps the precision).
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  const n = native();
  const state = nativeState(options);
  try {
    n.autocastPush(state);
  } catch (err) {
    throw new ExpnetError('BAD_INPUT', (err as Error).message, { cause: err });
  }
  let out: T;
  try {
    out = fn();
  } finally {
    n.autocastPop();
  }
  if (out instanceof Promise) {
    void out.catch(() => {});
    throw new ExpnetError('BAD_INPUT', 'autocast(): the function returned a Promise; autocast state is per thread, so pass a synchronous function (async training: trace a TrainStep with { autocast } and await stepAsync)');
  }
  return out;
}

/** The JS thread's autocast state right now. */
export function autocastState(): { cpu: boolean; cuda: boolean; cpuDtype: string; cudaDtype: string; depth: number } {
  const s = native().autocastState();
  return { cpu: s.cpu, cuda: s.cuda, cpuDtype: s.cpuDtype ?? 'bfloat16', cudaDtype: s.cudaDtype ?? 'float16', depth: s.depth };
}

let cpuBf16: boolean | undefined;

/**
 * Whether the CPU computes bfloat16 natively (x86 `avx512_bf16` or `amx_bf16` in /proc/cpuinfo; read once).
 * EXPNET_CPU_BF16=1 / 0 overrides the answer (tests, or a CPU the flags miss).
 */
export function cpuHasNativeBf16(): boolean {
  const env = process.env['EXPNET_CPU_BF16'];
  if (env === '1' || env === '0') return env === '1';
  if (cpuBf16 === undefined) {
    let flags = '';
    try {
      flags = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      flags = '';
    }
    cpuBf16 = /\b(avx512_bf16|amx_bf16)\b/.test(flags);
  }
  return cpuBf16;
}

/** What `--precision` resolves to on this machine and device, with the reason (for logs and model cards). */
export interface ResolvedPrecision {
  precision: 'fp32' | 'bf16';
  reason: string;
}

/**
 * 'auto' → bf16 on a CPU with native bfloat16, fp32 elsewhere (CUDA included: pass 'bf16' to opt in there).
 * 'bf16' on a CPU without it is a BAD_CONFIG error (ATen would emulate bfloat16, slower than fp32), naming the
 * way out; `where` names the flag or config key.
 */
export function resolvePrecision(p: Precision, device: Device, where = 'precision'): ResolvedPrecision {
  if (!PRECISIONS.includes(p)) throw new ExpnetError('BAD_CONFIG', `${where}: expected fp32, bf16 or auto, got ${JSON.stringify(p)}`);
  const cpu = device === 'cpu';
  const native16 = cpu && cpuHasNativeBf16();
  if (p === 'fp32') return { precision: 'fp32', reason: 'asked for' };
  if (p === 'bf16') {
    if (cpu && !native16)
      throw new ExpnetError('BAD_CONFIG', `${where}: bf16 was asked for but this CPU has no native bfloat16 (neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo), so it would be emulated and slower than fp32; use --precision fp32 or auto (EXPNET_CPU_BF16=1 forces it)`);
    return { precision: 'bf16', reason: 'asked for' };
  }
  if (!cpu) return { precision: 'fp32', reason: `auto: fp32 on ${device} (pass bf16 to use CUDA autocast)` };
  return native16 ? { precision: 'bf16', reason: 'auto: the CPU has native bfloat16' } : { precision: 'fp32', reason: 'auto: the CPU has no native bfloat16' };
}

/** The autocast options of a resolved precision on a device (undefined = fp32, no autocast). */
export function autocastFor(precision: 'fp32' | 'bf16', device: Device): AutocastOptions | undefined {
  if (precision === 'fp32') return undefined;
  return { dtype: 'bfloat16', device: device === 'cpu' ? 'cpu' : 'cuda' };
}
