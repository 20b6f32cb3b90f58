/** The expression models of a model folder as the browser app lists them (bundleFiles.ts ModelIndex). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_EXPRESSION_MODEL, type ModelIndex } from './bundleFiles.js';
import { expressionModels, type BundledCard } from './modelBundle.js';

/** Every expression model of `dir` (a `.onnx` with its card), with its labels and training data; the default first. */
export function modelIndex(dir: string, defaultModel = DEFAULT_EXPRESSION_MODEL): ModelIndex {
  const names = expressionModels(dir);
  const models = names.map((name) => {
    const card = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Partial<BundledCard>;
    return { name, labels: Array.isArray(card.labels) ? card.labels.map(String) : [], data: card.training?.data ?? '' };
  });
  models.sort((a, b) => Number(b.name === defaultModel) - Number(a.name === defaultModel));
  return { default: names.includes(defaultModel) ? defaultModel : (names[0] ?? defaultModel), models };
}
