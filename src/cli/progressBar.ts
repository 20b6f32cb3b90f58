/** A terminal progress reporter: one redrawn line on a TTY, a line per epoch otherwise (logs, CI). */
import type { Progress, Reporter } from '../train/runContext.js';

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '--';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
};

export function progressBar(stream: NodeJS.WriteStream = process.stderr, quiet = false): Reporter {
  const tty = stream.isTTY === true;
  let last = 0;
  let open = false;
  const line = (text: string): void => {
    if (open) stream.write('\n');
    open = false;
    stream.write(text + '\n');
  };
  return {
    progress(p: Progress): void {
      if (quiet) return;
      const done = p.step === p.steps;
      const now = Date.now();
      if (!tty) {
        if (done) line(`${p.stage} epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} ${p.imagesPerSec.toFixed(0)} img/s ETA ${fmtTime(p.etaSec)}`);
        return;
      }
      if (!done && now - last < 100) return;
      last = now;
      const width = 24;
      const filled = Math.round((width * p.step) / p.steps);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      stream.write(`\r${p.stage} ${p.epoch}/${p.epochs} ${bar} ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.imagesPerSec.toFixed(0)} img/s ETA ${fmtTime(p.etaSec)}\x1b[K`);
      open = true;
      if (done) {
        stream.write('\n');
        open = false;
      }
    },
    message: (t) => !quiet && line(t),
    warn: (t) => line(`warning: ${t}`),
  };
}
