/** Which samples of a data set an evaluation scores: its test split by default, all of them, or a named split. */
import type { DataSet } from '../data/dataSet.js';
import { ExpnetError } from '../errors.js';
import { officialSplit } from '../train/experiment.js';

export interface EvalSplit {
  indices: number[];
  /** In words, for the report: e.g. "split PublicTest (3,589 samples)". */
  description: string;
}

/**
 * `test` (default): the data set's test split when it has one (FER2013 PublicTest, SFEW Val, ...), else every
 * sample; `all`: every sample (PrivateTest included); any other name: the samples whose `split` equals it.
 */
export function evalSplit(ds: DataSet, split = 'test'): EvalSplit {
  const all = ds.samples.map((_, i) => i);
  const n = (k: number): string => `${k.toLocaleString('en')} samples`;
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
