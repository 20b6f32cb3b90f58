/**
 * What `expnet predict` prints for videos (and photos beside them): one row per face per sampled frame — time,
 * frame, track, box, expression, probabilities — as CSV, JSON Lines or an aligned table, and a per-track summary.
 */
import type { TrackedFace, TrackSummary } from '../infer/faceTracker.js';
import { roundNumbers } from './predictOutput.js';

export type RowFormat = 'csv' | 'jsonl' | 'table';

export interface FrameRows {
  file: string;
  time: number;
  frame: number;
  faces: readonly TrackedFace[];
}

const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const pct = (p: number): string => `${(100 * p).toFixed(1)}%`;
const prob = (f: TrackedFace, l: string): number => (f.expressions as Readonly<Record<string, number | undefined>>)[l] ?? 0;

export function videoHeader(format: RowFormat, labels: readonly string[], fileWidth: number): string {
  if (format === 'csv') return `file,time,frame,track,x,y,width,height,score,label,confidence,${labels.join(',')},error\n`;
  if (format === 'table') return tableLine(['file', 'time', 'frame', 'track', 'box (x,y w×h)', 'expression', 'conf', 'next'], fileWidth);
  return '';
}

const WIDTHS = [8, 6, 5, 20, 10, 6] as const;
function tableLine(cells: readonly string[], fileWidth: number): string {
  const [file = '', time = '', frame = '', track = '', box = '', label = '', conf = '', rest = ''] = cells;
  const pad = [file.padEnd(fileWidth), time.padStart(WIDTHS[0]), frame.padStart(WIDTHS[1]), track.padStart(WIDTHS[2]), box.padEnd(WIDTHS[3]), label.padEnd(WIDTHS[4]), conf.padStart(WIDTHS[5]), rest];
  return `${pad.join('  ').trimEnd()}\n`;
}

/** The rows of one frame (none when it has no face). */
export function videoRows(format: RowFormat, labels: readonly string[], x: FrameRows, o: { decimals: number | null; fileWidth: number }): string {
  const num = (v: number, d: number): string => v.toFixed(o.decimals ?? d);
  return x.faces
    .map((f) => {
      const b = f.box;
      if (format === 'csv') {
        const probs = labels.map((l) => num(prob(f, l), 4)).join(',');
        return `${csvField(x.file)},${num(x.time, 3)},${x.frame},${f.track},${num(b.x, 1)},${num(b.y, 1)},${num(b.width, 1)},${num(b.height, 1)},${num(f.score, 4)},${f.label},${num(f.confidence, 4)},${probs},\n`;
      }
      if (format === 'jsonl') {
        const row = { type: 'face', file: x.file, time: x.time, frame: x.frame, track: f.track, box: b, score: f.score, label: f.label, confidence: f.confidence, expressions: f.expressions, raw: f.raw };
        return `${JSON.stringify(roundNumbers(row, o.decimals ?? 4))}\n`;
      }
      const next = Object.entries(f.expressions).sort((a, c) => c[1] - a[1]).slice(1, 3).map(([l, p]) => `${l} ${pct(p)}`).join(', ');
      const box = `${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}×${Math.round(b.height)}`;
      return tableLine([x.file, `${x.time.toFixed(2)}s`, String(x.frame), String(f.track), box, f.label, pct(f.confidence), next], o.fileWidth);
    })
    .join('');
}

/** An input that failed: a CSV row or JSON line with its error, or a table line. */
export function videoError(format: RowFormat, labels: readonly string[], file: string, error: string, fileWidth: number): string {
  if (format === 'csv') return `${csvField(file)}${','.repeat(10 + labels.length)},${csvField(error)}\n`;
  if (format === 'jsonl') return `${JSON.stringify({ type: 'error', file, error })}\n`;
  return tableLine([file, '', '', '–', `error: ${error}`], fileWidth);
}

/** The per-track summary of one input: JSON lines (type "track"), or a small table (CSV's goes to stderr). */
export function trackSummary(format: RowFormat, file: string, tracks: readonly TrackSummary[], o: { decimals: number | null; frames: number }): string {
  if (format === 'jsonl') return tracks.map((t) => `${JSON.stringify(roundNumbers({ type: 'track', file, ...t }, o.decimals ?? 4))}\n`).join('');
  const head = `${file}: ${o.frames} frame${o.frames === 1 ? '' : 's'}, ${tracks.length} track${tracks.length === 1 ? '' : 's'}\n`;
  const lines = tracks.map((t) => {
    const share = Object.entries(t.share).sort((a, b) => b[1] - a[1]).map(([l, s]) => `${l} ${pct(s)}`).join(', ');
    return `  track ${String(t.track).padStart(3)}  ${t.start.toFixed(2)}–${t.end.toFixed(2)} s  ${t.duration.toFixed(2)} s  ${String(t.frames).padStart(5)} frames  ${t.dominant.padEnd(9)}  ${share}\n`;
  });
  return head + lines.join('');
}
