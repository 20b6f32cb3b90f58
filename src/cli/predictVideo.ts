/**
 * `expnet predict` on videos (and the photos beside them in the same call): a row per face per sampled frame,
 * streamed as it goes; a per-track summary per input; --annotate writes annotated videos through ffmpeg; a
 * progress bar with frames/s and ETA on a terminal; Ctrl-C stops cleanly, keeping every row written and closing
 * the annotated video so it plays.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { ExpnetError } from '../errors.js';
import { annotateFrame } from '../infer/annotateFrame.js';
import { annotatePng } from '../infer/annotate.js';
import type { TrackedFace } from '../infer/faceTracker.js';
import { readRgb } from '../infer/readImage.js';
import { createRecognizer, type Recognizer } from '../infer/recognizer.js';
import { VideoWriter } from '../infer/videoWriter.js';
import { writeFileSync } from 'node:fs';
import { recognizerOptions, type OptionValues } from './options.js';
import type { PREDICT_OPTIONS } from './predict.js';
import { annotatedPaths, errorText } from './predictOutput.js';
import { fmtTime } from './progressBar.js';
import { isVideoFile } from './videoFiles.js';
import { trackSummary, videoError, videoHeader, videoRows, type RowFormat } from './videoRows.js';

export const VIDEO_OPTIONS = {
  fps: { kind: 'number', min: 0.001, max: 1000 },
  start: { kind: 'number', min: 0 },
  end: { kind: 'number', min: 0 },
  'every-face': { kind: 'flag' },
  smooth: { kind: 'choice', choices: ['ema', 'window', 'none'] },
  'detect-every': { kind: 'number', integer: true, min: 1, max: 100 },
} as const;

export const VIDEO_HELP = `  videos (.mp4 .mov .mkv .webm .avi …, decoded by Debian's ffmpeg): a row per face per sampled frame with its
  time, frame and track id, then a summary per track (duration, dominant expression, share per expression)
  --fps N            frames sampled per second (default: every frame, at most 30/s)
  --start S --end S  seconds of the clip to read (default: all of it)
  --every-face       every face of each frame (default: the largest face only)
  --smooth ema|window|none  smoothing of each track's probabilities (default ema for videos; photos: none)
  --detect-every K   the face detector on every K-th frame only, faces followed by their landmarks in between
                     (default 1: every frame; 5 is ~2× faster, new faces found up to K−1 frames late)
  --json | --jsonl   JSON Lines for videos: {"type":"face",…} per row as it goes, {"type":"track",…} per track
  --annotate OUT     one video input: OUT.mp4 (or .mkv/.webm) is the annotated video; otherwise a folder
                     (a/x.mp4 → OUT/a/x.annotated.mp4)
  Ctrl-C stops: the rows written stay, the annotated video is closed (exit 130)`;

type Values = OptionValues<typeof PREDICT_OPTIONS>;

/** Where each input's annotated copy goes (one video + a video file name: that file). */
function annotateTargets(files: readonly string[], out: string | undefined): Map<string, string> | null {
  if (out === undefined) return null;
  const [only] = files;
  if (files.length === 1 && only !== undefined && isVideoFile(only) && isVideoFile(out)) return new Map([[only, out]]);
  const pngs = annotatedPaths(files, out);
  return new Map([...pngs].map(([f, p]) => [f, isVideoFile(f) ? p.replace(/\.annotated\.png$/, '.annotated.mp4') : p]));
}

function progress(stream: NodeJS.WriteStream, file: string): (n: number, total: number | null, fps: number) => void {
  let last = 0;
  return (n, total, fps) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    const width = 20;
    const bar = total ? '█'.repeat(Math.round((width * Math.min(n, total)) / total)).padEnd(width, '░') : '';
    const eta = total ? ` ETA ${fmtTime((total - n) / Math.max(fps, 1e-9))}` : '';
    stream.write(`\r${basename(file)} ${bar} ${n}${total ? `/${total}` : ''} frames ${fps.toFixed(1)} frames/s${eta}\x1b[K`);
  };
}

export async function predictVideoCommand(values: Values, files: readonly string[], failedBefore: number): Promise<number> {
  if (values.crops) throw new ExpnetError('BAD_CONFIG', '--crops is for face-crop photos, not videos');
  if (values.end !== undefined && values.end <= (values.start ?? 0)) throw new ExpnetError('BAD_CONFIG', `--end ${values.end} must be after --start ${values.start ?? 0}`);
  if (values.output !== undefined || values.resume) throw new ExpnetError('BAD_CONFIG', '--output and --resume are for photos; redirect a video\'s rows (they stream to stdout as they go)');
  const format: RowFormat = values.csv ? 'csv' : values.json || values.jsonl ? 'jsonl' : 'table';
  const rec = await createRecognizer({ ...recognizerOptions(values), ...(values.prior !== undefined ? { prior: values.prior } : {}) });
  const targets = annotateTargets(files, values.annotate);
  const decimals = values.decimals ?? null;
  const fileWidth = Math.max(4, ...files.map((f) => f.length));
  const out = (s: string): void => {
    if (s !== '') process.stdout.write(s);
  };
  let stopped = false;
  const onSigint = (): void => {
    if (stopped) process.exit(130);
    stopped = true;
  };
  process.on('SIGINT', onSigint);
  let failed = failedBefore;
  out(videoHeader(format, rec.labels, fileWidth));
  try {
    for (const file of files) {
      if (stopped) break;
      try {
        if (isVideoFile(file)) await oneVideo(rec, file, values, { format, decimals, fileWidth, target: targets?.get(file), stopped: () => stopped, out });
        else await onePhoto(rec, file, values, { format, decimals, fileWidth, target: targets?.get(file), out });
      } catch (err) {
        if (!(err instanceof ExpnetError) || !['BAD_VIDEO', 'BAD_IMAGE', 'NOT_FOUND'].includes(err.code)) throw err;
        failed++;
        const msg = errorText(file, err);
        out(videoError(format, rec.labels, file, msg, fileWidth));
        if (format !== 'table' || process.stdout.isTTY !== true) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}expnet predict: ${file}: ${msg}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    await rec.dispose();
  }
  if (stopped) {
    process.stderr.write('expnet predict: stopped (Ctrl-C); the rows above are complete up to there\n');
    return 130;
  }
  return failed > 0 ? 4 : 0;
}

interface Sink {
  format: RowFormat;
  decimals: number | null;
  fileWidth: number;
  target: string | undefined;
  out: (s: string) => void;
}

async function onePhoto(rec: Recognizer, file: string, values: Values, o: Sink): Promise<void> {
  const result = await rec.detect(file);
  const faces: TrackedFace[] = result.faces.map((f, i) => ({ ...f, track: i + 1, raw: f.expressions }));
  o.out(videoRows(o.format, rec.labels, { file, time: 0, frame: 0, faces }, o));
  if (o.target !== undefined) {
    mkdirSync(dirname(o.target), { recursive: true });
    writeFileSync(o.target, await annotatePng(await readRgb(file, undefined, { anyFormat: values['any-format'] === true }), result));
  }
}

async function oneVideo(rec: Recognizer, file: string, values: Values, o: Sink & { stopped: () => boolean }): Promise<void> {
  const run = rec.video(file, {
    ...(values.fps !== undefined ? { fps: values.fps } : {}),
    ...(values.start !== undefined ? { start: values.start } : {}),
    ...(values.end !== undefined ? { end: values.end } : {}),
    smoothing: values.smooth ?? 'ema',
    ...(values['detect-every'] !== undefined ? { detectEvery: values['detect-every'] } : {}),
    faces: values['every-face'] === true ? 'all' : 'largest',
    keepImages: o.target !== undefined,
  });
  const info = await run.info();
  const total = await run.expectedFrames();
  const fps = await run.fps();
  const bar = process.stderr.isTTY === true ? progress(process.stderr, file) : null;
  let writer: VideoWriter | null = null;
  if (o.target !== undefined) {
    if (extname(o.target) === '') throw new ExpnetError('BAD_CONFIG', `--annotate ${o.target}: name the video file (.mp4, .mkv, .webm)`);
    mkdirSync(dirname(o.target), { recursive: true });
    writer = await VideoWriter.open(o.target, info.width, info.height, fps);
  }
  const t0 = performance.now();
  let n = 0;
  try {
    for await (const frame of run) {
      o.out(videoRows(o.format, rec.labels, { file, time: frame.time, frame: frame.frame, faces: frame.faces }, o));
      if (writer !== null && frame.image !== undefined) await writer.write(await annotateFrame(frame.image, frame.faces, rec.labels));
      n++;
      bar?.(n, total, (1000 * n) / (performance.now() - t0));
      if (o.stopped()) break;
    }
  } finally {
    if (bar) process.stderr.write('\r\x1b[K');
    await writer?.close();
    const summary = trackSummary(o.format, file, run.summary(), { decimals: o.decimals, frames: n });
    if (o.format === 'csv') process.stderr.write(summary);
    else o.out(summary);
  }
}
