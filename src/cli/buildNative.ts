/** `expnet build-native`: compiles the libtorch addon (native/) with node-gyp, once per install, for training. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUILD_NATIVE_COMMAND, packageRoot } from '../engine/native.js';
import { ExpnetError } from '../errors.js';

export const BUILD_NATIVE_HELP = `build-native   compile the libtorch addon that training needs (prediction does not): \`${BUILD_NATIVE_COMMAND}\`
  needs libtorch (Debian: apt-get install libtorch-dev libgloo-dev; or LIBTORCH=<libtorch folder>, e.g. a CUDA
  build or the one inside a PyTorch installation), a C++17 compiler, make and python3; node-gyp comes with npm.`;

/** The libtorch header folder the build will use, or an error saying how to get one. */
export function libtorchIncludes(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['LIBTORCH'] ? join(env['LIBTORCH'], 'include', 'torch', 'csrc', 'api', 'include') : '/usr/include/torch/csrc/api/include';
  if (existsSync(join(dir, 'torch', 'torch.h'))) return dir;
  const where = env['LIBTORCH'] ? `LIBTORCH=${env['LIBTORCH']} has no include/torch/csrc/api/include/torch/torch.h` : `no libtorch headers in ${dir}`;
  throw new ExpnetError('NOT_FOUND', `build-native: ${where}; install libtorch (Debian: apt-get install libtorch-dev libgloo-dev) or set LIBTORCH=<libtorch folder> (it has include/ and lib/)`);
}

/** node-gyp's script: npm's own (npx and npm scripts name it in npm_config_node_gyp), a local one, or the one next to node. */
export function nodeGypScript(env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (env['npm_config_node_gyp']) candidates.push(env['npm_config_node_gyp']);
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed next to expnet: npm's bundled copy below
  }
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new ExpnetError('NOT_FOUND', `build-native: node-gyp not found; run it through npm: \`${BUILD_NATIVE_COMMAND}\``);
  return found;
}

export async function buildNativeCommand(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: {}, allowPositionals: false });
  const includes = libtorchIncludes();
  const gyp = nodeGypScript();
  const root = packageRoot();
  process.stderr.write(`expnet build-native: compiling ${join(root, 'native')} against ${includes} (a few minutes)\n`);
  const r = spawnSync(process.execPath, [gyp, 'rebuild', '--directory=native'], { cwd: root, stdio: 'inherit' });
  if (r.error) throw new ExpnetError('NATIVE', `build-native: cannot run node-gyp (${gyp}): ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) {
    process.stderr.write(`expnet build-native: node-gyp failed (exit ${r.status ?? r.signal}); its output is above\n`);
    return 1;
  }
  process.stderr.write(`expnet build-native: built ${join(root, 'native', 'build', 'Release', 'expnet_native.node')}\n`);
  return 0;
}
