import path from 'node:path';
import { compareNames } from './listDir.js';

/** Frame number of a file: the last run of digits in its base name (`017.jpeg` → 17), or undefined. */
export function frameNumber(fileName: string): number | undefined {
  const m = /(\d+)(?!.*\d)/.exec(path.parse(fileName).name);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Files sorted by frame number (then name); the last `n` of them with their frame numbers. */
export function lastFrames(files: readonly string[], n: number): { file: string; frame: number | undefined }[] {
  const sorted = files
    .map((file) => ({ file, frame: frameNumber(file) }))
    .sort((a, b) => (a.frame ?? -1) - (b.frame ?? -1) || compareNames(a.file, b.file));
  return sorted.slice(Math.max(0, sorted.length - n));
}
