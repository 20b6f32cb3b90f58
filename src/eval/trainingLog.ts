/**
 * Training curves from a run's metrics.jsonl (one JSON object per epoch: {stage, epoch, loss, val, <loss
 * parts>, lr, sec, ...}; cross-validation records also carry `run`, e.g. 'fold3-fn2en').
 */
import { readFileSync } from 'node:fs';
import { ExpnetError, fsReason } from '../errors.js';

export interface CurvePoint {
  /** '' for a single run; the sub-run name (e.g. 'fold3-fn2en') in cross-validation. */
  run: string;
  stage: string;
  epoch: number;
  /** 'loss', a loss part's name, or 'val' (validation accuracy). */
  series: string;
  kind: 'loss' | 'accuracy';
  value: number;
}

/** Keys of an epoch record that are bookkeeping, not curves. */
const NOT_CURVES = new Set(['time', 'run', 'stage', 'epoch', 'lr', 'sec', 'dataSec', 'fold', 'method']);

/** Parses metrics.jsonl text; a malformed line is an error naming the file and line. */
export function parseMetricsLog(text: string, file = 'metrics.jsonl'): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new ExpnetError('BAD_INPUT', `${file}:${i + 1}: expected one JSON object per line (${(err as Error).message})`, { cause: err });
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ExpnetError('BAD_INPUT', `${file}:${i + 1}: expected a JSON object, got ${line.slice(0, 60)}`);
    out.push(v as Record<string, unknown>);
  });
  return out;
}

/** The per-epoch records as long-form curve points (records without stage and epoch are skipped). */
export function curvePoints(records: readonly Record<string, unknown>[]): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const r of records) {
    const stage = r['stage'];
    const epoch = r['epoch'];
    if (typeof stage !== 'string' || typeof epoch !== 'number') continue;
    const run = typeof r['run'] === 'string' ? r['run'] : '';
    for (const [k, v] of Object.entries(r)) {
      if (NOT_CURVES.has(k) || typeof v !== 'number' || !Number.isFinite(v)) continue;
      out.push({ run, stage, epoch, series: k, kind: k === 'val' ? 'accuracy' : 'loss', value: v });
    }
  }
  return out;
}

export function readTrainingCurves(file: string): CurvePoint[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ExpnetError('NOT_FOUND', `${file}: cannot read the run's metrics log (${fsReason(err)})`, { cause: err });
  }
  return curvePoints(parseMetricsLog(text, file));
}
