/** What a model card records of each training data set: which splits and people were never trained on. */
import type { DataSet } from '../data/dataSet.js';
import type { TrainingSet } from '../nets/modelCard.js';

/**
 * The card entry of `ds` (named `name` in the run) when the samples at `trained` were trained on (the training
 * split, its validation carve included): the splits none of whose samples were, and the people (when the set
 * has subject ids) with and without trained images.
 */
export function describeTrainingSet(name: string, ds: Pick<DataSet, 'samples'>, trained: readonly number[]): TrainingSet {
  const used = new Set(trained);
  const splits = new Map<string, boolean>();
  const subjects = new Map<string, boolean>();
  ds.samples.forEach((s, i) => {
    const t = used.has(i);
    if (s.split !== undefined) splits.set(s.split, (splits.get(s.split) ?? false) || t);
    if (s.subject !== undefined) subjects.set(s.subject, (subjects.get(s.subject) ?? false) || t);
  });
  const never = (m: Map<string, boolean>): string[] => [...m].filter(([, t]) => !t).map(([k]) => k).sort();
  const heldOutSplits = never(splits);
  const heldOutSubjects = never(subjects);
  return {
    name,
    ...(heldOutSplits.length > 0 ? { heldOutSplits } : {}),
    ...(subjects.size > 0 ? { heldOutSubjects, trainedSubjects: [...subjects].filter(([, t]) => t).map(([k]) => k).sort() } : {}),
  };
}
