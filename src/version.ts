/** The installed package's version (from its package.json). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './engine/native.js';

export function expnetVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
