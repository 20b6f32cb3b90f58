/** `expnet eval`: metrics, calibration, mistakes and comparisons of expression models → HTML report + JSON. */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { detectFormat } from '../data/detectFormat.js';
import { ExpnetError } from '../errors.js';
import { openClassifier, type ExpressionClassifier } from '../eval/classifier.js';
import { evalSplit, heldOutScope } from '../eval/evalSplit.js';
import { distinctModelNames, predictDataSet, predictionsToJson, readPredictions } from '../eval/predictions.js';
import { buildReport, writeReport, type BuiltReport, type ReportModel } from '../eval/report.js';
import { readTrainingCurves } from '../eval/trainingLog.js';
import { DATA_FORMATS, readCvResults, readDataSet, summarise, type CvSummary, type DataFormat } from '../train/experiment.js';

export const EVAL_HELP = `expnet eval <dataset> [--model M ...] [options]     expnet eval --cv <run dir | results.json> [options]
  Scores expression models on a data set (any layout the readers know, incl. <class>/<image> crop folders):
  accuracy, balanced accuracy, per-class precision/recall/F1, confusion, calibration (reliability, ECE), the
  most confident mistakes; several --model / --predictions: side by side with McNemar's paired test.
  --model M          .safetensors (expnet train), .onnx + card, or a bundled model's name (expnet-fer2013);
                     repeatable (default: the bundled model)
  --predictions P    a predictions.json (ours or a peer's: {labels, rows:[{path, truth, probs}]}); repeatable
  --format F         ${DATA_FORMATS.join('|')} (default: detected from the folder's layout or the CSV's header)
  --split S          test (default: the data set's test split, else all) | all | a split name
  --include-seen     also score samples the model trained on: by default, where its card says which samples of
                     the set it trained on (CK+ subjects, FER2013/SFEW splits), only the others are scored;
                     either way an overlap is a warning (stderr and the report)
  --cv PATH          a cross-validation run: per-fold table, mean ± std, paired tests, pooled confusions;
                     repeatable: runs of the same protocol (methods or folds run separately) are merged
  --run DIR          training curves from DIR/metrics.jsonl (default: the model's or the CV run's folder)
  --out DIR          write report.html (self-contained), report.json, predictions-*.json, charts/*.svg
  --png              also write the charts as PNG        --mistakes N   gallery size (default 24)
  --json             print the metrics as JSON on stdout (instead of the summary)
  The summary line of a model says how many samples were scored and which were dropped (classes it lacks).`;

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

/** "927 scored, 54 contempt dropped (a class the model lacks)": what the numbers are computed on. */
export function scored(n: number, dropped: Readonly<Record<string, number>>): string {
  const d = Object.entries(dropped).filter(([, k]) => k > 0);
  if (d.length === 0) return `${n} scored`;
  return `${n} scored, ${d.map(([l, k]) => `${k} ${l}`).join(', ')} dropped (${d.length === 1 ? 'a class' : 'classes'} the model lacks)`;
}

function summary(r: BuiltReport): string {
  const lines = r.json.models.map((m) => `${m.model} on ${m.dataSet} (${m.split}): ${scored(m.metrics.n, m.dropped)}; accuracy ${pct(m.metrics.accuracy)}, balanced ${pct(m.metrics.balancedAccuracy)}, ECE ${pct(m.calibration.ece)}`);
  for (const p of r.json.comparison?.pairs ?? []) lines.push(`${p.a} − ${p.b}: ${(100 * p.accuracyDiff).toFixed(2)} pt, McNemar p = ${p.mcnemar.pValue.toPrecision(3)} (${p.mcnemar.onlyA} vs ${p.mcnemar.onlyB} discordant)`);
  for (const m of r.json.cv?.methods ?? []) lines.push(`${m.name}: ${pct(m.accuracy.mean)} ± ${(100 * m.accuracy.std).toFixed(2)} over ${m.perFold.filter((a) => !Number.isNaN(a)).length} folds`);
  for (const p of r.json.cv?.pairs ?? []) lines.push(`${p.a} − ${p.b}: ${(100 * p.test.meanDiff).toFixed(2)} pt over ${p.test.n} folds, paired p = ${p.test.pValue.toPrecision(3)}`);
  return lines.join('\n') + '\n';
}

function jsonOut(r: BuiltReport): object {
  const models = r.json.models.map((m) => ({ model: m.model, dataSet: m.dataSet, split: m.split, ...(m.warnings.length > 0 ? { warnings: m.warnings } : {}), n: m.metrics.n, accuracy: m.metrics.accuracy, balancedAccuracy: m.metrics.balancedAccuracy, perClass: m.metrics.perClass, labels: m.metrics.labels, confusion: m.metrics.confusion, ece: m.calibration.ece, dropped: m.dropped }));
  if (models.length === 1 && !r.json.cv) return models[0] as object;
  return { models, ...(r.json.comparison ? { comparison: r.json.comparison } : {}), ...(r.json.cv ? { cv: r.json.cv } : {}) };
}

/** Several runs of one protocol (e.g. methods or folds run separately) as one: same data set, labels and k. */
function readCvRuns(paths: readonly string[]): { summary: CvSummary; dir: string } {
  const runs = paths.map(readCvResults);
  const first = runs[0] as { summary: CvSummary; dir: string };
  const results: CvSummary['results'] = [];
  for (const [i, r] of runs.entries()) {
    const s = r.summary;
    if (s.dataSet !== first.summary.dataSet || s.folds !== first.summary.folds || s.labels.join() !== first.summary.labels.join()) {
      throw new ExpnetError('BAD_INPUT', `--cv ${paths[i]}: ${s.dataSet}, ${s.folds} folds does not match ${paths[0]} (${first.summary.dataSet}, ${first.summary.folds} folds)`);
    }
    for (const x of s.results) {
      if (results.some((y) => y.method === x.method && y.fold === x.fold)) throw new ExpnetError('BAD_INPUT', `--cv ${paths[i]}: ${x.method} fold ${x.fold} is in two runs`);
      results.push(x);
    }
  }
  return runs.length === 1 ? first : { summary: summarise({ name: first.summary.dataSet, labels: first.summary.labels }, first.summary.folds, results), dir: first.dir };
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      model: { type: 'string', multiple: true },
      predictions: { type: 'string', multiple: true },
      format: { type: 'string' },
      split: { type: 'string' },
      'include-seen': { type: 'boolean' },
      cv: { type: 'string', multiple: true },
      run: { type: 'string' },
      out: { type: 'string' },
      png: { type: 'boolean' },
      mistakes: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const [data] = positionals;
  if (!data && !values.cv) throw new ExpnetError('BAD_CONFIG', 'give a data set folder/CSV, or --cv <run dir>');
  const warn = (m: string): void => void process.stderr.write(`expnet eval: ${m}\n`);
  const models: ReportModel[] = [];
  const sources: string[] = [];
  let runDir = values.run;
  if (data) {
    const format = (values.format ?? detectFormat(data).format) as DataFormat;
    if (!DATA_FORMATS.includes(format)) throw new ExpnetError('BAD_CONFIG', `--format: expected one of ${DATA_FORMATS.join(', ')}, got ${format}`);
    const ds = await readDataSet(format, data);
    const split = evalSplit(ds, values.split);
    const specs: (string | undefined)[] = values.model ?? (values.predictions ? [] : [undefined]);
    const clfs: { spec: string | undefined; clf: ExpressionClassifier }[] = [];
    try {
      for (const spec of specs) clfs.push({ spec, clf: await openClassifier(spec) });
      const scope = heldOutScope(clfs.map((c) => c.clf), ds, split, values['include-seen'] === true);
      for (const [k, { spec, clf }] of clfs.entries()) {
        const warnings = scope.warnings[k] ?? [];
        for (const w of warnings) warn(`warning: ${w}`);
        const r = await predictDataSet(clf, ds, scope.indices, warn);
        models.push({ predictions: r.predictions, images: r.images, dropped: r.dropped, split: scope.description, warnings });
        sources.push(spec ?? 'default model');
        if (!runDir && spec && specs.length === 1 && existsSync(join(dirname(spec), 'metrics.jsonl'))) runDir = dirname(spec);
      }
    } finally {
      for (const { clf } of clfs) await clf.dispose();
    }
  }
  for (const file of values.predictions ?? []) {
    models.push({ predictions: readPredictions(file), images: null, dropped: {}, split: `predictions from ${file}` });
    sources.push(file);
  }
  const names = distinctModelNames(models.map((m) => m.predictions.model), sources);
  models.forEach((m, i) => (m.predictions.model = names[i] ?? m.predictions.model));
  const cv = values.cv && values.cv.length > 0 ? readCvRuns(values.cv) : undefined;
  if (!runDir && cv) runDir = cv.dir;
  const log = runDir ? (runDir.endsWith('.jsonl') ? runDir : join(runDir, 'metrics.jsonl')) : undefined;
  const report = await buildReport(models, {
    title: cv && models.length === 0 ? `Cross-validation report: ${cv.summary.dataSet}` : `Evaluation report: ${models.map((m) => m.predictions.model).join(' vs ')}`,
    command: ['expnet eval', ...argv].join(' '),
    ...(values.mistakes ? { mistakes: Number(values.mistakes) } : {}),
    ...(cv ? { cv: cv.summary } : {}),
    ...(log && existsSync(log) ? { curves: { source: log, points: readTrainingCurves(log) } } : {}),
  });
  if (values.out) {
    const files = await writeReport(values.out, report, values.png === true);
    models.forEach((m, i) => writeFileSync(join(values.out as string, `predictions-${i + 1}.json`), JSON.stringify(predictionsToJson(m.predictions)) + '\n'));
    process.stderr.write(`expnet eval: wrote ${files[0]} (+ ${files.length - 1 + models.length} files)\n`);
  }
  process.stdout.write(values.json ? JSON.stringify(jsonOut(report), null, 1) + '\n' : summary(report));
  return 0;
}
