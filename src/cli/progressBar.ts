/**
 * A terminal progress reporter: one redrawn bar on a TTY and, on every terminal or log, one line per epoch with
 * its loss and validation accuracy; the ETA covers the whole run (the stages still to come at the speed measured
 * so far), not only the current stage.
 */
import type { Progress, Reporter, StagePlan } from '../train/runContext.js';

export const fmtTime = (s: number): string => {
  if (!Number.isFinite(s) || s < 0) return '--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
};

/** Seconds left in the run: the current stage's ETA plus the later stages of `plan` at their (or the current) speed. */
export function runEta(p: Progress, plan: readonly StagePlan[], speeds: ReadonlyMap<string, number>): number {
  const at = plan.findIndex((s) => s.name === p.stage);
  if (at < 0) return p.etaSec;
  return plan.slice(at + 1).reduce((t, s) => t + (s.epochs * s.images) / Math.max(speeds.get(s.name) ?? p.imagesPerSec, 1e-9), p.etaSec);
}

export interface ProgressBar extends Reporter {
  /** The last progress reported (where a stopped run stopped), or null. */
  last(): Progress | null;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr, quiet = false): ProgressBar {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let open = false;
  let last: Progress | null = null;
  let plan: readonly StagePlan[] = [];
  const speeds = new Map<string, number>();
  const line = (text: string): void => {
    stream.write(open ? `\r${text}\x1b[K\n` : `${text}\n`);
    open = false;
  };
  return {
    progress(p: Progress): void {
      last = p;
      speeds.set(p.stage, p.imagesPerSec);
      if (quiet || !tty) return;
      const now = Date.now();
      if (p.step !== p.steps && now - lastDraw < 100) return;
      lastDraw = now;
      const width = 24;
      const filled = Math.round((width * p.step) / p.steps);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const run = plan.length > 1 ? `, run ${fmtTime(runEta(p, plan, speeds))}` : '';
      stream.write(`\r${p.stage} ${p.epoch}/${p.epochs} ${bar} ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.imagesPerSec.toFixed(0)} img/s ETA ${fmtTime(p.etaSec)}${run}\x1b[K`);
      open = true;
    },
    plan(stages: readonly StagePlan[]): void {
      plan = stages;
      if (!quiet && stages.length > 0) line(`stages: ${stages.map((s) => `${s.name} (${s.epochs} epoch${s.epochs === 1 ? '' : 's'})`).join(' → ')}`);
    },
    record(r: Readonly<Record<string, unknown>>): void {
      if (quiet || typeof r['epoch'] !== 'number' || typeof r['stage'] !== 'string') return;
      const p = last !== null && last.stage === r['stage'] ? last : null;
      const val = typeof r['val'] === 'number' ? `  val ${(100 * r['val']).toFixed(2)} %` : '';
      const loss = typeof r['loss'] === 'number' ? `  loss ${r['loss'].toFixed(4)}` : '';
      const sec = typeof r['sec'] === 'number' ? `  ${r['sec'].toFixed(1)} s` : '';
      const eta = p ? `  ETA ${fmtTime(runEta({ ...p, etaSec: p.etaSec }, plan, speeds))}` : '';
      line(`${r['stage']} epoch ${r['epoch']}/${p?.epochs ?? '?'}${loss}${val}${sec}${p ? `  ${p.imagesPerSec.toFixed(0)} img/s` : ''}${eta}`);
    },
    message: (t) => !quiet && line(t),
    warn: (t) => line(`warning: ${t}`),
    last: () => last,
  };
}
