/**
 * The model files a Recognizer needs, in one folder (default: the bundled `models/`): the face detector and
 * landmark nets exported from face-api.js's weights, the SSD anchors, and an expression model with its card.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExpnetError } from '../errors.js';
import { modelLabels, type ExpressionLabel } from '../data/labels.js';
import type { AlignTemplate } from '../faces/similarity.js';
import type { ModelCard } from '../nets/modelCard.js';
import { FER_CROP_TEMPLATE } from './alignCrop.js';

import { ANCHORS_FILE, DEFAULT_EXPRESSION_MODEL, DETECTOR_FILE, LANDMARKS_FILE } from './bundleFiles.js';

export { ANCHORS_FILE, DEFAULT_EXPRESSION_MODEL, DETECTOR_FILE, LANDMARKS_FILE };

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

function need(path: string, what: string): string {
  if (!existsSync(path)) {
    throw new ExpnetError('NOT_FOUND', `${what} is missing: ${path} (the bundled models are in the repository's models/; \`expnet bundle\` re-creates them)`);
  }
  return path;
}

export function loadBundle(modelDir?: string, expressionModel = DEFAULT_EXPRESSION_MODEL): ModelBundle {
  const dir = modelDir ?? bundledModelDir();
  const cardPath = need(join(dir, `${expressionModel}.json`), `the card of expression model '${expressionModel}'`);
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
    expression: need(join(dir, `${expressionModel}.onnx`), `expression model '${expressionModel}'`),
    anchors,
    card,
    labels,
    template: card.alignment ?? FER_CROP_TEMPLATE,
  };
}
