/** HTML tables of the evaluation report (escaped, no scripts): per class, confusion counts, comparisons, folds. */
import type { CvComparison, ModelComparison } from './compare.js';
import type { Metrics } from '../train/metrics.js';

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const pct = (x: number, digits = 1): string => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)} %` : '–');
const pm = (s: { mean: number; std: number }): string => `${pct(s.mean)} ± ${Number.isFinite(s.std) ? (100 * s.std).toFixed(1) : '–'}`;
const pv = (p: number): string => (Number.isNaN(p) ? '–' : p < 0.001 ? '< 0.001' : p.toFixed(3));

function table(head: readonly string[], rows: readonly (readonly string[])[], cls = ''): string {
  const th = head.map((h) => `<th>${h}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Per class: support, times predicted, precision (– when never predicted), recall (– when no samples), F1. */
export function perClassHtml(m: Metrics): string {
  const rows = m.perClass.map((c, j) => {
    const predicted = m.confusion.reduce((a, row) => a + (row[j] ?? 0), 0);
    return [esc(c.label), String(c.support), String(predicted), predicted > 0 ? pct(c.precision) : '–', c.support > 0 ? pct(c.recall) : '–', predicted + c.support > 0 ? pct(c.f1) : '–'];
  });
  return table(['class', 'samples', 'predicted', 'precision', 'recall', 'F1'], rows, 'num');
}

/** Confusion counts with row totals and recall. */
export function confusionHtml(confusion: readonly (readonly number[])[], labels: readonly string[]): string {
  const rows = confusion.map((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    return [`<b>${esc(labels[i] ?? String(i))}</b>`, ...row.map((v, j) => (i === j ? `<b>${v}</b>` : String(v))), String(n), n > 0 ? pct((row[i] ?? 0) / n) : '–'];
  });
  return table(['true \\ predicted', ...labels.map(esc), 'total', 'recall'], rows, 'num');
}

export function comparisonHtml(c: ModelComparison): string {
  const models = table(
    ['model', 'accuracy', 'balanced accuracy'],
    c.models.map((m) => [esc(m.name), pct(m.accuracy), pct(m.balancedAccuracy)]),
    'num',
  );
  const pairs = table(
    ['A', 'B', 'accuracy A − B', 'only A right', 'only B right', 'McNemar χ²', 'p', 'test'],
    c.pairs.map((p) => [esc(p.a), esc(p.b), `${(100 * p.accuracyDiff).toFixed(1)} pt`, String(p.mcnemar.onlyA), String(p.mcnemar.onlyB), p.mcnemar.statistic.toFixed(2), pv(p.mcnemar.pValue), p.mcnemar.method === 'exact' ? 'exact binomial' : 'χ²₁, continuity-corrected']),
    'num',
  );
  return `${models}\n<h3>Paired differences (McNemar, same ${c.n} samples)</h3>\n${pairs}`;
}

export function cvHtml(c: CvComparison): string {
  const perFold = table(
    ['method', ...c.folds.map((f) => `fold ${f}`), 'mean ± std', 'balanced (mean ± std)'],
    c.methods.map((m) => [esc(m.name), ...m.perFold.map((a) => pct(a)), pm(m.accuracy), pm(m.balancedAccuracy)]),
    'num',
  );
  const pairs = table(
    ['A', 'B', 'folds', 'mean accuracy A − B', 'p (paired sign-flip)'],
    c.pairs.map((p) => [esc(p.a), esc(p.b), String(p.test.n), `${(100 * p.test.meanDiff).toFixed(1)} pt`, `${pv(p.test.pValue)}${p.test.exact ? '' : ' (sampled)'}`]),
    'num',
  );
  return `${perFold}\n<h3>Paired differences over folds</h3>\n${pairs}`;
}
