/** One model on one split: metrics, calibration and the most confident mistakes, from its predictions. */
import { calibrationOf, type Calibration } from './calibration.js';
import { argmax, metricsOfProbs, type Metrics } from '../train/metrics.js';
import type { Predictions } from './predictions.js';

export interface Mistake {
  /** Row of the predictions (and of the decoded image set). */
  row: number;
  path: string;
  truth: string;
  predicted: string;
  /** Probability of the predicted class. */
  confidence: number;
  /** Probability the model gave the true class. */
  truthProbability: number;
}

export interface Evaluation {
  model: string;
  dataSet: string;
  metrics: Metrics;
  calibration: Calibration;
  mistakes: Mistake[];
}

/** The `k` wrong predictions with the highest confidence (ties: lower row first). */
export function confidentMistakes(p: Predictions, k: number): Mistake[] {
  const out: Mistake[] = [];
  p.probs.forEach((row, i) => {
    const pred = argmax(row);
    const t = p.truth[i] ?? 0;
    if (pred === t) return;
    out.push({ row: i, path: p.paths[i] ?? '', truth: p.labels[t] ?? '', predicted: p.labels[pred] ?? '', confidence: row[pred] ?? 0, truthProbability: row[t] ?? 0 });
  });
  return out.sort((a, b) => b.confidence - a.confidence || a.row - b.row).slice(0, k);
}

export function evaluatePredictions(p: Predictions, o: { bins?: number; mistakes?: number } = {}): Evaluation {
  return {
    model: p.model,
    dataSet: p.dataSet,
    metrics: metricsOfProbs(p.truth, p.probs, p.labels),
    calibration: calibrationOf(p.truth, p.probs, o.bins ?? 10),
    mistakes: confidentMistakes(p, o.mistakes ?? 24),
  };
}
