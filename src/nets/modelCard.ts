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
  training: { data: string; command: string; seed: number; epochs: Record<string, number>; precision?: 'fp32' | 'bf16'; teacher?: { net: string; inputSize: number; frozenUntil: string; target: string } };
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
