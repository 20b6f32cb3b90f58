/** `expnet predict`: faces and expressions of images, as a table, JSON or CSV; optional annotated copies. */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ExpnetError, fsReason } from '../errors.js';
import { annotatePng } from '../infer/annotate.js';
import { readRgb } from '../infer/readImage.js';
import { createRecognizer, type ImageResult, type Recognizer } from '../infer/recognizer.js';
import { expandInputs, STDIN } from './inputs.js';
import { DETECTOR_OPTIONS, parseOptions, recognizerOptions } from './options.js';
import { annotatedPaths, csvHeader, csvRows, errorText, JSON_TAIL, jsonHead, jsonItem, jsonLine, printable, tableHeader, tableRows, type Outcome } from './predictOutput.js';
import { predictProgress } from './predictProgress.js';
import { resumeDone } from './predictResume.js';
import { predictVideoCommand, VIDEO_HELP, VIDEO_OPTIONS } from './predictVideo.js';
import { isVideoFile } from './videoFiles.js';

/** Default decimals of JSON numbers (probabilities to 0.01 %, boxes and landmarks to 1/10,000 px). */
export const DEFAULT_DECIMALS = 4;

export const PREDICT_HELP = `expnet predict <files|folders|globs|-> [options]
  Detects every face (SSD MobileNetV1; a photo where none is found gets a second look inside a border, for
  close-ups), finds 68 landmarks, aligns, and classifies the expression with the bundled FaceNet2ExpNet model
  (ONNX Runtime, offline). Every input gets a row: its faces, "no face", or its error. Folders are walked with
  their sub-folders (symlinked ones too, hidden files skipped); globs: * ** ? {a,b} [12]; - reads one image from
  stdin. Only regular files are read: unreadable files and folders get an error row and the rest goes on.
  --json | --jsonl | --csv   machine-readable output (default: an aligned table); --json is one document,
                     --jsonl one line per input; both are written as each input is done
  --output FILE      write the rows to FILE instead of stdout
  --resume           with --jsonl --output FILE: skip the inputs FILE already answers (errors are retried)
  --decimals N       digits after the point in JSON and CSV (default ${DEFAULT_DECIMALS} in JSON)
  --no-landmarks     leave the 68 landmarks out of the JSON (compact output)
  --annotate DIR     write annotated PNGs with boxes, labels and probability panels; DIR mirrors the inputs'
                     folders (a/x.jpg → DIR/a/x.annotated.png); the copies (*.annotated.png under DIR) are
                     never read as inputs, so DIR may be the input folder itself
  --crops            inputs are face crops already (FER2013/CK+ style): no detection, the image is the face
  --models DIR       model folder (default: the bundled models/)
  --model NAME|FILE  expression model: a name in the model folder, or an .onnx file with its .json card beside it
  --min-score S      detector confidence threshold in [0, 1] (default 0.5)
  --detector-size N  detector input side, a multiple of 32 (default 384; 512 = face-api.js's, for small faces)
  --detector-precision int8|float32   (default int8 at the default size, float32 with --detector-size)
  --any-format       decode any format sharp opens, not only JPEG/PNG/WebP/GIF/TIFF/AVIF (trusted inputs only:
                     an SVG renders the local files it names)
  --prior train|uniform  class prior of the photos: train (default) = as the model learnt it from its training
                     set's class balance; uniform = divided by the prior the model learnt (card classPrior), for
                     photos whose expressions are about equally likely (posed sets). Calibration (temperature)
                     is always applied: it is inside the exported graph.
${VIDEO_HELP}
  exit codes: 0 ok; 2 bad usage; 3 no input found (or an empty folder); 4 some inputs could not be read (reported, skipped)`;

export const PREDICT_OPTIONS = {
  ...DETECTOR_OPTIONS,
  json: { kind: 'flag' },
  jsonl: { kind: 'flag' },
  csv: { kind: 'flag' },
  output: { kind: 'string' },
  resume: { kind: 'flag' },
  decimals: { kind: 'number', integer: true, min: 0, max: 12 },
  'no-landmarks': { kind: 'flag' },
  annotate: { kind: 'string' },
  crops: { kind: 'flag' },
  prior: { kind: 'choice', choices: ['train', 'uniform'] },
  ...VIDEO_OPTIONS,
} as const;

/** Usage errors found before any model is loaded. */
function checkUsage(v: { json?: boolean; jsonl?: boolean; csv?: boolean; output?: string; resume?: boolean; annotate?: string }, positionals: readonly string[]): void {
  if (positionals.length === 0) throw new ExpnetError('BAD_CONFIG', 'give at least one image, folder or glob (or - for stdin)');
  if ([v.json, v.jsonl, v.csv].filter(Boolean).length > 1) throw new ExpnetError('BAD_CONFIG', '--json, --jsonl and --csv: choose one');
  if (v.resume && !(v.jsonl && v.output !== undefined)) throw new ExpnetError('BAD_CONFIG', '--resume needs --jsonl --output FILE (the rows of the earlier run)');
  if (positionals.filter((p) => p === STDIN).length > 1) throw new ExpnetError('BAD_CONFIG', 'stdin (-) can be read once');
  if (v.annotate !== undefined) {
    let dir = true;
    try {
      dir = statSync(v.annotate).isDirectory();
    } catch {
      // created when the first copy is written
    }
    if (!dir) throw new ExpnetError('BAD_CONFIG', `--annotate ${v.annotate}: expected a folder for the annotated copies, got an existing file`);
  }
}

/** Writes `bytes` to `path` through a temporary file and a rename: a failed write leaves no truncated PNG. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ExpnetError('BAD_INPUT', `cannot write ${path}: ${fsReason(err)}`, { cause: err });
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Where the rows go: stdout, or a file (appended to when resuming), written as they come. */
function sink(output: string | undefined, append: boolean): { write(text: string): void; close(): void; tty: boolean } {
  if (output === undefined) return { write: (t) => void process.stdout.write(t), close: () => undefined, tty: process.stdout.isTTY === true };
  let fd: number;
  try {
    mkdirSync(dirname(output), { recursive: true });
    fd = openSync(output, append ? 'a' : 'w');
  } catch (err) {
    throw new ExpnetError('BAD_CONFIG', `--output ${output}: cannot write (${fsReason(err)})`, { cause: err });
  }
  return { write: (t) => void writeSync(fd, t), close: () => closeSync(fd), tty: false };
}

export async function predictCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, PREDICT_OPTIONS, { positionals: true });
  checkUsage(values, positionals);
  const listed = expandInputs(positionals, values.annotate !== undefined ? { exclude: values.annotate } : {});
  const { missing, empty, problems } = listed;
  for (const m of missing) process.stderr.write(`expnet predict: no such file or no match: ${printable(m)}\n`);
  for (const e of empty) process.stderr.write(`expnet predict: no images in folder ${printable(e)} (looked for .jpg .jpeg .png .webp .gif .tif .tiff .avif)\n`);
  const done = values.resume && values.output !== undefined ? resumeDone(values.output) : new Set<string>();
  const files = listed.files.filter((f) => !done.has(f));
  if (listed.files.length === 0 && problems.length === 0) {
    if (missing.length === 0 && empty.length === 0) process.stderr.write('expnet predict: no input\n');
    return 3;
  }
  if (files.some(isVideoFile)) return predictVideoCommand(values, files, missing.length + problems.length);
  if (done.size > 0) process.stderr.write(`expnet predict: --resume: ${listed.files.length - files.length} of ${listed.files.length} inputs already in ${printable(values.output ?? '')}\n`);
  const rec = await createRecognizer({ ...recognizerOptions(values), ...(values.prior !== undefined ? { prior: values.prior } : {}) });
  const annotated = values.annotate !== undefined ? annotatedPaths(files.filter((f) => f !== STDIN), values.annotate) : null;
  if (annotated !== null && files.includes(STDIN)) annotated.set(STDIN, join(values.annotate ?? '.', 'stdin.annotated.png'));
  const json = { decimals: values.decimals ?? (values.json || values.jsonl ? DEFAULT_DECIMALS : null), landmarks: values['no-landmarks'] !== true };
  const out = sink(values.output, done.size > 0);
  const fileWidth = Math.max(4, ...[...files, ...problems.map((p) => p.path)].map((f) => printable(f).length));
  const progress = predictProgress(files.length);
  const machine = values.json || values.jsonl || values.csv;
  let rows = 0;
  const emit = (x: Outcome): void => {
    if (x.error !== undefined && (machine || values.output !== undefined || process.stdout.isTTY !== true)) {
      progress.clear();
      process.stderr.write(`expnet predict: ${printable(x.file)}: ${printable(x.error)}\n`);
    }
    if (values.csv) out.write(csvRows(rec.labels, out.tty ? { ...x, file: printable(x.file) } : x, json.decimals));
    else if (values.json) out.write(jsonItem(x, rows, json));
    else if (values.jsonl) out.write(jsonLine(x, json));
    else out.write(tableRows(x, fileWidth));
    rows++;
  };
  let failed = missing.length + problems.length;
  try {
    if (values.csv) out.write(csvHeader(rec.labels));
    else if (values.json) out.write(jsonHead(rec.labels));
    else if (!values.jsonl) out.write(tableHeader(fileWidth));
    for (const p of problems) emit({ file: p.path, error: p.reason });
    for (const [i, file] of files.entries()) {
      progress.start(i, file);
      const x = await predictOne(rec, file, values.crops === true, annotated?.get(file), values['any-format'] === true);
      if (x.error !== undefined) failed++;
      emit(x);
    }
    if (values.json) out.write(JSON_TAIL);
  } finally {
    progress.clear();
    out.close();
    await rec.dispose();
  }
  return failed > 0 ? 4 : 0;
}

/** One input: its result (and annotated copy), or the error that stopped it. */
async function predictOne(rec: Recognizer, file: string, crops: boolean, annotate: string | undefined, anyFormat: boolean): Promise<Outcome> {
  try {
    const input = file === STDIN ? await readStdin() : file;
    const r: ImageResult = crops ? await rec.classifyCrop(input) : await rec.detect(input);
    const result = { ...r, input: file };
    if (annotate !== undefined) writeFileAtomic(annotate, await annotatePng(await readRgb(input, undefined, { anyFormat }), result));
    return { file, result };
  } catch (err) {
    return { file, error: errorText(file, err) };
  }
}
