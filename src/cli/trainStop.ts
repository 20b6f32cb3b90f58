/** Ctrl-C during `expnet train`: stop after the current step, say where, and how to resume (the run stays resumable). */
import type { Progress, RunContext } from '../train/runContext.js';

const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** The command that continues a stopped run: the same arguments plus --resume and --out DIR. */
export function resumeCommand(command: string, argv: readonly string[], dir: string): string {
  const hasOut = argv.some((a) => a === '--out' || a.startsWith('--out='));
  const args = [...argv.filter((a) => a !== '--overwrite'), ...(argv.includes('--resume') ? [] : ['--resume']), ...(hasOut ? [] : ['--out', dir])];
  return [command, ...args.map(quote)].join(' ');
}

/** Where training stopped, in words ("stageB epoch 5/30, step 120/400"), from the last progress report. */
export function whereStopped(p: Progress | null): string {
  return p ? `${p.stage} epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}` : 'before the first training step';
}

export interface SigintStop {
  /** True once Ctrl-C was pressed. */
  readonly stopped: boolean;
  uninstall(): void;
}

/**
 * First SIGINT: `ctx.stop()` (training ends after the current step; the last finished epoch's checkpoint is the
 * resume point). A second SIGINT exits at once with code 130, printing the resume command (checkpoints are
 * written atomically, so the last one is whole).
 */
export function stopOnSigint(ctx: RunContext, last: () => Progress | null, resume: string, stream: NodeJS.WritableStream = process.stderr): SigintStop {
  let stopped = false;
  const onSigint = (): void => {
    if (!stopped) {
      stopped = true;
      ctx.stop?.();
      stream.write(`\nexpnet: Ctrl-C: stopping after the current step (${whereStopped(last())}); press Ctrl-C again to quit at once\n`);
      return;
    }
    stream.write(`\nexpnet: quit during ${whereStopped(last())}; continue with:\n  ${resume}\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSigint);
  return {
    get stopped() {
      return stopped;
    },
    uninstall: () => void process.off('SIGINT', onSigint),
  };
}
