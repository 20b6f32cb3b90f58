/** Model cards travel with the weights: input spec, label order, training data, accuracy, licence. */
import { loadWeights, saveWeights } from '../engine/checkpoint.js';
import { readSafetensors } from '../engine/safetensors.js';
import { ExpnetError } from '../errors.js';
import { ExpNet, type ExpNetConfig } from './expNet.js';

export interface ModelCard {
  name: string;
  task: 'expression';
  /** 'expnet': the student net (config below); 'face-net': a fine-tuned teacher behind the same input (src/export/teacherModel.ts; config = the student input it replaces). */
  arch: 'expnet' | 'face-net';
  /** Input: [N, channels, size, size], values in [0, 1] (gray: luminance), aligned face crop. */
  input: { size: number; channels: number; range: [number, number]; layout: 'NCHW' };
  /** Output index → label (never inferred from shapes). */
  labels: string[];
  config: ExpNetConfig;
  method: string;
  training: ModelTraining;
  metrics: Record<string, number>;
  /**
   * Temperature scaling fitted on the validation carve after training (src/eval/temperature.ts): probabilities
   * are softmax(logits / temperature). `expnet export` divides the graph's logits by it, so every ONNX consumer
   * gets calibrated probabilities; ECE (10 bins) on the validation images before and after.
   */
  calibration?: { temperature: number; eceBefore: number; eceAfter: number };
  /** Frequency of each class (label order) among the training images as training drew them (sampling weights included). */
  classFrequencies?: number[];
  /**
   * The class prior the model learnt (label order, sums to 1): classFrequencies^(1−p) renormalised, p the
   * exponent of the loss's class weights (classBalance none 0, sqrt ½, inverse 1). `--prior uniform` divides it out.
   */
  classPrior?: number[];
  licence: string;
  provenance: string;
  created: string;
}

/** What a model was trained on (the card's `training`). */
export interface ModelTraining {
  /** The data sets in words, `name (format[, weight w])` joined by ` + ` (as `expnet train` writes it). */
  data: string;
  command: string;
  seed: number;
  epochs: Record<string, number>;
  precision?: 'fp32' | 'bf16';
  teacher?: { net: string; inputSize: number; frozenUntil: string; target: string };
  /**
   * Per training data set, which of its samples the model never saw, so that `expnet eval` can tell a held-out
   * score from one on training images (src/eval/trainingOverlap.ts). Without it, the sets named in `data` count
   * as trained on except their test splits (the protocol of `expnet train`: src/train/experiment.ts officialSplit).
   */
  sets?: TrainingSet[];
}

/** One data set of a model's training: every sample counts as trained on except the held-out ones. */
export interface TrainingSet {
  /** The data set's name as its reader gives it (fer2013, sfew, ckplus48, a manifest's folder name). */
  name: string;
  /** Other data sets drawn from the same people and frames (e.g. `ckplus48` for a manifest of links to CK+48). */
  sameSourceAs?: string[];
  /** Source splits never trained on (default: the protocol's test splits, HELD_OUT_SPLITS). */
  heldOutSplits?: string[];
  /** People none of whose images were trained on (a person-independent hold-out, e.g. CK+ `S005`). */
  heldOutSubjects?: string[];
  /**
   * People with images trained on. With heldOutSubjects it lets an evaluation recognise the same people under
   * another data set name (CK+48's folder vs a manifest of links to it): every evaluated subject is one of them.
   */
  trainedSubjects?: string[];
}

export function saveExpNetModel(path: string, model: ExpNet, card: ModelCard): void {
  saveWeights(path, model, { card: JSON.stringify(card) });
}

export function readModelCard(path: string): ModelCard {
  const { metadata } = readSafetensors(path);
  return parseCard(metadata['card'], path);
}

function parseCard(text: string | undefined, path: string): ModelCard {
  if (!text) throw new ExpnetError('BAD_MODEL', `${path} has no model card (metadata 'card')`);
  const card = JSON.parse(text) as ModelCard;
  if (card.arch !== 'expnet' || !Array.isArray(card.labels) || card.labels.length !== card.config.numClasses) {
    throw new ExpnetError('BAD_MODEL', `${path}: the model card is not an expnet card with one label per output`);
  }
  return card;
}

/** An ExpNet and its card from a .safetensors file written by saveExpNetModel. */
export function loadExpNetModel(path: string): { model: ExpNet; card: ModelCard } {
  const card = readModelCard(path);
  const model = new ExpNet(card.config);
  loadWeights(path, model);
  return { model: model.eval(), card };
}
