/**
 * Temperature scaling (Guo et al. 2017): one scalar T > 0, fitted on validation data, divides the logits
 * before the softmax. It changes no prediction (the arg-max is the same) but makes the probabilities mean
 * what they say: T > 1 softens an over-confident net. The fit minimises the validation negative log-likelihood
 * over log T by golden-section search (the NLL is convex in 1/T, so it has one minimum along log T).
 */
import { calibrationOf } from './calibration.js';

/** Smallest and largest temperature searched. */
export const TEMPERATURE_RANGE: readonly [number, number] = [0.05, 20];

/** What the model card stores (ECE over 10 equal-width confidence bins, on the validation data of the fit). */
export interface TemperatureCalibration {
  temperature: number;
  eceBefore: number;
  eceAfter: number;
  nllBefore: number;
  nllAfter: number;
  /** Validation images the temperature was fitted on. */
  n: number;
}

/**
 * Logits recovered from probabilities: log p (softmax is shift-invariant, so softmax(log p / T) = softmax(z / T)).
 * Probabilities that underflowed to 0 in float32 become log(1e-45).
 */
export function logitsOfProbs(p: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: p.length }, (_, i) => Math.log(Math.max(p[i] ?? 0, 1e-45)));
}

/** softmax(z / t). */
export function softmaxAt(z: ArrayLike<number>, t: number): Float32Array {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, (z[i] ?? 0) / t);
  const e = Float64Array.from({ length: z.length }, (_, i) => Math.exp((z[i] ?? 0) / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (v) => v / s);
}

/** Mean negative log-likelihood of the true classes under softmax(z / t). */
export function nllAt(logits: readonly ArrayLike<number>[], y: ArrayLike<number>, t: number): number {
  let sum = 0;
  logits.forEach((z, i) => {
    let m = -Infinity;
    for (let c = 0; c < z.length; c++) m = Math.max(m, (z[c] ?? 0) / t);
    let s = 0;
    for (let c = 0; c < z.length; c++) s += Math.exp((z[c] ?? 0) / t - m);
    sum += m + Math.log(s) - (z[y[i] ?? 0] ?? 0) / t;
  });
  return logits.length > 0 ? sum / logits.length : Number.NaN;
}

/** The temperature in TEMPERATURE_RANGE minimising nllAt (golden-section search over log T, to 1e-6 relative). */
export function fitTemperature(logits: readonly ArrayLike<number>[], y: ArrayLike<number>): number {
  if (logits.length === 0) return 1;
  const f = (u: number): number => nllAt(logits, y, Math.exp(u));
  const g = (Math.sqrt(5) - 1) / 2;
  let [a, b] = TEMPERATURE_RANGE.map(Math.log) as [number, number];
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > 1e-6) {
    if (fc < fd) {
      [b, d, fd] = [d, c, fc];
      c = b - g * (b - a);
      fc = f(c);
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return Math.exp((a + b) / 2);
}

/** Fits T on validation probabilities (as the trained model predicts them) and measures ECE and NLL before and after. */
export function calibrateTemperature(probs: readonly ArrayLike<number>[], y: ArrayLike<number>): TemperatureCalibration {
  const logits = probs.map(logitsOfProbs);
  const temperature = fitTemperature(logits, y);
  return {
    temperature,
    eceBefore: calibrationOf(y, probs).ece,
    eceAfter: calibrationOf(y, logits.map((z) => softmaxAt(z, temperature))).ece,
    nllBefore: nllAt(logits, y, 1),
    nllAfter: nllAt(logits, y, temperature),
    n: probs.length,
  };
}
