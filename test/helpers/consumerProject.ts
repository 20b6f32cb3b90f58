/**
 * A consumer project for an expnet tarball that installs offline: a package.json depending on the tarball and a
 * package-lock.json pinning expnet's runtime dependencies to the versions in expnet's own lock (npm resolves
 * those from the cache its `npm ci` filled; `npm install <tgz>` would ask the registry for full metadata).
 */
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

interface LockEntry {
  version?: string;
  dev?: boolean;
  [field: string]: unknown;
}

interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

interface Manifest {
  name: string;
  version: string;
  license?: string;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** Writes package.json and package-lock.json into `dir` (which holds `tarball` or is given its path). */
export function writeConsumerProject(dir: string, tarball: string, pkg: Manifest, lock: Lock): void {
  const spec = `file:${basename(tarball)}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
      peerDependencies: pkg.peerDependencies,
      peerDependenciesMeta: pkg.peerDependenciesMeta,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev) packages[path] = entry;
  }
  // npm 11's install-script policy: onnxruntime-node's postinstall would download CUDA libraries expnet never uses
  const manifest = { name: 'consumer', private: true, type: 'module', dependencies: { [pkg.name]: spec }, allowScripts: { 'onnxruntime-node': false } };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: lock.lockfileVersion, requires: true, packages }, null, 2));
}
