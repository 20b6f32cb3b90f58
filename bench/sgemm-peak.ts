/**
 * The machine's measured matmul peaks through the engine: float32 (libtorch → OpenBLAS) and bfloat16 (libtorch →
 * oneDNN, native on CPUs with avx512_bf16/AMX): the best GFLOP/s of bursts of 4 square matmuls within a time
 * budget. Used by train-throughput.ts as the yardstick for conv GFLOP/s at each precision.
 * Standalone: node --import tsx bench/sgemm-peak.ts [--size 1024] [--seconds 2] [--threads 1,2]
 */
import { fileURLToPath } from 'node:url';
import { randn, setNumThreads, tidy } from '../src/engine/index.js';

export interface SgemmOptions {
  threads: number;
  /** Square matrix side (default 1024). */
  size?: number;
  /** Time budget in seconds (default 1.5). */
  seconds?: number;
  /** Operand dtype (default float32). */
  dtype?: 'float32' | 'bfloat16';
}

/** Best GFLOP/s of size×size matmuls (2·n³ FLOPs each, float32 or bfloat16 operands) on `threads` intra-op threads. */
export function measureSgemmPeak(o: SgemmOptions): number {
  const n = o.size ?? 1024;
  const budgetMs = (o.seconds ?? 1.5) * 1000;
  setNumThreads(o.threads);
  return tidy(() => {
    const dtype = o.dtype ?? 'float32';
    const a = randn([n, n]).to(dtype);
    const b = randn([n, n]).to(dtype);
    for (let i = 0; i < 2; i++) a.matmul(b).dispose();
    let best = 0;
    const end = performance.now() + budgetMs;
    while (performance.now() < end) {
      const t0 = performance.now();
      for (let i = 0; i < 4; i++) a.matmul(b).dispose();
      const s = (performance.now() - t0) / 1000;
      best = Math.max(best, (4 * 2 * n ** 3) / s / 1e9);
    }
    return best;
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.env['OMP_WAIT_POLICY'] ??= 'PASSIVE';
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const size = Number(arg('--size') ?? 1024);
  const seconds = Number(arg('--seconds') ?? 2);
  for (const threads of (arg('--threads') ?? '1,2').split(',').map(Number)) {
    for (const dtype of ['float32', 'bfloat16'] as const)
      console.log(`matmul ${size}x${size} ${dtype}, ${threads} thread(s): ${measureSgemmPeak({ threads, size, seconds, dtype }).toFixed(1)} GFLOP/s`);
  }
}
