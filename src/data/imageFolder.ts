import path from 'node:path';
import type { DataSet, Sample } from './dataSet.js';
import { canonicalLabel, presentLabels, type ExpressionLabel } from './labels.js';
import { listDir, relPosix, walkImages } from './listDir.js';
import { ExpnetError } from '../errors.js';

export interface ImageFolderOptions {
  /** Data set name (default: the root folder's name). */
  name?: string;
  /** Class order; default: the classes present, alphabetical. Folders of other classes are skipped. */
  labels?: readonly ExpressionLabel[];
  /** Extra fields parsed from an image file's base name (e.g. subject/sequence/frame), merged into its sample. */
  parseName?: (fileName: string, file: string) => Partial<Omit<Sample, 'path' | 'label'>>;
  /** Value for every sample's `split`. */
  split?: string;
}

/**
 * Reads the generic `<root>/<class>/<image>` layout. Class folder names go through the synonym map
 * (`angry/` → anger); images may sit in nested folders below a class folder. Hidden files are ignored.
 * @throws ExpnetError('BAD_LABEL_FILE') for a class folder whose name is no known label.
 */
export async function readImageFolder(root: string, options: ImageFolderOptions = {}): Promise<DataSet> {
  const abs = path.resolve(root);
  const samples = await readClassFolders(abs, abs, options);
  return {
    name: options.name ?? path.basename(abs),
    root: abs,
    labels: options.labels ?? presentLabels(samples),
    samples,
  };
}

/** Samples from the class folders directly inside `dir`, with paths relative to `root`. */
export async function readClassFolders(dir: string, root: string, options: ImageFolderOptions = {}): Promise<Sample[]> {
  const allowed = options.labels === undefined ? undefined : new Set(options.labels);
  const samples: Sample[] = [];
  const { dirs } = await listDir(dir);
  if (dirs.length === 0) {
    throw new ExpnetError('NOT_FOUND', `${dir}: expected one folder per class (<class>/<image>), found no folders`);
  }
  for (const classDir of dirs) {
    const label = canonicalLabel(classDir, path.join(dir, classDir));
    if (allowed !== undefined && !allowed.has(label)) continue;
    for (const file of await walkImages(path.join(dir, classDir))) {
      const extra = options.parseName?.(path.basename(file), file) ?? {};
      const sample: Sample = { ...extra, path: relPosix(root, file), label };
      if (options.split !== undefined) sample.split = options.split;
      samples.push(sample);
    }
  }
  return samples;
}
