/** Which samples of a data set an evaluation scores: its test split by default, all of them, or a named split. */
import type { DataSet } from '../data/dataSet.js';
import { ExpnetError } from '../errors.js';
import type { ModelTraining } from '../nets/modelCard.js';
import { officialSplit } from '../train/experiment.js';
import { overlapWarning, trainingOverlap } from './trainingOverlap.js';

export interface EvalSplit {
  indices: number[];
  /** In words, for the report: e.g. "split PublicTest (3,589 samples)". */
  description: string;
}

/**
 * `test` (default): the data set's test split when it has one (FER2013 PublicTest, SFEW Val, ...), else every
 * sample; `all`: every sample (PrivateTest included); any other name: the samples whose `split` equals it.
 */
const n = (k: number): string => `${k.toLocaleString('en')} samples`;

export function evalSplit(ds: DataSet, split = 'test'): EvalSplit {
  const all = ds.samples.map((_, i) => i);
  if (split === 'all') return { indices: all, description: `all samples (${n(all.length)})` };
  if (split === 'test') {
    const o = officialSplit(ds);
    return o.testName ? { indices: o.test, description: `test split ${o.testName} (${n(o.test.length)})` } : { indices: all, description: `all samples (${n(all.length)}; the data set has no test split)` };
  }
  const indices = all.filter((i) => ds.samples[i]?.split === split);
  if (indices.length === 0) {
    const names = [...new Set(ds.samples.map((s) => s.split).filter((s): s is string => s !== undefined))];
    throw new ExpnetError('BAD_CONFIG', `--split ${split}: ${ds.name} has no such split (it has: ${names.length > 0 ? names.join(', ') : 'none'}; or use test / all)`);
  }
  return { indices, description: `split ${split} (${n(indices.length)})` };
}

/**
 * What to score given what the models trained on (their cards, src/eval/trainingOverlap.ts): where a card says
 * which samples of the split it trained on, only the samples no model here saw (the same for every model, so
 * comparisons stay paired), unless `includeSeen` or none is left; per model, the warnings for stderr and the report.
 */
export function heldOutScope(models: readonly { name: string; training?: ModelTraining }[], ds: DataSet, split: EvalSplit, includeSeen: boolean): EvalSplit & { warnings: string[][] } {
  const overlaps = models.map((m) => trainingOverlap(m.training, ds, split.indices));
  const seen = new Set(overlaps.flatMap((o) => o?.seen ?? []));
  const unseen = split.indices.filter((i) => !seen.has(i));
  const restrict = !includeSeen && seen.size > 0 && unseen.length > 0;
  const warnings = overlaps.map((o, k) => (o ? [overlapWarning(models[k]?.name ?? '', ds.name, o, restrict ? unseen.length : null)].filter((w) => w !== '') : []));
  if (!restrict) return { ...split, ...(seen.size > 0 ? { description: `${split.description}, ${n(seen.size)} of them trained on` } : {}), warnings };
  return { indices: unseen, description: `${split.description}: the ${n(unseen.length)} never trained on (held out)`, warnings };
}
