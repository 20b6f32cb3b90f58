import { ExpnetError } from '../errors.js';
import type { Sample } from './dataSet.js';
import { Rng } from './rng.js';

/** One cross-validation fold: sample indices to train on and to test on. */
export interface Fold {
  train: number[];
  test: number[];
}

interface Group {
  members: number[];
  /** Sample count per label (index into the labels seen). */
  counts: number[];
}

/** Groups sample indices by subject; a sample without subject is a group of its own. Deterministic. */
function groupBySubject(indices: readonly number[], samples: readonly Sample[]): Group[] {
  const labelIds = new Map<string, number>();
  const bySubject = new Map<string, Group>();
  const groups: Group[] = [];
  for (const i of indices) {
    const sample = samples[i];
    if (sample === undefined) throw new ExpnetError('BAD_INPUT', `sample index ${i} is out of range 0..${samples.length - 1}`);
    let group = sample.subject === undefined ? undefined : bySubject.get(sample.subject);
    if (group === undefined) {
      group = { members: [], counts: [] };
      groups.push(group);
      if (sample.subject !== undefined) bySubject.set(sample.subject, group);
    }
    group.members.push(i);
    let id = labelIds.get(sample.label);
    if (id === undefined) labelIds.set(sample.label, (id = labelIds.size));
    group.counts[id] = (group.counts[id] ?? 0) + 1;
  }
  return groups;
}

/** Groups above this count skip the swap-refinement pass (greedy alone is near-optimal for many small groups). */
const REFINE_MAX_GROUPS = 1000;

/**
 * Partition of groups into bins with target shares, minimising Σ_bins [Σ_labels (count − target)² +
 * (size − target)²]: groups are shuffled with the seed, then placed largest first where they add least
 * (bins still empty first; ties → lower bin); then single moves and pairwise swaps that lower the objective
 * are applied until none is left (never emptying a bin). Deterministic for a seed.
 */
function assignGroups(groups: Group[], shares: readonly number[], seed: number): number[][] {
  const order = new Rng(seed).shuffle(groups.slice()).sort((a, b) => b.members.length - a.members.length);
  const L = Math.max(0, ...groups.map((g) => g.counts.length));
  const totals = new Array<number>(L + 1).fill(0); // last slot = size
  for (const g of groups) {
    for (let l = 0; l < L; l++) totals[l] = (totals[l] ?? 0) + (g.counts[l] ?? 0);
    totals[L] = (totals[L] ?? 0) + g.members.length;
  }
  const vec = (g: Group): number[] => [...Array.from({ length: L }, (_, l) => g.counts[l] ?? 0), g.members.length];
  const gv = order.map(vec);
  const targets = shares.map((share) => totals.map((t) => t * share));
  const sums = shares.map(() => new Array<number>(L + 1).fill(0));
  const binOf = new Array<number>(order.length).fill(-1);
  const sizes = shares.map(() => 0);
  /** Objective change of bin b when `add` is added and `sub` removed. */
  const delta = (b: number, add: number[] | undefined, sub: number[] | undefined): number => {
    const sum = sums[b] ?? [];
    const target = targets[b] ?? [];
    let d = 0;
    for (let l = 0; l <= L; l++) {
      const dev = (sum[l] ?? 0) - (target[l] ?? 0);
      const change = (add?.[l] ?? 0) - (sub?.[l] ?? 0);
      d += change * (2 * dev + change);
    }
    return d;
  };
  const place = (g: number, b: number, sign: 1 | -1): void => {
    const sum = sums[b] ?? [];
    (gv[g] ?? []).forEach((v, l) => { sum[l] = (sum[l] ?? 0) + sign * v; });
    sizes[b] = (sizes[b] ?? 0) + sign;
    if (sign === 1) binOf[g] = b;
  };
  order.forEach((_, g) => {
    const empty = sizes.some((n) => n === 0);
    let best = -1;
    let bestCost = Infinity;
    for (let b = 0; b < shares.length; b++) {
      if (empty && sizes[b] !== 0) continue;
      const c = delta(b, gv[g], undefined);
      if (c < bestCost) { bestCost = c; best = b; }
    }
    place(g, best, 1);
  });
  if (order.length <= REFINE_MAX_GROUPS) {
    for (let pass = 0, improved = true; improved && pass < 50; pass++) {
      improved = false;
      for (let g = 0; g < order.length; g++) {
        const a = binOf[g] ?? 0;
        let best = { gain: -1e-9, b: -1, h: -1 };
        for (let b = 0; b < shares.length; b++) {
          if (b === a || (sizes[a] ?? 0) <= 1) continue;
          const d = delta(a, undefined, gv[g]) + delta(b, gv[g], undefined);
          if (d < best.gain) best = { gain: d, b, h: -1 };
        }
        for (let h = 0; h < order.length; h++) {
          const b = binOf[h] ?? 0;
          if (b === a) continue;
          const d = delta(a, gv[h], gv[g]) + delta(b, gv[g], gv[h]);
          if (d < best.gain) best = { gain: d, b, h };
        }
        if (best.b < 0) continue;
        place(g, a, -1);
        place(g, best.b, 1);
        if (best.h >= 0) { place(best.h, best.b, -1); place(best.h, a, 1); }
        improved = true;
      }
    }
  }
  const bins: number[][] = shares.map(() => []);
  order.forEach((group, g) => bins[binOf[g] ?? 0]?.push(...group.members));
  return bins.map((members) => members.sort((x, y) => x - y));
}

/**
 * Person-independent k-fold cross-validation: samples of one subject are always in the same fold; folds are
 * stratified by label as far as the subjects allow (greedy balancing of label counts) and deterministic
 * from the seed. Samples without `subject` are treated as their own group (plain stratified k-fold).
 * @param indices the samples to split (default: all).
 * @returns k folds; every index is in exactly one `test`, and `train` = the others' test sets.
 * @throws ExpnetError('BAD_INPUT') when k < 2 or there are fewer groups than folds.
 */
export function personIndependentFolds(
  samples: readonly Sample[],
  k: number,
  seed: number,
  indices: readonly number[] = samples.map((_, i) => i),
): Fold[] {
  if (!Number.isInteger(k) || k < 2) throw new ExpnetError('BAD_INPUT', `k-fold: expected an integer k ≥ 2, got ${k}`);
  const groups = groupBySubject(indices, samples);
  if (groups.length < k) {
    throw new ExpnetError('BAD_INPUT', `k-fold: ${k} folds need at least ${k} subjects, found ${groups.length}`);
  }
  const tests = assignGroups(groups, Array.from({ length: k }, () => 1 / k), seed);
  return tests.map((test, f) => ({
    test,
    train: tests.filter((_, g) => g !== f).flat().sort((x, y) => x - y),
  }));
}

/**
 * Holds out part of a training set for model selection. With subjects, whole subjects are held out
 * (about `fraction` of the samples, label counts balanced greedily); with no subjects at all, a stratified
 * random fraction of each label. Deterministic from the seed.
 * @throws ExpnetError('BAD_INPUT') when fraction is not in (0, 1) or there are fewer than 2 groups.
 */
export function carveValidation(
  indices: readonly number[],
  samples: readonly Sample[],
  fraction: number,
  seed: number,
): { train: number[]; validation: number[] } {
  if (!(fraction > 0 && fraction < 1)) throw new ExpnetError('BAD_INPUT', `validation fraction: expected 0 < f < 1, got ${fraction}`);
  const groups = groupBySubject(indices, samples);
  if (groups.length < 2) throw new ExpnetError('BAD_INPUT', `validation split: need at least 2 subjects/samples, found ${groups.length}`);
  const hasSubjects = indices.some((i) => samples[i]?.subject !== undefined);
  if (hasSubjects) {
    const [validation = [], train = []] = assignGroups(groups, [fraction, 1 - fraction], seed);
    return { train, validation };
  }
  const rng = new Rng(seed);
  const byLabel = new Map<string, number[]>();
  for (const i of indices) {
    const label = samples[i]?.label ?? '';
    const list = byLabel.get(label);
    if (list === undefined) byLabel.set(label, [i]);
    else list.push(i);
  }
  const validation: number[] = [];
  const train: number[] = [];
  for (const label of [...byLabel.keys()].sort()) {
    const members = rng.shuffle(byLabel.get(label) ?? []);
    const n = Math.round(members.length * fraction);
    validation.push(...members.slice(0, n));
    train.push(...members.slice(n));
  }
  if (validation.length === 0 || train.length === 0) {
    const moved = validation.length === 0 ? train.pop() : validation.pop();
    if (moved !== undefined) (validation.length === 0 ? validation : train).push(moved);
  }
  return { train: train.sort((x, y) => x - y), validation: validation.sort((x, y) => x - y) };
}
