/**
 * Starting weights from an earlier run (transfer from another data set, e.g. FER2013 → CK+): the config's
 * `init.faceNet` (a fine-tuned face net: the teacher checkpoint of an fn2en/finetune run) and `init.student`
 * (an expnet model file, or a stage checkpoint). Only feature layers are taken: classifier heads stay new,
 * since label sets differ between data sets.
 */
import { existsSync } from 'node:fs';
import { ExpnetError } from '../errors.js';
import type { Module, RawTensor } from '../engine/module.js';
import { readSafetensors } from '../engine/safetensors.js';

/**
 * Copies into `target` every state entry whose name passes `want`, looking each name up under the prefixes
 * in turn (the first prefix that has all of them wins); returns what it copied, by `target`'s names.
 * @throws ExpnetError('NOT_FOUND' | 'BAD_WEIGHTS') naming the file, the missing or mismatched entries.
 */
function loadPart(target: Module, file: string, what: string, prefixes: readonly string[], want: (name: string) => boolean): Map<string, RawTensor> {
  if (!existsSync(file)) throw new ExpnetError('NOT_FOUND', `${what}: ${file} does not exist`);
  const { tensors } = readSafetensors(file);
  const names = [...target.stateDict().keys()].filter(want);
  const prefix = prefixes.find((p) => names.every((n) => tensors.has(p + n)));
  if (prefix === undefined) {
    const best = prefixes.map((p) => ({ p, missing: names.filter((n) => !tensors.has(p + n)) })).sort((a, b) => a.missing.length - b.missing.length)[0];
    const shown = (best?.missing ?? []).slice(0, 5).map((n) => `'${(best?.p ?? '') + n}'`).join(', ');
    throw new ExpnetError('BAD_WEIGHTS', `${what}: ${file} lacks ${best?.missing.length ?? names.length} of the ${names.length} entries it needs (${shown}${(best?.missing.length ?? 0) > 5 ? ', …' : ''}); is it the right kind of file?`);
  }
  const state = new Map<string, RawTensor>(names.map((n) => [n, tensors.get(prefix + n) as RawTensor]));
  try {
    target.loadStateDict(state, false);
  } catch (err) {
    throw new ExpnetError('BAD_WEIGHTS', `${what}: ${file}: ${(err as Error).message}`, { cause: err });
  }
  return state;
}

/** The face net's weights from a teacher checkpoint (`model.net.*`) or a bare face-net state file. */
export function initFaceNet(net: Module, file: string): number {
  return loadPart(net, file, 'init.faceNet', ['model.net.', 'net.', ''], () => true).size;
}

/**
 * The student's conv blocks (weights and BatchNorm statistics) from a model file or checkpoint; the head stays
 * new. Returns the entries copied, to load into other students of the same shape without reading the file again.
 */
export function initStudent(student: Module, file: string): Map<string, RawTensor> {
  return loadPart(student, file, 'init.student', ['', 'model.', 'model.student.'], (n) => !n.startsWith('head.'));
}
