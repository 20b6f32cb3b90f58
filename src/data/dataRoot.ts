import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest folder above this module holding package.json (works from src/ and dist/src/). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/**
 * The folder of the real data sets: env `EXPNET_DATA` (relative to the working directory) or, by default,
 * `../shared/data` relative to the project root. Callers check that what they need exists and skip if not.
 */
export function dataRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env['EXPNET_DATA'];
  return configured !== undefined && configured !== ''
    ? path.resolve(configured)
    : path.resolve(projectRoot(), '..', 'shared', 'data');
}
