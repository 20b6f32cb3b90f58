/**
 * predict's progress on a terminal: one redrawn line with the count, the rate, the time left and the file at
 * hand (`37/400  2.9 img/s  ETA 2m05s  photos/x.jpg`); nothing when stderr is not a terminal.
 */
import { fmtTime } from './progressBar.js';
import { printable } from './predictOutput.js';

export interface PredictProgress {
  /** Before input `i` (0-based) of `total`. */
  start(i: number, file: string): void;
  /** Clears the line (before a message, and at the end). */
  clear(): void;
}

/** Rate and seconds left after `done` of `total` inputs in `sec` seconds (rate 0 and ETA NaN before the first). */
export function rateEta(done: number, total: number, sec: number): { rate: number; eta: number } {
  if (done <= 0 || sec <= 0) return { rate: 0, eta: Number.NaN };
  const rate = done / sec;
  return { rate, eta: (total - done) / rate };
}

/** The progress line (without the carriage return). */
export function progressLine(done: number, total: number, sec: number, file: string): string {
  const { rate, eta } = rateEta(done, total, sec);
  const speed = done === 0 ? '' : rate >= 1 ? `  ${rate.toFixed(1)} img/s` : `  ${(1 / rate).toFixed(1)} s/img`;
  return `${done + 1}/${total}${speed}  ETA ${fmtTime(eta)}  ${printable(file)}`;
}

export function predictProgress(total: number, stream: NodeJS.WriteStream = process.stderr): PredictProgress {
  const on = stream.isTTY === true && total > 1;
  const t0 = Date.now();
  let open = false;
  return {
    start(i, file): void {
      if (!on) return;
      const width = (stream.columns ?? 80) - 1;
      stream.write(`\r${progressLine(i, total, (Date.now() - t0) / 1000, file).slice(0, width)}\x1b[K`);
      open = true;
    },
    clear(): void {
      if (open) stream.write('\r\x1b[K');
      open = false;
    },
  };
}
