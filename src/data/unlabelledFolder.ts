import path from 'node:path';
import { ExpnetError } from '../errors.js';
import type { DataSet, Sample } from './dataSet.js';
import { relPosix, walkImages } from './listDir.js';

/**
 * Reads a plain folder of face images without labels (any nesting; every image file is one face), for stage
 * (a) of FaceNet2ExpNet, which regresses the teacher's features and needs no labels. The data set is marked
 * `unlabelled`: its samples' `label` is a placeholder ('neutral') that nothing reads, and it has no classes.
 * @throws ExpnetError('NOT_FOUND') when the folder holds no image.
 */
export async function readUnlabelledFolder(root: string): Promise<DataSet> {
  const abs = path.resolve(root);
  const samples: Sample[] = (await walkImages(abs)).map((file) => ({ path: relPosix(abs, file), label: 'neutral' }));
  if (samples.length === 0) throw new ExpnetError('NOT_FOUND', `${abs}: expected face images (png, jpg, ...) in the folder or below it, found none`);
  return { name: path.basename(abs), root: abs, labels: [], samples, unlabelled: true };
}
