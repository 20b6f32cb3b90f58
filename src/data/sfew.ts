import path from 'node:path';
import { ExpnetError } from '../errors.js';
import type { DataSet, FaceFraming, Sample } from './dataSet.js';
import { readClassFolders } from './imageFolder.js';
import { BASIC7_LABELS, tryCanonicalLabel } from './labels.js';
import { listDir } from './listDir.js';

/**
 * The folder inside a split that holds the expression folders: the split folder itself when it has any
 * expression-named folder, else its single subfolder (e.g. `Train/Train_Aligned_Faces/`).
 */
async function expressionRoot(splitDir: string): Promise<string> {
  const { dirs } = await listDir(splitDir);
  if (dirs.some((d) => tryCanonicalLabel(d) !== undefined)) return splitDir;
  const only = dirs.length === 1 ? dirs[0] : undefined;
  if (only !== undefined) return expressionRoot(path.join(splitDir, only));
  throw new ExpnetError('NOT_FOUND', `${splitDir}: expected expression folders (Angry, Disgust, ...), found ${dirs.join(', ') || 'none'}`);
}

/**
 * The movie of an SFEW 2.0 file name: the name minus its trailing `_<frame>_<n>.<ext>`
 * (`HarryPotter_Deathly_Hallows_1_000745000_00000021.png` → `HarryPotter_Deathly_Hallows_1`; the release's few
 * `Movie-<frame>_<n>` and `Movie_<frame>__<n>` spellings too), or undefined for a name without that tail.
 */
export function sfewMovie(fileName: string): string | undefined {
  return /^(.+?)[_-]+\d+_+\d+\.[A-Za-z]+$/.exec(fileName)?.[1];
}

function movieSubject(fileName: string): Pick<Sample, 'subject'> {
  const movie = sfewMovie(fileName);
  return movie === undefined ? {} : { subject: movie };
}

/**
 * Where SFEW 2.0's aligned 143×181 faces put the eye and mouth centres: the landmark net's mean over the 616 of 864
 * Train faces the detector finds (`node dist/bench/crop-geometry.js --split train`; s.d. 0.03–0.06). They are
 * framed far tighter than FER2013 (eyes at 22 % of the height against 38 %, inter-ocular distance 48 % of the
 * width against 35 %), so readers re-frame them onto the training template (DataSet.framing).
 */
export const SFEW_FRAMING: FaceFraming = {
  leftEye: { x: 0.294, y: 0.223 },
  rightEye: { x: 0.777, y: 0.209 },
  mouth: { x: 0.563, y: 0.677 },
};

/**
 * Reads SFEW 2.0: `<root>/Train/<Expression>/*.png` and `<root>/Val/<Expression>/*.png` (split names matched
 * case-insensitively; one intermediate folder such as `Train_Aligned_Faces/` is descended into). Expressions
 * Angry, Disgust, Fear, Happy, Neutral, Sad, Surprise (class order BASIC7_LABELS); split = 'Train' | 'Val'.
 * The unlabelled Test split is not read. SFEW has no person ids: subject = the movie (sfewMovie), so every
 * subject-grouped split (validation carve, k folds) keeps the frames of one movie, with its actors and scenes,
 * on one side. A file whose name has no movie gets no subject (a group of its own). Faces are re-framed onto
 * the training template when decoded (SFEW_FRAMING).
 */
export async function readSfew(root: string): Promise<DataSet> {
  const abs = path.resolve(root);
  const { dirs } = await listDir(abs);
  const samples: Sample[] = [];
  for (const split of ['Train', 'Val'] as const) {
    const dir = dirs.find((d) => d.toLowerCase() === split.toLowerCase());
    if (dir === undefined) continue;
    const part = await readClassFolders(await expressionRoot(path.join(abs, dir)), abs, { labels: BASIC7_LABELS, split, parseName: movieSubject });
    samples.push(...part);
  }
  if (samples.length === 0) throw new ExpnetError('NOT_FOUND', `${abs}: expected SFEW 2.0 Train/ and Val/ expression folders, found no images`);
  return { name: 'sfew', root: abs, labels: BASIC7_LABELS, samples, framing: SFEW_FRAMING };
}
