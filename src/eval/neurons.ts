/**
 * The neuron study (the paper's visualisation, quantified): for the most active units of a layer, the
 * images that excite each unit most, and how pure those top-k images are in expression vs in subject.
 * An expression net's units should group expressions across people; a face net's should group people.
 */
import { Rng } from '../data/rng.js';
import type { LayerActivations } from './layerActivations.js';

export interface Purity {
  /** Share of the most common value. */
  value: number;
  /** The most common value (ties: the first to reach the count). */
  label: string;
}

export function purity(values: readonly string[]): Purity {
  const counts = new Map<string, number>();
  let best = { value: 0, label: '' };
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > best.value) best = { value: c, label: v };
  }
  return values.length === 0 ? { value: Number.NaN, label: '' } : { value: best.value / values.length, label: best.label };
}

/** Expected purity of k values drawn at random without replacement (seeded Monte Carlo). */
export function chancePurity(values: readonly string[], k: number, draws = 2000, seed = 1): number {
  if (values.length === 0 || k <= 0) return Number.NaN;
  const rng = new Rng(seed);
  const idx = values.map((_, i) => i);
  const m = Math.min(k, values.length);
  let sum = 0;
  for (let d = 0; d < draws; d++) {
    for (let i = 0; i < m; i++) {
      const j = i + rng.int(idx.length - i);
      [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
    }
    sum += purity(idx.slice(0, m).map((i) => values[i] as string)).value;
  }
  return sum / draws;
}

/** Per image and unit: the peak activation over the map, and where it is (row-major cell index). */
export function unitPeaks(a: LayerActivations): { peak: Float32Array; where: Int32Array } {
  const cells = a.height * a.width;
  const peak = new Float32Array(a.images * a.units);
  const where = new Int32Array(a.images * a.units);
  for (let i = 0; i < a.images * a.units; i++) {
    let best = 0;
    for (let c = 1; c < cells; c++) if ((a.data[i * cells + c] ?? 0) > (a.data[i * cells + best] ?? 0)) best = c;
    peak[i] = a.data[i * cells + best] ?? 0;
    where[i] = best;
  }
  return { peak, where };
}

export interface UnitStudy {
  unit: number;
  /** Mean peak activation of the unit's top-k images (units are ranked by it). */
  score: number;
  /** Image rows, most activating first. */
  top: number[];
  /** Peak cell (row-major in the h×w map) per top image. */
  where: number[];
  expression: Purity;
  subject: Purity;
}

export interface NeuronStudy {
  layer: string;
  k: number;
  units: UnitStudy[];
  /** Means over the studied units. */
  meanExpressionPurity: number;
  meanSubjectPurity: number;
  /** Expected purity of k random images (the baseline each mean is read against). */
  chanceExpressionPurity: number;
  chanceSubjectPurity: number;
  /** Units whose peak is 0 on every image (never active). */
  deadUnits: number;
}

/**
 * Ranks units by the mean of their top-k peak activations, keeps the `topUnits` best, and measures the
 * expression and subject purity of each one's top-k images.
 */
export function studyUnits(a: LayerActivations, layer: string, expressions: readonly string[], subjects: readonly string[], k = 9, topUnits = 16): NeuronStudy {
  const { peak, where } = unitPeaks(a);
  const kk = Math.min(k, a.images);
  const all: UnitStudy[] = [];
  let dead = 0;
  for (let u = 0; u < a.units; u++) {
    const rows = Array.from({ length: a.images }, (_, i) => i).sort((x, y) => (peak[y * a.units + u] ?? 0) - (peak[x * a.units + u] ?? 0) || x - y);
    const top = rows.slice(0, kk);
    const score = top.reduce((s, i) => s + (peak[i * a.units + u] ?? 0), 0) / Math.max(kk, 1);
    if (!(score > 0)) {
      dead++;
      continue;
    }
    all.push({
      unit: u,
      score,
      top,
      where: top.map((i) => where[i * a.units + u] ?? 0),
      expression: purity(top.map((i) => expressions[i] ?? '')),
      subject: purity(top.map((i) => subjects[i] ?? '')),
    });
  }
  const units = all.sort((x, y) => y.score - x.score || x.unit - y.unit).slice(0, topUnits);
  const mean = (f: (s: UnitStudy) => number): number => (units.length > 0 ? units.reduce((s, x) => s + f(x), 0) / units.length : Number.NaN);
  return {
    layer,
    k: kk,
    units,
    meanExpressionPurity: mean((s) => s.expression.value),
    meanSubjectPurity: mean((s) => s.subject.value),
    chanceExpressionPurity: chancePurity(expressions, kk),
    chanceSubjectPurity: chancePurity(subjects, kk),
    deadUnits: dead,
  };
}
