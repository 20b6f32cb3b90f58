/** Markdown tables of results (for docs/RESULTS.md): per-method mean ± std, per-class recall, confusion. */
import type { Metrics } from '../train/metrics.js';

const pct = (x: number): string => (100 * x).toFixed(1);

export interface MethodSummary {
  accuracy: { mean: number; std: number };
  balancedAccuracy: { mean: number; std: number };
  confusion: number[][];
  seconds: number;
}

/** One row per method: mean ± std accuracy and balanced accuracy over folds, and wall time. */
export function methodsTable(methods: Record<string, MethodSummary>, folds: number): string {
  const rows = Object.entries(methods).map(
    ([m, s]) => `| ${m} | ${pct(s.accuracy.mean)} ± ${pct(s.accuracy.std)} | ${pct(s.balancedAccuracy.mean)} ± ${pct(s.balancedAccuracy.std)} | ${(s.seconds / 60).toFixed(1)} |`,
  );
  return [`| method | accuracy % (${folds} folds, mean ± std) | balanced accuracy % | wall time (min) |`, '|---|---|---|---|', ...rows].join('\n');
}

/** Confusion matrix with row-normalised recall on the diagonal (rows: truth, columns: prediction). */
export function confusionTable(confusion: number[][], labels: readonly string[]): string {
  const head = `| truth \\ predicted | ${labels.join(' | ')} | recall % |`;
  const sep = `|---|${labels.map(() => '---').join('|')}|---|`;
  const rows = confusion.map((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    return `| ${labels[i] ?? i} | ${row.join(' | ')} | ${n > 0 ? pct((row[i] ?? 0) / n) : '–'} |`;
  });
  return [head, sep, ...rows].join('\n');
}

/** Per-class precision / recall / F1 of one evaluation. */
export function perClassTable(m: Metrics): string {
  const rows = m.perClass.map((c) => `| ${c.label} | ${c.support} | ${pct(c.precision)} | ${pct(c.recall)} | ${pct(c.f1)} |`);
  return ['| class | n | precision % | recall % | F1 % |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** Neuron-study summary rows: mean expression vs subject purity of the top-k images of the top units, with chance levels. */
export function neuronStudyTable(rows: readonly { model: string; layer: string; units: number; k: number; expression: number; expressionChance: number; subject: number; subjectChance: number }[]): string {
  const body = rows.map(
    (r) => `| ${r.model} | ${r.layer} | ${r.units} | ${r.k} | ${pct(r.expression)} (chance ${pct(r.expressionChance)}) | ${pct(r.subject)} (chance ${pct(r.subjectChance)}) |`,
  );
  return ['| model | layer | units | top-k | expression purity % | subject purity % |', '|---|---|---|---|---|---|', ...body].join('\n');
}
