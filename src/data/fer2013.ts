import path from 'node:path';
import { ExpnetError } from '../errors.js';
import { readCsvManifest } from './csvManifest.js';
import type { DataSet, Sample } from './dataSet.js';
import { readFer2013Csv } from './fer2013Csv.js';
import { readClassFolders } from './imageFolder.js';
import { FER2013_LABELS } from './labels.js';
import { isDir, isFile } from './listDir.js';

export interface Fer2013Options {
  /** Folder form: use `manifest.csv` (path,label,usage) when present (default true). */
  manifest?: boolean;
}

/** FER2013 split names, as in the CSV's Usage column. */
export type Fer2013Split = 'Training' | 'PublicTest' | 'PrivateTest';

/** Names under which a FER2013 folder may hold the official CSV instead of train/ and test/. */
export const FER2013_CSV_NAMES: readonly string[] = ['fer2013.csv', 'icml_face_data.csv'];

/** Split of a Kaggle-folder image: its file-name prefix (`PublicTest_123.jpg`), else train/ → Training, test/ → PublicTest. */
function folderSplit(fileName: string, folder: 'train' | 'test'): Fer2013Split {
  const m = /^(Training|PublicTest|PrivateTest)_/.exec(fileName);
  if (m?.[1] !== undefined) return m[1] as Fer2013Split;
  return folder === 'train' ? 'Training' : 'PublicTest';
}

/**
 * Reads FER2013 in either form (class order FER2013_LABELS, split = Training/PublicTest/PrivateTest):
 * - `root` is a file (e.g. `fer2013.csv`), or a folder without train/ and test/ that holds `fer2013.csv` or `icml_face_data.csv`:
 *   the official CSV (see readFer2013Csv);
 * - otherwise the Kaggle folder form `train/<class>/*.jpg`, `test/<class>/*.jpg` (class names angry, disgust,
 *   fear, happy, neutral, sad, surprise), from `manifest.csv` (path,label,usage) when present.
 */
export async function readFer2013(root: string, options: Fer2013Options = {}): Promise<DataSet> {
  const abs = path.resolve(root);
  if (abs.toLowerCase().endsWith('.csv') || (await isFile(abs))) return readFer2013Csv(abs);
  const hasTrain = await isDir(path.join(abs, 'train'));
  const hasTest = await isDir(path.join(abs, 'test'));
  if (!hasTrain && !hasTest) {
    for (const name of FER2013_CSV_NAMES) {
      if (await isFile(path.join(abs, name))) return readFer2013Csv(path.join(abs, name));
    }
    throw new ExpnetError('NOT_FOUND', `${abs}: expected FER2013 as train/ and test/ class folders or fer2013.csv; found neither`);
  }
  const manifest = path.join(abs, 'manifest.csv');
  if (options.manifest !== false && (await isFile(manifest))) {
    return readCsvManifest(manifest, { name: 'fer2013', labels: FER2013_LABELS });
  }
  const samples: Sample[] = [];
  for (const folder of ['train', 'test'] as const) {
    if (!(await isDir(path.join(abs, folder)))) continue;
    const part = await readClassFolders(path.join(abs, folder), abs, { labels: FER2013_LABELS });
    for (const s of part) s.split = folderSplit(path.posix.basename(s.path), folder);
    samples.push(...part);
  }
  return { name: 'fer2013', root: abs, labels: FER2013_LABELS, samples };
}
