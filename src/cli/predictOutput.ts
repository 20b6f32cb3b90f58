/**
 * What `expnet predict` prints: an aligned table (the default), CSV rows, or JSON — every input gets a row,
 * faces or not, failed or not (with its error) — and where each annotated copy goes (the input tree mirrored).
 */
import { dirname, extname, join, parse, relative, resolve, sep } from 'node:path';
import type { Face } from '../infer/facePipeline.js';
import type { ImageResult } from '../infer/recognizer.js';
import { ANNOTATED_SUFFIX } from './inputs.js';

/** One input's outcome: its result, or the error that stopped it. */
export type Outcome = { file: string; result: ImageResult; error?: undefined } | { file: string; result?: undefined; error: string };

/** The message of an error about `file`, without repeating the path when the message already names it. */
export function errorText(file: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.startsWith(`${file}: `) ? msg.slice(file.length + 2) : msg;
}

/** Numbers rounded to `decimals` places (null: as computed), recursively. */
export function roundNumbers<T>(value: T, decimals: number | null): T {
  if (decimals === null) return value;
  const f = 10 ** decimals;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'number') return Math.round(v * f) / f;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

export interface JsonOptions {
  decimals: number | null;
  landmarks: boolean;
}

/** One input's JSON entry (failed ones carry `error` and no faces). */
function jsonEntry(x: Outcome, o: JsonOptions): object {
  if (x.error !== undefined) return { input: x.file, error: x.error, faces: [] };
  const faces = x.result.faces.map((f): Partial<Face> => (o.landmarks ? f : { box: f.box, score: f.score, expressions: f.expressions, label: f.label, confidence: f.confidence }));
  return { ...x.result, input: x.file, faces };
}

/** The JSON document: labels, then one entry per input (failed ones carry `error`). */
export function jsonDocument(labels: readonly string[], outcomes: readonly Outcome[], o: JsonOptions): string {
  return jsonHead(labels) + outcomes.map((x, i) => jsonItem(x, i, o)).join('') + JSON_TAIL;
}

/** The document streamed: its head, one item per input as it is done, the tail (an interrupted run keeps its rows). */
export const jsonHead = (labels: readonly string[]): string => `{"labels":${JSON.stringify(labels)},"results":[\n`;
export const jsonItem = (x: Outcome, index: number, o: JsonOptions): string => `${index > 0 ? ',' : ''}${JSON.stringify(roundNumbers(jsonEntry(x, o), o.decimals))}\n`;
export const JSON_TAIL = ']}\n';

/** A JSON Lines row: one input per line, as `--jsonl` streams it and `--resume` reads it back. */
export const jsonLine = (x: Outcome, o: JsonOptions): string => `${JSON.stringify(roundNumbers(jsonEntry(x, o), o.decimals))}\n`;

/** Control characters (a terminal's escape sequences) in a file name, shown as \xNN instead of reaching the terminal. */
export const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function csvHeader(labels: readonly string[]): string {
  return `file,face,x,y,width,height,score,label,confidence,${labels.join(',')},error\n`;
}

/** CSV rows of one input: a row per face; a row with face 0 for no face; a row with the error for a failure. */
export function csvRows(labels: readonly string[], x: Outcome, decimals: number | null): string {
  const num = (v: number, d: number): string => v.toFixed(decimals ?? d);
  const empty = (n: number): string => ','.repeat(n);
  const file = csvField(x.file);
  if (x.error !== undefined) return `${file},0${empty(7 + labels.length)},${csvField(x.error)}\n`;
  if (x.result.faces.length === 0) return `${file},0${empty(7 + labels.length)},\n`;
  return x.result.faces
    .map((f, k) => {
      const b = f.box;
      const probs = labels.map((l) => num((f.expressions as Readonly<Record<string, number | undefined>>)[l] ?? 0, 4)).join(',');
      return `${file},${k + 1},${num(b.x, 1)},${num(b.y, 1)},${num(b.width, 1)},${num(b.height, 1)},${num(f.score, 4)},${f.label},${num(f.confidence, 4)},${probs},\n`;
    })
    .join('');
}

const pct = (p: number): string => `${(100 * p).toFixed(1)}%`;

/** The table's columns; `fileWidth` is the longest input name (known before any image is read). */
export function tableHeader(fileWidth: number): string {
  return tableLine(['file', 'face', 'box (x,y w×h)', 'expression', 'conf', 'next'], fileWidth);
}

const WIDTHS = [4, 20, 10, 6] as const;
function tableLine(cells: readonly string[], fileWidth: number): string {
  const [file = '', face = '', box = '', label = '', conf = '', rest = ''] = cells;
  const pad = [file.padEnd(fileWidth), face.padStart(WIDTHS[0]), box.padEnd(WIDTHS[1]), label.padEnd(WIDTHS[2]), conf.padStart(WIDTHS[3]), rest];
  return `${pad.join('  ').trimEnd()}\n`;
}

/** Table lines of one input (no face and errors get a line too). */
export function tableRows(x: Outcome, fileWidth: number): string {
  const file = printable(x.file);
  if (x.error !== undefined) return tableLine([file, '–', `error: ${printable(x.error)}`], fileWidth);
  if (x.result.faces.length === 0) return tableLine([file, '0', 'no face found'], fileWidth);
  return x.result.faces
    .map((f, i) => {
      const b = f.box;
      const next = Object.entries(f.expressions).sort((a, c) => c[1] - a[1]).slice(1, 3).map(([l, p]) => `${l} ${pct(p)}`).join(', ');
      const box = `${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}×${Math.round(b.height)}`;
      return tableLine([file, String(i + 1), box, f.label, pct(f.confidence), next], fileWidth);
    })
    .join('');
}

/** Deepest folder holding every file. */
function commonDir(files: readonly string[]): string {
  const dirs = files.map((f) => dirname(resolve(f)).split(sep));
  const first = dirs[0] ?? [];
  let n = first.length;
  for (const d of dirs) {
    let k = 0;
    while (k < n && d[k] === first[k]) k++;
    n = k;
  }
  return first.slice(0, n).join(sep) || sep;
}

/**
 * Where each input's annotated PNG goes under `outDir`: its path below the inputs' common folder, with the
 * extension replaced by `.annotated.png` (kept as well when two inputs differ only by extension). Distinct
 * inputs always get distinct names.
 */
export function annotatedPaths(files: readonly string[], outDir: string): Map<string, string> {
  const root = commonDir(files);
  const stem = (f: string): string => {
    const rel = relative(root, resolve(f));
    return join(dirname(rel), parse(rel).name);
  };
  const count = new Map<string, number>();
  for (const f of new Set(files)) count.set(stem(f), (count.get(stem(f)) ?? 0) + 1);
  const out = new Map<string, string>();
  for (const f of files) {
    const s = stem(f);
    out.set(f, join(outDir, `${(count.get(s) ?? 0) > 1 ? `${s}${extname(f)}` : s}${ANNOTATED_SUFFIX}`));
  }
  return out;
}
