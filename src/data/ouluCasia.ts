import path from 'node:path';
import { ExpnetError } from '../errors.js';
import type { DataSet, Sample } from './dataSet.js';
import { BASIC6_LABELS, canonicalLabel } from './labels.js';
import { lastFrames } from './lastFrames.js';
import { firstDir, isImageFile, listDir, relPosix } from './listDir.js';

export interface OuluCasiaOptions {
  /** Imaging system: visible light (VL, default, the paper's) or near infrared (NI). */
  spectrum?: 'VL' | 'NI';
  /** Illumination (default Strong, the paper's). */
  illumination?: 'Strong' | 'Weak' | 'Dark';
  /** Frames taken from the end of each sequence (default 3). */
  framesPerSequence?: number;
}

/** Folders under a root that may hold the `<spectrum>/<illumination>/` tree (the root itself, or a variant). */
export const OULU_VARIANTS: readonly string[] = ['.', 'OriginalImg', 'Cropped'];

/**
 * Reads Oulu-CASIA NIR&VIS as distributed by its authors: `<spectrum>/<illumination>/PXXX/<Expression>/NNN.jpeg`,
 * found under `root`, `root/OriginalImg` or `root/Cropped` (use the folder of the variant you want as root),
 * e.g. `VL/Strong/P001/Anger/000.jpeg`. Expression folders Anger, Disgust, Fear, Happiness, Sadness, Surprise
 * (class order BASIC6_LABELS). Each PXXX/<Expression> folder is one sequence; its last `framesPerSequence`
 * frames (by the number in the file name) are used. subject = PXXX, sequence = `PXXX/<Expression>`.
 */
export async function readOuluCasia(root: string, options: OuluCasiaOptions = {}): Promise<DataSet> {
  const abs = path.resolve(root);
  const spectrum = options.spectrum ?? 'VL';
  const illumination = options.illumination ?? 'Strong';
  const perSeq = options.framesPerSequence ?? 3;
  if (!Number.isInteger(perSeq) || perSeq < 1) {
    throw new ExpnetError('BAD_CONFIG', `framesPerSequence: expected a positive integer, got ${perSeq}`);
  }
  const base = await firstDir(
    OULU_VARIANTS.map((d) => path.join(abs, d, spectrum, illumination)),
    `Oulu-CASIA ${spectrum}/${illumination}`,
  );
  const samples: Sample[] = [];
  for (const subject of (await listDir(base)).dirs) {
    for (const expr of (await listDir(path.join(base, subject))).dirs) {
      const dir = path.join(base, subject, expr);
      const label = canonicalLabel(expr, dir);
      const files = (await listDir(dir)).files.filter(isImageFile);
      for (const { file, frame } of lastFrames(files, perSeq)) {
        const s: Sample = { path: relPosix(abs, path.join(dir, file)), label, subject, sequence: `${subject}/${expr}` };
        if (frame !== undefined) s.frame = frame;
        samples.push(s);
      }
    }
  }
  return { name: 'oulu-casia', root: abs, labels: BASIC6_LABELS, samples };
}
