/** `expnet predict`: faces and expressions of images, as a table, JSON or CSV; optional annotated copies. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExpnetError } from '../errors.js';
import { annotatePng } from '../infer/annotate.js';
import { readRgb } from '../infer/readImage.js';
import { createRecognizer, type ImageResult } from '../infer/recognizer.js';
import { expandInputs } from './inputs.js';

export const PREDICT_HELP = `expnet predict <files|folders|globs> [options]
  Detects every face (SSD MobileNetV1), finds 68 landmarks, aligns, and classifies the expression with the
  bundled FaceNet2ExpNet model (ONNX Runtime, offline).
  --json | --csv     machine-readable output (default: a table)
  --annotate DIR     write <name>.annotated.png with boxes, labels and probability bars
  --crops            inputs are face crops already (FER2013/CK+ style): no detection, the image is the face
  --models DIR       model folder (default: the bundled models/)   --model NAME  expression model in it
  --min-score S      detector confidence threshold (default 0.5)
  --detector-size N  detector input side, a multiple of 32 (default 384; 512 = face-api.js's, for small faces)
  --detector-precision int8|float32   (default int8 at the default size, float32 with --detector-size)
  --any-format       decode any format sharp opens, not only JPEG/PNG/WebP/GIF/TIFF/AVIF (trusted inputs only:
                     an SVG renders the local files it names)
  exit codes: 0 ok; 2 bad usage; 3 no input found; 4 some inputs could not be read (reported, skipped)`;

const pct = (p: number): string => `${(100 * p).toFixed(1)}%`;

function table(r: ImageResult): string {
  if (r.faces.length === 0) return `${r.input}: no face found\n`;
  return r.faces
    .map((f, i) => {
      const top = Object.entries(f.expressions).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([l, p]) => `${l} ${pct(p)}`).join(', ');
      const b = f.box;
      return `${r.input}  face ${i + 1}  box ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}×${Math.round(b.height)}  ${f.label.toUpperCase()} ${pct(f.confidence)}  (${top})\n`;
    })
    .join('');
}

export async function predictCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { json: { type: 'boolean' }, csv: { type: 'boolean' }, annotate: { type: 'string' }, crops: { type: 'boolean' }, models: { type: 'string' }, model: { type: 'string' }, 'min-score': { type: 'string' }, 'detector-size': { type: 'string' }, 'detector-precision': { type: 'string' }, 'any-format': { type: 'boolean' } },
  });
  if (positionals.length === 0) throw new ExpnetError('BAD_CONFIG', 'give at least one image, folder or glob');
  const { files, missing } = expandInputs(positionals);
  for (const m of missing) process.stderr.write(`expnet predict: no such file or no match: ${m}\n`);
  if (files.length === 0) return 3;
  const minScore = values['min-score'] === undefined ? undefined : Number(values['min-score']);
  const precision = values['detector-precision'];
  if (precision !== undefined && precision !== 'int8' && precision !== 'float32') throw new ExpnetError('BAD_CONFIG', `--detector-precision: expected int8 or float32, got '${precision}'`);
  const rec = await createRecognizer({
    ...(values.models ? { modelDir: values.models } : {}),
    ...(values.model ? { expressionModel: values.model } : {}),
    ...(minScore !== undefined ? { detector: { minConfidence: minScore } } : {}),
    ...(values['detector-size'] !== undefined ? { detectorSize: Number(values['detector-size']) } : {}),
    ...(precision !== undefined ? { detectorPrecision: precision } : {}),
    anyFormat: values['any-format'] === true,
  });
  if (values.annotate) mkdirSync(values.annotate, { recursive: true });
  const results: ImageResult[] = [];
  let failed = missing.length;
  const tty = process.stderr.isTTY === true && files.length > 1;
  if (values.csv) process.stdout.write(`file,face,x,y,width,height,score,label,confidence,${rec.labels.join(',')}\n`);
  for (const [i, file] of files.entries()) {
    if (tty) process.stderr.write(`\r${i + 1}/${files.length} ${basename(file)}\x1b[K`);
    try {
      const r = values.crops ? await rec.classifyCrop(file) : await rec.detect(file);
      results.push(r);
      if (values.csv) {
        r.faces.forEach((f, k) =>
          process.stdout.write(`${JSON.stringify(file)},${k + 1},${f.box.x.toFixed(1)},${f.box.y.toFixed(1)},${f.box.width.toFixed(1)},${f.box.height.toFixed(1)},${f.score.toFixed(4)},${f.label},${f.confidence.toFixed(4)},${rec.labels.map((l) => (f.expressions[l] ?? 0).toFixed(4)).join(',')}\n`),
        );
      } else if (!values.json) process.stdout.write(table(r));
      if (values.annotate) {
        const img = await readRgb(file, undefined, { anyFormat: values['any-format'] === true });
        writeFileSync(join(values.annotate, `${basename(file, extname(file))}.annotated.png`), await annotatePng(img, r));
      }
    } catch (err) {
      failed++;
      process.stderr.write(`${tty ? '\n' : ''}expnet predict: ${file}: ${(err as Error).message}\n`);
    }
  }
  if (tty) process.stderr.write('\n');
  if (values.json) process.stdout.write(JSON.stringify({ labels: rec.labels, results }, null, 1) + '\n');
  await rec.dispose();
  return failed > 0 ? 4 : 0;
}
