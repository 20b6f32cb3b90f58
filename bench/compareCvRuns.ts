/**
 * Paired fold test between cross-validation runs of different recipes (`expnet eval --cv` compares the methods
 * of one run; this compares one method across runs). Each argument is a CV results.json (or a run folder holding
 * one), optionally with `:method` (default fn2en); several files joined by `+` are one run split across
 * machines or sessions (`--only-folds`). Prints each run's per-fold test accuracy and mean ± std, then, for
 * every pair, the mean difference over the folds both ran and the exact paired sign-flip test's p-value.
 *   node dist/bench/compareCvRuns.js runs/ck-a runs/ck-b:finetune docs/results/x-folds1-6.json+docs/results/x-folds7-10.json
 */
import { pairedPermutationTest } from '../src/eval/significance.js';
import { readCvResults } from '../src/train/experiment.js';
import { meanStd } from '../src/train/metrics.js';

interface Series {
  name: string;
  byFold: Map<number, number>;
}

function readSeries(arg: string): Series {
  const colon = arg.lastIndexOf(':');
  const [files, method] = colon > 0 ? [arg.slice(0, colon), arg.slice(colon + 1)] : [arg, 'fn2en'];
  const byFold = new Map<number, number>();
  for (const f of files.split('+')) {
    for (const r of readCvResults(f).summary.results) {
      if (r.method !== method) continue;
      if (byFold.has(r.fold)) throw new Error(`${arg}: ${method} fold ${r.fold} is in two files`);
      byFold.set(r.fold, r.test.accuracy);
    }
  }
  if (byFold.size === 0) throw new Error(`${arg}: no ${method} folds`);
  return { name: arg, byFold };
}

const pct = (x: number): string => (100 * x).toFixed(2);
const fmtMeanStd = (xs: readonly number[]): string => {
  const { mean, std } = meanStd(xs);
  return `${pct(mean)} ± ${pct(std)}`;
};

const args = process.argv.slice(2);
if (args.length < 2) {
  process.stderr.write('usage: compareCvRuns <cv results[:method]> <cv results[:method]> [...]  (files of one run joined by +)\n');
  process.exit(2);
}
try {
  const series = args.map(readSeries);
  for (const s of series) {
    const folds = [...s.byFold.keys()].sort((a, b) => a - b);
    process.stdout.write(`${s.name}: ${folds.map((f) => `${f}: ${pct(s.byFold.get(f) ?? Number.NaN)}`).join(', ')} → ${fmtMeanStd(folds.map((f) => s.byFold.get(f) ?? 0))} over ${folds.length} folds\n`);
  }
  for (let i = 0; i < series.length; i++) {
    for (let j = i + 1; j < series.length; j++) {
      const [a, b] = [series[i] as Series, series[j] as Series];
      const common = [...a.byFold.keys()].filter((f) => b.byFold.has(f)).sort((x, y) => x - y);
      const t = pairedPermutationTest(common.map((f) => a.byFold.get(f) ?? 0), common.map((f) => b.byFold.get(f) ?? 0));
      process.stdout.write(`${a.name} − ${b.name}: ${(100 * t.meanDiff).toFixed(2)} pt over ${common.length} common folds, paired sign-flip p = ${t.pValue.toFixed(3)}\n`);
    }
  }
} catch (e) {
  process.stderr.write(`compareCvRuns: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
