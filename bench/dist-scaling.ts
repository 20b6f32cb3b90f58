/**
 * Data-parallel scaling of real training: `expnet train --method scratch` on CK+48 with 1 process and with
 * `--nproc 2` (libtorch c10d, Gloo on 127.0.0.1), 1 libtorch thread per process, the same global batch and
 * config. Rounds alternate 1 and 2 processes; images/s per epoch comes from each run's metrics.jsonl (the first
 * epoch, with tracing and warm-up, is left out). Prints the table and the load average before and after.
 * Usage: node dist/bench/dist-scaling.js [--epochs 4] [--rounds 2] [--nproc 2] [--out file.json]
 * Skips with a message when $EXPNET_DATA/ckplus48 is absent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataRoot, projectRoot } from '../src/data/dataRoot.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const epochs = Number(arg('--epochs', '4'));
const rounds = Number(arg('--rounds', '2'));
const nproc = Number(arg('--nproc', '2'));
const out = process.argv.includes('--out') ? arg('--out', '') : null;
const data = join(dataRoot(), 'ckplus48');
const cli = join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

interface Run {
  processes: number;
  imagesPerSec: number;
  secPerEpoch: number;
}

/** One training run; images/s over epochs 2.. from its metrics log. */
function train(processes: number, images: number): Run {
  const dir = mkdtempSync(join(tmpdir(), 'expnet-dist-bench-'));
  try {
    const args = [cli, 'train', '--data', data, '--format', 'ckplus48', '--method', 'scratch', '--seed', '1', '--threads', '1', '--quiet',
      '--set', `stageB.epochs=${epochs}`, '--set', 'valFraction=0', '--out', dir, ...(processes > 1 ? ['--nproc', String(processes)] : [])];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`train with ${processes} process(es) failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
    const secs = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { stage?: string; epoch?: number; sec?: number })
      .filter((m) => m.stage === 'stageB' && (m.epoch ?? 0) > 1 && m.sec !== undefined)
      .map((m) => m.sec as number);
    const secPerEpoch = secs.reduce((a, b) => a + b, 0) / Math.max(secs.length, 1);
    return { processes, imagesPerSec: images / secPerEpoch, secPerEpoch };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!existsSync(data)) {
  console.log(`skipped: CK+48 not found at ${data} (set EXPNET_DATA)`);
} else {
  const images = Number(spawnSync('find', [data, '-type', 'f', '-name', '*.png'], { encoding: 'utf8' }).stdout.trim().split('\n').length);
  const before = load();
  const runs: Run[] = [];
  for (let r = 0; r < rounds; r++) for (const p of [1, nproc]) {
    const run = train(p, images);
    runs.push(run);
    console.log(`round ${r + 1}: ${p} process(es): ${run.imagesPerSec.toFixed(1)} images/s (${run.secPerEpoch.toFixed(2)} s/epoch)`);
  }
  const mean = (p: number): number => {
    const xs = runs.filter((x) => x.processes === p).map((x) => x.imagesPerSec);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const after = load();
  console.log(`\n| processes × threads | images/s (mean of ${rounds}) | speed-up |\n|---|---:|---:|`);
  console.log(`| 1 × 1 | ${mean(1).toFixed(1)} | 1.00× |`);
  console.log(`| ${nproc} × 1 | ${mean(nproc).toFixed(1)} | ${(mean(nproc) / mean(1)).toFixed(2)}× |`);
  console.log(`load average (1/5/15 min): before ${before}, after ${after}`);
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), epochs, rounds, nproc, images, loadBefore: before, loadAfter: after, runs }, null, 1));
}
