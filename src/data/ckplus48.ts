import path from 'node:path';
import { readCsvManifest } from './csvManifest.js';
import type { DataSet, Sample } from './dataSet.js';
import { readImageFolder } from './imageFolder.js';
import { CKPLUS48_LABELS } from './labels.js';
import { isFile } from './listDir.js';

export interface CkPlus48Options {
  /** Use `manifest.csv` (path,label,subject,sequence,frame) when present (default true). */
  manifest?: boolean;
}

/** Subject/sequence/frame from a CK+ file name `S010_004_00000017.png` (or nothing when it does not match). */
export function parseCkPlusName(fileName: string): Partial<Pick<Sample, 'subject' | 'sequence' | 'frame'>> {
  const m = /^(S\d+)_(\d+)_(\d+)\b/.exec(fileName);
  if (m === null) return {};
  const [, subject = '', seq = '', frame = '0'] = m;
  return { subject, sequence: `${subject}_${seq}`, frame: Number(frame) };
}

/**
 * Reads CK+48: `<root>/<class>/S<subj>_<seq>_<frame>.png` with the 7 classes anger, contempt, disgust, fear,
 * happy, sadness, surprise (class order CKPLUS48_LABELS), subject = `S<subj>`, sequence = `S<subj>_<seq>`.
 * With `manifest.csv` present (and `manifest` not false) the manifest is the source of truth.
 */
export async function readCkPlus48(root: string, options: CkPlus48Options = {}): Promise<DataSet> {
  const manifest = path.join(root, 'manifest.csv');
  if (options.manifest !== false && (await isFile(manifest))) {
    return readCsvManifest(manifest, { name: 'ckplus48', labels: CKPLUS48_LABELS });
  }
  return readImageFolder(root, { name: 'ckplus48', labels: CKPLUS48_LABELS, parseName: parseCkPlusName });
}
