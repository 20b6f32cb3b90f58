/** Vega-Lite specifications of the report's plots (rendered to SVG by renderChart.ts). */
import type { TopLevelSpec } from 'vega-lite';
import type { Calibration } from './calibration.js';
import type { CvComparison, ModelComparison } from './compare.js';
import type { Metrics } from '../train/metrics.js';
import type { CurvePoint } from './trainingLog.js';

const FONT = { config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', view: { stroke: null } } } as const;

/** Rows of a confusion matrix as {truth, predicted, count, rate}; rate is the share of the true class's row (0 for an empty row). */
export function confusionCells(confusion: readonly (readonly number[])[], labels: readonly string[]): { truth: string; predicted: string; count: number; rate: number }[] {
  return confusion.flatMap((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    return row.map((count, j) => ({ truth: labels[i] ?? String(i), predicted: labels[j] ?? String(j), count, rate: n > 0 ? count / n : 0 }));
  });
}

/** Heat map of the row-normalised confusion (colour: share of the true class), each cell labelled with its count. */
export function confusionChart(confusion: readonly (readonly number[])[], labels: readonly string[], title = 'Confusion (rows: truth, colour: row share)'): TopLevelSpec {
  const side = Math.max(160, 42 * labels.length);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: side,
    height: side,
    data: { values: confusionCells(confusion, labels) },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: [...labels], title: 'predicted', axis: { labelAngle: -40 } },
      y: { field: 'truth', type: 'nominal', sort: [...labels], title: 'true' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: { field: 'rate', type: 'quantitative', scale: { domain: [0, 1], range: ['#ffffff', '#08519c'] }, title: 'row share' },
          tooltip: [{ field: 'truth' }, { field: 'predicted' }, { field: 'count' }, { field: 'rate', format: '.1%' }],
        },
      },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.rate > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
    ...FONT,
  };
}

/** Reliability diagram: accuracy per confidence bin against the diagonal, with the bin counts below. */
export function reliabilityChart(c: Calibration): TopLevelSpec {
  const bins = c.bins.filter((b) => b.count > 0).map((b) => ({ lo: b.lo, hi: b.hi, accuracy: b.accuracy, confidence: b.confidence, count: b.count }));
  const all = c.bins.map((b) => ({ lo: b.lo, hi: b.hi, count: b.count }));
  const x = { field: 'lo', type: 'quantitative' as const, scale: { domain: [0, 1] }, title: 'confidence (top-class probability)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Reliability (ECE ${(100 * c.ece).toFixed(1)} %, n = ${c.n})`,
    vconcat: [
      {
        width: 300,
        height: 240,
        layer: [
          {
            data: { values: bins },
            mark: { type: 'rect', color: '#4c78a8', opacity: 0.85 },
            encoding: { x, x2: { field: 'hi' }, y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'accuracy' }, y2: { datum: 0 } },
          },
          {
            data: { values: bins },
            mark: { type: 'point', filled: true, color: '#e45756' },
            encoding: { x: { field: 'confidence', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' }, tooltip: [{ field: 'count' }, { field: 'confidence', format: '.3f' }, { field: 'accuracy', format: '.3f' }] },
          },
          {
            data: { values: [{ p: 0 }, { p: 1 }] },
            mark: { type: 'line', strokeDash: [4, 4], color: 'gray' },
            encoding: { x: { field: 'p', type: 'quantitative' }, y: { field: 'p', type: 'quantitative' } },
          },
        ],
      },
      {
        width: 300,
        height: 70,
        data: { values: all },
        mark: { type: 'rect', color: '#9ecae9' },
        encoding: { x: { ...x, title: null }, x2: { field: 'hi' }, y: { field: 'count', type: 'quantitative', title: 'samples' }, y2: { datum: 0 } },
      },
    ],
    ...FONT,
  };
}

/** Precision, recall and F1 per class as grouped bars. */
export function perClassChart(m: Metrics): TopLevelSpec {
  const rows = m.perClass.flatMap((c) => [
    { label: c.label, measure: 'precision', value: c.precision },
    { label: c.label, measure: 'recall', value: c.recall },
    { label: c.label, measure: 'F1', value: c.f1 },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Per class',
    width: Math.max(200, 60 * m.labels.length),
    height: 180,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'label', type: 'nominal', sort: [...m.labels], title: null, axis: { labelAngle: -40 } },
      xOffset: { field: 'measure', sort: ['precision', 'recall', 'F1'] },
      y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: null },
      color: { field: 'measure', sort: ['precision', 'recall', 'F1'], title: null },
    },
    ...FONT,
  };
}

/**
 * Loss (and its parts) and validation accuracy per epoch: one row per kind, one column per stage (explicit
 * concatenation of filtered panels, each with its own scales); CV sub-runs as thin lines coloured by method.
 */
export function trainingCurvesChart(points: readonly CurvePoint[]): TopLevelSpec {
  const runs = new Set(points.map((p) => p.run)).size;
  const order = ['teacher', 'stageA', 'stageB'];
  const stages = [...new Set(points.map((p) => p.stage))].sort((a, b) => (order.indexOf(a) + 99) % 99 - ((order.indexOf(b) + 99) % 99) || a.localeCompare(b));
  const rows = points.map((p) => ({ ...p, method: p.run.replace(/^fold\d+-/, '') }));
  const panel = (kind: 'loss' | 'accuracy', stage: string) => ({
    width: 200,
    height: 130,
    title: `${stage}: ${kind === 'loss' ? 'training loss' : 'validation accuracy'}`,
    data: { values: rows.filter((r) => r.kind === kind && r.stage === stage) },
    mark: { type: 'line' as const, point: runs === 1, opacity: runs > 1 ? 0.55 : 1, strokeWidth: runs > 1 ? 1 : 2 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative' as const, title: null, scale: { zero: false } },
      color: { field: runs > 1 ? 'method' : 'series', type: 'nominal' as const, title: runs > 1 ? 'method' : 'series' },
      detail: [{ field: 'run' }, { field: 'series' }],
      ...(runs > 1 ? { strokeDash: { field: 'series', type: 'nominal' as const } } : {}),
    },
  });
  const kinds = (['loss', 'accuracy'] as const).filter((k) => points.some((p) => p.kind === k));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Training curves',
    vconcat: kinds.map((k) => ({ hconcat: stages.filter((s) => points.some((p) => p.kind === k && p.stage === s)).map((s) => panel(k, s)) })),
    resolve: { scale: { color: 'shared' } },
    ...FONT,
  };
}

/** Accuracy and balanced accuracy of several models on the same samples. */
export function comparisonChart(c: ModelComparison): TopLevelSpec {
  const rows = c.models.flatMap((m) => [
    { model: m.name, measure: 'accuracy', value: m.accuracy },
    { model: m.name, measure: 'balanced accuracy', value: m.balancedAccuracy },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Models on the same ${c.n} samples`,
    width: Math.max(200, 90 * c.models.length),
    height: 180,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'model', type: 'nominal', title: null, sort: c.models.map((m) => m.name), axis: { labelAngle: -30 } },
      xOffset: { field: 'measure' },
      y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: null },
      color: { field: 'measure', title: null },
    },
    ...FONT,
  };
}

/** Test accuracy per fold per method of a cross-validation run. */
export function foldsChart(c: CvComparison): TopLevelSpec {
  const rows = c.methods.flatMap((m) => c.folds.map((f, i) => ({ method: m.name, fold: f, accuracy: m.perFold[i] ?? Number.NaN })).filter((r) => !Number.isNaN(r.accuracy)));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${c.dataSet}: test accuracy per fold`,
    width: Math.max(220, 36 * c.folds.length),
    height: 200,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'fold', type: 'ordinal' },
      y: { field: 'accuracy', type: 'quantitative', scale: { zero: false } },
      color: { field: 'method', type: 'nominal' },
    },
    ...FONT,
  };
}
