/**
 * The model files a Recognizer needs, in one folder (default: the bundled `models/`): the face detector and
 * landmark nets exported from face-api.js's weights, the SSD anchors, and an expression model with its card.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExpnetError } from '../errors.js';
import { modelLabels, type ExpressionLabel } from '../data/labels.js';
import type { AlignTemplate } from '../faces/similarity.js';
import type { ModelCard } from '../nets/modelCard.js';
import { FER_CROP_TEMPLATE } from './alignCrop.js';

import { ANCHORS_FILE, DEFAULT_EXPLAIN_MODEL, DEFAULT_EXPRESSION_MODEL, DETECTOR_FILE, LANDMARKS_FILE, MODEL_ROLES, resolveModelName, type ModelRole } from './bundleFiles.js';

export { ANCHORS_FILE, DEFAULT_EXPLAIN_MODEL, DEFAULT_EXPRESSION_MODEL, DETECTOR_FILE, LANDMARKS_FILE, MODEL_ROLES, resolveModelName, type ModelRole };

/** An expression model card as bundled next to its .onnx file (the training card plus the crop template). */
export interface BundledCard extends ModelCard {
  alignment?: AlignTemplate;
  /** Set when the graph averages several models and/or the mirrored face (`expnet export --flip`, several models). */
  ensemble?: { members: string[]; flip: boolean };
}

export interface ModelBundle {
  dir: string;
  detector: string;
  landmarks: string;
  expression: string;
  anchors: Float32Array;
  card: BundledCard;
  /** The card's labels, checked to be canonical expression names. */
  labels: readonly ExpressionLabel[];
  template: AlignTemplate;
}

/** The package's `models/` folder (found from this file, in src/ or dist/src/). */
export function bundledModelDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'models', DETECTOR_FILE)) || existsSync(join(dir, 'package.json'))) return join(dir, 'models');
    dir = dirname(dir);
  }
  return resolve('models');
}

/**
 * The sample photo shipped with the package (examples/astronaut.png, public domain: its SOURCE file), as an
 * absolute path: `rec.detect(samplePhoto())` works from any folder.
 */
export function samplePhoto(): string {
  return join(dirname(bundledModelDir()), 'examples', 'astronaut.png');
}

function need(path: string, what: string): string {
  if (!existsSync(path)) {
    throw new ExpnetError('NOT_FOUND', `${what} is missing: ${path} (the bundled models are in the repository's models/; \`expnet bundle\` re-creates them)`);
  }
  return path;
}

/** The expression models of a folder: the base names of its .onnx files with a card (.json) beside them. */
export function expressionModels(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.onnx') && n !== DETECTOR_FILE && n !== LANDMARKS_FILE && names.includes(`${n.slice(0, -5)}.json`)).map((n) => n.slice(0, -5)).sort();
}

/** True when `model` names a file (a path or an .onnx name) rather than a model of the folder. */
const isModelFile = (model: string): boolean => model.endsWith('.onnx') || model.includes('/') || model.includes(sep);

/**
 * The model files: the detector, landmark net and anchors from `modelDir` (default: the bundled models); the
 * expression model `expressionModel` from there by name, or from a file (`runs/x/model.onnx`, its card the
 * .json beside it). An unknown name is a usage error that lists the folder's models.
 */
export function loadBundle(modelDir?: string, expressionModelOrRole = DEFAULT_EXPRESSION_MODEL): ModelBundle {
  const dir = modelDir ?? bundledModelDir();
  const expressionModel = resolveModelName(expressionModelOrRole);
  const file = isModelFile(expressionModel);
  const onnx = file ? resolve(expressionModel.endsWith('.onnx') ? expressionModel : `${expressionModel}.onnx`) : join(dir, `${expressionModel}.onnx`);
  if (!file && !existsSync(join(dir, `${expressionModel}.json`))) {
    const known = expressionModels(dir);
    throw new ExpnetError('BAD_CONFIG', `no expression model '${expressionModel}' in ${dir}; ${known.length > 0 ? `available: ${known.join(', ')}; roles: ${Object.keys(MODEL_ROLES).join(', ')}` : 'it holds none'} (or give an .onnx file with its .json card beside it)`);
  }
  if (file && !existsSync(onnx)) throw new ExpnetError('NOT_FOUND', `expression model ${expressionModel}: no such file`);
  const cardPath = need(`${onnx.slice(0, -5)}.json`, `the card of expression model '${expressionModel}' (the .json beside the .onnx)`);
  const card = JSON.parse(readFileSync(cardPath, 'utf8')) as BundledCard;
  if (!Array.isArray(card.labels) || card.labels.length === 0 || !card.input?.size) {
    throw new ExpnetError('BAD_MODEL', `${cardPath}: a model card needs labels and input.size`);
  }
  const labels = modelLabels(card.labels, cardPath);
  const raw = readFileSync(need(join(dir, ANCHORS_FILE), 'the SSD anchors'));
  const anchors = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return {
    dir,
    detector: need(join(dir, DETECTOR_FILE), 'the face detector'),
    landmarks: need(join(dir, LANDMARKS_FILE), 'the landmark net'),
    expression: need(onnx, `expression model '${expressionModel}'`),
    anchors,
    card,
    labels,
    template: card.alignment ?? FER_CROP_TEMPLATE,
  };
}
