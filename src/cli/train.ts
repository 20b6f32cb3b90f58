/** `expnet train`: train one method on a data set's training split; save the model with its card. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExpNet } from '../nets/expNet.js';
import { saveExpNetModel } from '../nets/modelCard.js';
import { readDataSet, trainOnDataSet } from '../train/experiment.js';
import { prepareRun, TRAIN_OPTIONS } from './trainArgs.js';

export const TRAIN_HELP = `expnet train --data <dir|csv> [options]
  Trains on the data set's training split (FER2013: Training; PrivateTest is never read), selects the epoch on
  validation data carved from it, and reports accuracy on its test split (FER2013: PublicTest) if any.
  --format F      ckplus48|ckplus|fer2013|jaffe|oulu|sfew|tfd|folder|csv (default: guessed from the path)
  --method M      fn2en (default) | finetune | scratch
  --config FILE   JSON config (see src/train/config.ts); --set key.path=value overrides (repeatable)
  --out DIR       run folder (default runs/<method>-<timestamp>); holds config.json, metrics.jsonl,
                  checkpoints, results.json and model.safetensors
  --resume        continue an interrupted run in --out
  --max-time S    stop after S seconds (resumable)
  --seed N  --threads N  --quiet`;

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: TRAIN_OPTIONS, strict: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const { cfg, data, format, ctx } = prepareRun(values, join('runs', `${values.method ?? 'fn2en'}-${stamp}`), ['expnet train', ...argv].join(' '));
  const ds = await readDataSet(format, data);
  const run = await trainOnDataSet(ds, cfg, ctx);
  if (run.trained.interrupted) {
    process.stdout.write(`${cfg.method}: stopped by --max-time; continue with the same command plus --resume --out ${ctx.dir}\n`);
    run.trained.dispose();
    return 0;
  }
  if (run.trained.model instanceof ExpNet) {
    const path = join(ctx.dir, 'model.safetensors');
    saveExpNetModel(path, run.trained.model, {
      name: `expnet-${ds.name}-${cfg.method}`,
      task: 'expression',
      arch: 'expnet',
      input: { size: cfg.student.inputSize, channels: cfg.student.inChannels, range: [0, 1], layout: 'NCHW' },
      labels: [...ds.labels],
      config: run.trained.model.config,
      method: cfg.method,
      training: { data: `${ds.name} (${format})`, command: ['expnet train', ...argv].join(' '), seed: cfg.seed, epochs: { stageA: cfg.stageA.epochs, stageB: cfg.stageB.epochs, teacher: cfg.teacher.stage.epochs } },
      metrics: { ...(run.valAccuracy !== null ? { valAccuracy: run.valAccuracy } : {}), ...(run.test ? { [`${run.testName ?? 'test'}Accuracy`]: run.test.accuracy } : {}) },
      licence: 'weights: MIT (expnet); trained on research data whose terms apply to derived models',
      provenance: 'expnet FaceNet2ExpNet training; teacher: face-api.js recognition net (public domain, dlib)',
      created: new Date().toISOString(),
    });
    ctx.reporter.message(`model saved: ${path}`);
  }
  const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
  process.stdout.write(
    `${cfg.method}: validation accuracy ${run.valAccuracy === null ? 'n/a' : pct(run.valAccuracy)}` +
      (run.test ? `, ${run.testName} accuracy ${pct(run.test.accuracy)} (balanced ${pct(run.test.balancedAccuracy)})` : '') +
      '\n',
  );
  run.trained.dispose();
  return 0;
}
