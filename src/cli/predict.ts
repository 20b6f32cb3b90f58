/** `expnet predict`: faces and expressions of images, as a table, JSON or CSV; optional annotated copies. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ExpnetError } from '../errors.js';
import { annotatePng } from '../infer/annotate.js';
import { readRgb } from '../infer/readImage.js';
import { createRecognizer } from '../infer/recognizer.js';
import { expandInputs } from './inputs.js';
import { DETECTOR_OPTIONS, parseOptions, recognizerOptions } from './options.js';
import { annotatedPaths, csvHeader, csvRows, errorText, jsonDocument, tableHeader, tableRows, type Outcome } from './predictOutput.js';

/** Default decimals of JSON numbers (probabilities to 0.01 %, boxes and landmarks to 1/10,000 px). */
export const DEFAULT_DECIMALS = 4;

export const PREDICT_HELP = `expnet predict <files|folders|globs> [options]
  Detects every face (SSD MobileNetV1), finds 68 landmarks, aligns, and classifies the expression with the
  bundled FaceNet2ExpNet model (ONNX Runtime, offline). Every input gets a row: its faces, "no face", or its error.
  --json | --csv     machine-readable output (default: an aligned table)
  --decimals N       digits after the point in JSON and CSV (default ${DEFAULT_DECIMALS} in JSON)
  --no-landmarks     leave the 68 landmarks out of the JSON (compact output)
  --annotate DIR     write annotated PNGs with boxes, labels and probability panels; DIR mirrors the inputs'
                     folders (a/x.jpg → DIR/a/x.annotated.png)
  --crops            inputs are face crops already (FER2013/CK+ style): no detection, the image is the face
  --models DIR       model folder (default: the bundled models/)   --model NAME  expression model in it
  --min-score S      detector confidence threshold in [0, 1] (default 0.5)
  --detector-size N  detector input side, a multiple of 32 (default 384; 512 = face-api.js's, for small faces)
  --detector-precision int8|float32   (default int8 at the default size, float32 with --detector-size)
  --any-format       decode any format sharp opens, not only JPEG/PNG/WebP/GIF/TIFF/AVIF (trusted inputs only:
                     an SVG renders the local files it names)
  --prior train|uniform  class prior of the photos: train (default) = as the model learnt it from its training
                     set's class balance; uniform = divided by the prior the model learnt (card classPrior), for
                     photos whose expressions are about equally likely (posed sets). Calibration (temperature)
                     is always applied: it is inside the exported graph.
  exit codes: 0 ok; 2 bad usage; 3 no input found; 4 some inputs could not be read (reported, skipped)`;

export const PREDICT_OPTIONS = {
  ...DETECTOR_OPTIONS,
  json: { kind: 'flag' },
  csv: { kind: 'flag' },
  decimals: { kind: 'number', integer: true, min: 0, max: 12 },
  'no-landmarks': { kind: 'flag' },
  annotate: { kind: 'string' },
  crops: { kind: 'flag' },
  prior: { kind: 'choice', choices: ['train', 'uniform'] },
} as const;

export async function predictCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, PREDICT_OPTIONS, { positionals: true });
  if (positionals.length === 0) throw new ExpnetError('BAD_CONFIG', 'give at least one image, folder or glob');
  if (values.json && values.csv) throw new ExpnetError('BAD_CONFIG', '--json and --csv: choose one');
  const { files, missing } = expandInputs(positionals);
  for (const m of missing) process.stderr.write(`expnet predict: no such file or no match: ${m}\n`);
  if (files.length === 0) return 3;
  const rec = await createRecognizer({ ...recognizerOptions(values), ...(values.prior !== undefined ? { prior: values.prior } : {}) });
  const annotated = values.annotate !== undefined ? annotatedPaths(files, values.annotate) : null;
  const decimals = values.decimals ?? (values.json ? DEFAULT_DECIMALS : null);
  const fileWidth = Math.max(4, ...files.map((f) => f.length));
  const outcomes: Outcome[] = [];
  let failed = missing.length;
  const tty = process.stderr.isTTY === true && files.length > 1;
  if (values.csv) process.stdout.write(csvHeader(rec.labels));
  else if (!values.json) process.stdout.write(tableHeader(fileWidth));
  try {
    for (const [i, file] of files.entries()) {
      if (tty) process.stderr.write(`\r${i + 1}/${files.length} ${basename(file)}\x1b[K`);
      let x: Outcome;
      try {
        const result = values.crops ? await rec.classifyCrop(file) : await rec.detect(file);
        const out = annotated?.get(file);
        if (out !== undefined) {
          mkdirSync(dirname(out), { recursive: true });
          writeFileSync(out, await annotatePng(await readRgb(file, undefined, { anyFormat: values['any-format'] === true }), result));
        }
        x = { file, result };
      } catch (err) {
        failed++;
        x = { file, error: errorText(file, err) };
        // a table on a terminal shows the error in its row already
        if (values.json || values.csv || process.stdout.isTTY !== true) process.stderr.write(`${tty ? '\r\x1b[K' : ''}expnet predict: ${file}: ${x.error}\n`);
      }
      outcomes.push(x);
      if (values.csv) process.stdout.write(csvRows(rec.labels, x, decimals));
      else if (!values.json) process.stdout.write(tableRows(x, fileWidth));
    }
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
    await rec.dispose();
  }
  if (values.json) process.stdout.write(jsonDocument(rec.labels, outcomes, { decimals, landmarks: values['no-landmarks'] !== true }));
  return failed > 0 ? 4 : 0;
}
