import { promises as fs, readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { ExpnetError } from '../errors.js';

/** File name extensions treated as images by the folder readers (sharp can decode all of them). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp', '.gif', '.avif',
]);

/** True when the file name has an image extension (case-insensitive). */
export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

/** Byte-order comparison, independent of locale, so listings are the same on every machine. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Entries of a folder, sorted, without hidden files (`.DS_Store`, `._x`); split into folders and files. */
export async function listDir(dir: string): Promise<{ dirs: string[]; files: string[] }> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (cause) {
    throw new ExpnetError('NOT_FOUND', `cannot list folder ${dir}: expected a readable directory`, { cause });
  }
  return splitEntries(entries);
}

/** listDir, synchronously (for a quick look at a folder's layout, e.g. format detection). */
export function listDirSync(dir: string): { dirs: string[]; files: string[] } {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (cause) {
    throw new ExpnetError('NOT_FOUND', `cannot list folder ${dir}: expected a readable directory`, { cause });
  }
  return splitEntries(entries);
}

function splitEntries(entries: readonly Dirent[]): { dirs: string[]; files: string[] } {
  const dirs: string[] = [];
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) dirs.push(entry.name);
    else if (entry.isFile() || entry.isSymbolicLink()) files.push(entry.name);
  }
  return { dirs: dirs.sort(compareNames), files: files.sort(compareNames) };
}

/** True when the path exists and is a directory. */
export async function isDir(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isDirectory(), () => false);
}

/** True when the path exists and is a file. */
export async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}

/** The first of the candidate folders that exists, or NOT_FOUND naming all candidates. */
export async function firstDir(candidates: readonly string[], what: string): Promise<string> {
  for (const c of candidates) {
    if (await isDir(c)) return c;
  }
  throw new ExpnetError('NOT_FOUND', `${what}: expected a folder at one of ${candidates.join(', ')}; none exists`);
}

/** POSIX form of a path relative to root (what Sample.path holds). */
export function relPosix(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** All image files under a folder, recursively, as absolute paths in sorted order. */
export async function walkImages(dir: string): Promise<string[]> {
  const { dirs, files } = await listDir(dir);
  const out = files.filter(isImageFile).map((f) => path.join(dir, f));
  for (const d of dirs) out.push(...(await walkImages(path.join(dir, d))));
  return out;
}
