/**
 * After training, for the model card: the temperature fitted on the validation carve, the training class
 * frequencies f_c, and the class prior the model learnt. A loss with class weights (n̄ / n_c)^p trains as if on
 * images drawn ∝ f_c · f_c^(−p), so the learnt prior is ∝ f_c^(1−p) (p from config ClassBalance: 0, ½, 1);
 * `--prior uniform` divides by that prior, not by f_c (a balanced loss has already divided out part of f_c).
 */
import { calibrateTemperature, type TemperatureCalibration } from '../eval/temperature.js';
import { balancePower, type ClassBalance } from './config.js';
import type { ImageSet } from './imageSet.js';
import type { TrainedModel } from './trainMethod.js';

export interface FittedCalibration {
  /** Null without validation images, or for an interrupted run. */
  calibration: TemperatureCalibration | null;
  /** Frequency of each class (label order) among the labelled training images as training drew them (weighted sampling included). */
  classFrequencies: number[];
  /** The class prior the model learnt, ∝ classFrequencies^(1−p), summing to 1. */
  classPrior: number[];
}

/**
 * `balance`: the class balance of the loss that trained the deployed net's classifier (stage (b), or the
 * teacher's stage for finetune); `drawsPerImage(i)`: how often an epoch draws training image i on average
 * (weighted sampling over several data sets, src/train/sampling.ts; default 1).
 */
export function fitCalibration(trained: TrainedModel, train: ImageSet, val: ImageSet, classes: number, balance: ClassBalance, drawsPerImage: (i: number) => number = () => 1): FittedCalibration {
  const counts = new Array<number>(classes).fill(0);
  train.y.forEach((c, i) => {
    if (c >= 0) counts[c] = (counts[c] ?? 0) + drawsPerImage(i);
  });
  const n = counts.reduce((a, b) => a + b, 0);
  const classFrequencies = counts.map((k) => (n > 0 ? k / n : 0));
  const q = 1 - balancePower(balance);
  const mass = classFrequencies.map((f) => (f > 0 ? f ** q : 0));
  const total = mass.reduce((a, b) => a + b, 0);
  const classPrior = mass.map((m) => (total > 0 ? m / total : 0));
  const calibration = val.y.length > 0 && !trained.interrupted ? calibrateTemperature(trained.predict(val), val.y) : null;
  return { calibration, classFrequencies, classPrior };
}

/** The class balance of the loss that trained `cfg.method`'s deployed classifier. */
export function deployedBalance(cfg: { method: string; stageB: { classBalance: ClassBalance }; teacher: { stage: { classBalance: ClassBalance } } }): ClassBalance {
  return cfg.method === 'finetune' ? cfg.teacher.stage.classBalance : cfg.stageB.classBalance;
}
