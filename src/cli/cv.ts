/** `expnet cv`: person-independent k-fold cross-validation of FN2EN and its baselines. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExpnetError } from '../errors.js';
import { METHODS, type Method } from '../train/config.js';
import { crossValidate, readDataSet } from '../train/experiment.js';
import { keepCheckpoints, parseKeep } from '../train/keepCheckpoints.js';
import { prepareRun, TRAIN_OPTIONS } from './trainArgs.js';
import { resumeCommand, stopOnSigint, whereStopped } from './trainStop.js';

export const CV_HELP = `expnet cv --data <dir|csv> [--folds 10] [--methods fn2en,finetune,scratch] [--only-folds 1,2] [train options]
  Person-independent k-fold cross-validation (subjects never shared between folds; validation subjects for
  model selection are carved from each training fold). Writes <out>/results.json after every fold.
  --only-folds LIST  run only these folds (1-based), e.g. to split a protocol across machines
  --device D         cpu (default) | cuda | cuda:N (a CUDA libtorch build; see docs/DISTRIBUTED.md)
  --precision P      auto (default) | bf16 | fp32, as in \`expnet train --help\` (bf16 where the CPU has native
                     bfloat16; bf16 on a CPU without it is an error)
  --keep K           checkpoints kept in each fold's folder at the end: all (default) | best | last
  --resume, --force, --overwrite and the run lock on --out: as in \`expnet train --help\`
  Ctrl-C (or --max-time) stops inside a fold without scoring it and prints the --resume command that finishes it.
  With fn2en and finetune together, the fine-tune baseline is fn2en's own fine-tuned face net (trained once).`;

export async function cvCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...TRAIN_OPTIONS, folds: { type: 'string' }, methods: { type: 'string' }, 'only-folds': { type: 'string' } }, strict: true });
  const k = Number(values.folds ?? 10);
  const methods = (values.methods ?? 'fn2en,finetune,scratch').split(',') as Method[];
  for (const m of methods) if (!METHODS.includes(m)) throw new ExpnetError('BAD_CONFIG', `--methods: unknown method '${m}' (expected ${METHODS.join(', ')})`);
  const keep = parseKeep(values.keep);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  if ((values.data?.length ?? 0) > 1 || values.weight) throw new ExpnetError('BAD_CONFIG', 'expnet cv takes one --data (multi-data runs are for expnet train)');
  const { cfg, data, format, ctx, mix, bar } = prepareRun(values, join('runs', `cv-${stamp}`), ['expnet cv', ...argv].join(' '));
  if (mix) throw new ExpnetError('BAD_CONFIG', 'expnet cv takes one labelled --data (multi-data and unlabelled sets are for expnet train)');
  const ds = await readDataSet(format, data, (t) => ctx.reporter.warn(t));
  const only = values['only-folds']?.split(',').map(Number);
  const resume = resumeCommand('expnet cv', argv, ctx.dir);
  const sigint = stopOnSigint(ctx, () => bar?.last() ?? null, resume);
  let summary;
  try {
    summary = await crossValidate(ds, k, methods, cfg, ctx, only ? { onlyFolds: only } : {});
  } finally {
    sigint.uninstall();
  }
  if (summary.interrupted) {
    const why = sigint.stopped ? 'Ctrl-C' : '--max-time';
    process.stdout.write(`cv: stopped by ${why} in fold ${summary.interrupted.fold} (${summary.interrupted.method}) during ${whereStopped(bar?.last() ?? null)}; ` +
      `the folds scored before it are in ${join(ctx.dir, 'results.json')}; continue with:\n  ${resume}\n`);
    return sigint.stopped ? 130 : 0;
  }
  for (const [m, s] of Object.entries(summary.methods)) {
    process.stdout.write(`${m}: ${(100 * s.accuracy.mean).toFixed(2)} ± ${(100 * s.accuracy.std).toFixed(2)} % over ${only?.length ?? k} folds (${Math.round(s.seconds)} s)\n`);
  }
  for (const e of readdirSync(ctx.dir, { withFileTypes: true })) if (e.isDirectory()) keepCheckpoints(join(ctx.dir, e.name), keep);
  return 0;
}
