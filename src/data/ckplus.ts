import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ExpnetError } from '../errors.js';
import { parseCkPlusName } from './ckplus48.js';
import type { DataSet, Sample } from './dataSet.js';
import { CKPLUS48_LABELS, CKPLUS_LABELS, type ExpressionLabel } from './labels.js';
import { compareNames, firstDir, isDir, isImageFile, listDir, relPosix } from './listDir.js';

export interface CkPlusOptions {
  /** Frames taken from the end of each labelled sequence (default 3, the paper's protocol). */
  framesPerSequence?: number;
  /** Also take each labelled sequence's first frame as `neutral` (→ 8 classes, CKPLUS_LABELS). Default false. */
  neutralFirstFrame?: boolean;
}

/**
 * Parses a CK+ emotion file: one number (e.g. `   3.0000000e+00`) that is an integer code 0..7
 * (CKPLUS_LABELS). Blank lines are ignored.
 * @throws ExpnetError('BAD_LABEL_FILE') naming the file and line.
 */
export function parseCkPlusEmotion(text: string, file: string): ExpressionLabel {
  const lines = text.split(/\r?\n/);
  let found: { code: number; line: number } | undefined;
  lines.forEach((raw, i) => {
    const s = raw.trim();
    if (s === '') return;
    const value = Number(s);
    if (found !== undefined || !Number.isInteger(value) || value < 0 || value > 7) {
      const why = found !== undefined ? 'a second value' : JSON.stringify(s);
      throw new ExpnetError('BAD_LABEL_FILE', `${file}:${i + 1}: expected one emotion code 0..7 (e.g. 3.0000000e+00), found ${why}`);
    }
    found = { code: value, line: i + 1 };
  });
  if (found === undefined) throw new ExpnetError('BAD_LABEL_FILE', `${file}:1: expected an emotion code 0..7, file is empty`);
  return CKPLUS_LABELS[found.code] ?? 'neutral';
}

/**
 * Reads CK+ in its original layout:
 * `cohn-kanade-images/Sxxx/yyy/Sxxx_yyy_zzzzzzzz.png` + `Emotion/Sxxx/yyy/Sxxx_yyy_zzzzzzzz_emotion.txt`,
 * under `root` or under `root/extended-cohn-kanade-images/` and `root/Emotion_labels/` (the zip's layout).
 * Only the 327 sequences with an emotion file are used: their last `framesPerSequence` frames get the label
 * (frames ordered by the frame number in the name); `neutralFirstFrame` adds each sequence's first frame as
 * neutral. Subject = `Sxxx`, sequence = `Sxxx_yyy`. Class order: CKPLUS48_LABELS (7), or CKPLUS_LABELS (8)
 * when neutral samples are present.
 */
export async function readCkPlus(root: string, options: CkPlusOptions = {}): Promise<DataSet> {
  const abs = path.resolve(root);
  const perSeq = options.framesPerSequence ?? 3;
  if (!Number.isInteger(perSeq) || perSeq < 1) {
    throw new ExpnetError('BAD_CONFIG', `framesPerSequence: expected a positive integer, got ${perSeq}`);
  }
  const images = await firstDir(
    [path.join(abs, 'cohn-kanade-images'), path.join(abs, 'extended-cohn-kanade-images', 'cohn-kanade-images')],
    'CK+ images',
  );
  const emotion = await firstDir([path.join(abs, 'Emotion'), path.join(abs, 'Emotion_labels', 'Emotion')], 'CK+ labels');
  const samples: Sample[] = [];
  for (const subject of (await listDir(emotion)).dirs) {
    for (const seq of (await listDir(path.join(emotion, subject))).dirs) {
      const labelDir = path.join(emotion, subject, seq);
      const labelFiles = (await listDir(labelDir)).files.filter((f) => f.endsWith('_emotion.txt'));
      if (labelFiles.length === 0) continue;
      if (labelFiles.length > 1) {
        throw new ExpnetError('BAD_LABEL_FILE', `${labelDir}: expected one *_emotion.txt, found ${labelFiles.join(', ')}`);
      }
      const labelFile = path.join(labelDir, labelFiles[0] ?? '');
      const label = parseCkPlusEmotion(await fs.readFile(labelFile, 'utf8'), labelFile);
      const frameDir = path.join(images, subject, seq);
      if (!(await isDir(frameDir))) {
        throw new ExpnetError('NOT_FOUND', `${labelFile}: expected its frames in ${frameDir}, folder missing`);
      }
      const frames = (await listDir(frameDir)).files.filter(isImageFile).map((f) => ({ f, ...parseCkPlusName(f) }));
      frames.sort((a, b) => (a.frame ?? 0) - (b.frame ?? 0) || compareNames(a.f, b.f));
      const make = (i: number, l: ExpressionLabel): Sample => {
        const fr = frames[i];
        const s: Sample = { path: relPosix(abs, path.join(frameDir, fr?.f ?? '')), label: l, subject, sequence: `${subject}_${seq}` };
        if (fr?.frame !== undefined) s.frame = fr.frame;
        return s;
      };
      if (options.neutralFirstFrame === true && frames.length > perSeq) samples.push(make(0, 'neutral'));
      for (let i = Math.max(0, frames.length - perSeq); i < frames.length; i++) samples.push(make(i, label));
    }
  }
  const hasNeutral = samples.some((s) => s.label === 'neutral');
  return { name: 'ckplus', root: abs, labels: hasNeutral ? CKPLUS_LABELS : CKPLUS48_LABELS, samples };
}
