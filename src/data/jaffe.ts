import path from 'node:path';
import { ExpnetError } from '../errors.js';
import type { DataSet, Sample } from './dataSet.js';
import { BASIC7_LABELS, type ExpressionLabel } from './labels.js';
import { relPosix, walkImages } from './listDir.js';

/** JAFFE expression codes in file names. */
const JAFFE_CODES: Readonly<Record<string, ExpressionLabel>> = {
  AN: 'anger', DI: 'disgust', FE: 'fear', HA: 'happy', NE: 'neutral', SA: 'sadness', SU: 'surprise',
};

/** Subject, label, sequence and frame of a JAFFE file name (`KA.AN1.39.tiff`), or undefined when it is not one. */
export function parseJaffeName(name: string): Required<Pick<Sample, 'label' | 'subject' | 'sequence' | 'frame'>> | undefined {
  const m = /^([A-Za-z]{2})\.([A-Za-z]{2})(\d*)\.(\d+)\.[A-Za-z]+$/.exec(name);
  const code = (m?.[2] ?? '').toUpperCase();
  const label = Object.hasOwn(JAFFE_CODES, code) ? JAFFE_CODES[code] : undefined;
  if (m === null || label === undefined) return undefined;
  const subject = (m[1] ?? '').toUpperCase();
  return { label, subject, sequence: `${subject}.${code}`, frame: Number(m[4]) };
}

/**
 * Reads JAFFE: image files anywhere under `root` named `<subject>.<code><rep>.<number>.<ext>`, e.g.
 * `KA.AN1.39.tiff` = subject KA, anger, repetition 1, image 39. Codes AN DI FE HA NE SA SU (class order
 * BASIC7_LABELS). subject = the two letters, sequence = `KA.AN`, frame = the image number.
 * @throws ExpnetError('BAD_LABEL_FILE') for an image whose name does not follow the pattern or has an unknown code.
 */
export async function readJaffe(root: string): Promise<DataSet> {
  const abs = path.resolve(root);
  const samples: Sample[] = [];
  for (const file of await walkImages(abs)) {
    const parsed = parseJaffeName(path.basename(file));
    if (parsed === undefined) {
      throw new ExpnetError(
        'BAD_LABEL_FILE',
        `${file}: expected a JAFFE name <subject>.<code><n>.<number>.tiff with code one of ${Object.keys(JAFFE_CODES).join(' ')}`,
      );
    }
    samples.push({ path: relPosix(abs, file), ...parsed });
  }
  if (samples.length === 0) throw new ExpnetError('NOT_FOUND', `${abs}: expected JAFFE images (e.g. KA.AN1.39.tiff), found none`);
  return { name: 'jaffe', root: abs, labels: BASIC7_LABELS, samples };
}
