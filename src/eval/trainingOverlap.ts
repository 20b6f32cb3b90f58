/**
 * Does an evaluation score images the model trained on? The card's `training.sets` (else the sets its
 * `training.data` names, with `expnet train`'s protocol: every split but the test splits is trained on) says,
 * per data set, which samples were held out: whole splits, or people (subjects). The evaluated samples are
 * split into seen and unseen; the caller warns and scores the unseen ones where the card knows them.
 */
import type { DataSet } from '../data/dataSet.js';
import type { ModelTraining, TrainingSet } from '../nets/modelCard.js';
import { HELD_OUT_SPLITS } from '../train/experiment.js';

export interface TrainingOverlap {
  /** The card's entry for the evaluated data set. */
  set: TrainingSet;
  /** Of the evaluated indices: those the model trained on, and those it never saw. */
  seen: number[];
  unseen: number[];
  /** Distinct subjects among the seen and among all evaluated samples (0 when the set has no subject ids). */
  seenSubjects: number;
  subjects: number;
}

/** The data set names of `training.data` ("fer2013 (fer2013, weight 1) + sfew (sfew, weight 3)" → fer2013, sfew). */
export function namedSets(data: string): string[] {
  return data
    .split(' + ')
    .map((part) => /^\s*(\S+?)(#\d+)?\s*(\(|$)/.exec(part)?.[1] ?? '')
    .filter((n) => n !== '');
}

/** The card's entries: `sets`, else one per data set `data` names (held out: the protocol's test splits). */
export function trainingSets(training: Pick<ModelTraining, 'data' | 'sets'> | undefined): TrainingSet[] {
  if (!training) return [];
  return training.sets ?? namedSets(training.data ?? '').map((name) => ({ name }));
}

/** Every evaluated sample has a subject, and each is one of the entry's trained or held-out people. */
function samePeople(set: TrainingSet, ds: Pick<DataSet, 'samples'>, indices: readonly number[]): boolean {
  if (!set.trainedSubjects || set.trainedSubjects.length === 0) return false;
  const known = new Set([...set.trainedSubjects, ...(set.heldOutSubjects ?? [])]);
  return indices.length > 0 && indices.every((i) => {
    const s = ds.samples[i]?.subject;
    return s !== undefined && known.has(s);
  });
}

/** Seen and unseen samples among `indices` of `ds` for a model trained as `training` says; null: no overlap possible. */
export function trainingOverlap(training: Pick<ModelTraining, 'data' | 'sets'> | undefined, ds: Pick<DataSet, 'name' | 'samples'>, indices: readonly number[]): TrainingOverlap | null {
  const name = ds.name.replace(/#\d+$/, '');
  const sets = trainingSets(training);
  const byName = sets.find((s) => s.name === name || (s.sameSourceAs ?? []).includes(name));
  const set = byName ?? sets.find((s) => samePeople(s, ds, indices));
  if (!set) return null;
  // under another name, the split names may mean other things: only the people count
  const splits = new Set(byName ? (set.heldOutSplits ?? HELD_OUT_SPLITS) : []);
  const people = new Set(set.heldOutSubjects ?? []);
  const seen: number[] = [];
  const unseen: number[] = [];
  const subjects = new Set<string>();
  const seenSubjects = new Set<string>();
  for (const i of indices) {
    const s = ds.samples[i];
    if (!s) continue;
    const held = (s.split !== undefined && splits.has(s.split)) || (s.subject !== undefined && people.has(s.subject));
    (held ? unseen : seen).push(i);
    if (s.subject !== undefined) {
      subjects.add(s.subject);
      if (!held) seenSubjects.add(s.subject);
    }
  }
  return { set, seen, unseen, seenSubjects: seenSubjects.size, subjects: subjects.size };
}

/**
 * The warning in words ("" when nothing evaluated was trained on); `only`: the number of unseen samples scored
 * instead of all (null: all are scored, the seen ones included).
 */
export function overlapWarning(model: string, ds: string, o: TrainingOverlap, only: number | null): string {
  if (o.seen.length === 0) return '';
  const n = o.seen.length + o.unseen.length;
  const people = o.subjects > 0 ? ` (${o.seenSubjects} of ${o.subjects} subjects)` : '';
  const via = o.set.name === ds ? '' : ` (its card: ${o.set.name})`;
  const head = `${model} was trained on ${o.seen.length} of the ${n} evaluated samples of ${ds}${people}${via}`;
  if (only !== null) return `${head}: scoring only the ${only} samples it never saw (--include-seen scores all)`;
  return o.unseen.length === 0
    ? `${head}, i.e. on every one: the accuracy is not a held-out accuracy`
    : `${head}: the accuracy includes them and is not a held-out accuracy (without --include-seen: the ${o.unseen.length} unseen only)`;
}
