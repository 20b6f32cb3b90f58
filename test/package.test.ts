/**
 * The npm package as a user gets it: `npm pack` → install into an empty folder (offline, from the cache the
 * set-up's `npm ci` filled) → `npx expnet predict` on the astronaut with no addon built, the training command's
 * hint, and imports from a .mjs and a type-checked .ts consumer. Skips when npm cannot be run.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { packageRoot } from '../src/engine/native.js';
import { writeConsumerProject } from './helpers/consumerProject.js';

const ROOT = packageRoot();
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Parameters<typeof writeConsumerProject>[2];
const ASTRONAUT = join(ROOT, 'examples', 'astronaut.png');
// offline and quiet; the env var skips onnxruntime-node's download on npm versions without allowScripts
const ENV: NodeJS.ProcessEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
delete ENV['EXPNET_NATIVE'];

function run(cmd: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: ENV, encoding: 'utf8', timeout: 240_000 });
}

const npmVersion = run('npm', ['--version'], ROOT);
const skip = npmVersion.status === 0 ? false : `npm cannot be run here (${npmVersion.error?.message ?? npmVersion.stderr})`;

let dir = '';
let app = '';
let files: string[] = [];
let installLog = '';

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'expnet-pack-'));
  app = join(dir, 'app');
  mkdirSync(app);
  // the tests' own build is dist/ already; prepack (clean + build) would remove it under the running tests
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', app], ROOT);
  assert.equal(pack.status, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(info);
  files = info.files.map((f) => f.path);
  writeConsumerProject(app, join(app, info.filename), PKG, JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Parameters<typeof writeConsumerProject>[3]);
  const install = run('npm', ['ci'], app);
  installLog = install.stdout + install.stderr;
  assert.equal(install.status, 0, installLog);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the compiled library, models, addon sources and licence, no tests, benches or sources', { skip }, () => {
  for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/src/train/index.js', 'dist/web/src/index.js', 'models/expnet-fer2013.onnx', 'models/expnet-mix.onnx', 'native/binding.gyp', 'native/src/addon.cc', 'LICENSE', 'README.md']) {
    assert.ok(files.includes(f), `${f} is missing from the tarball`);
  }
  const stray = files.filter((f) => /^(dist\/(test|bench)|test|bench|docs|src|scripts|\.ci)\//.test(f) || f.endsWith('.map') || f.startsWith('native/build'));
  assert.deepEqual(stray, []);
});

test('installing it offline warns about no npm config and runs no download', { skip }, () => {
  assert.doesNotMatch(installLog, /Unknown (project|user|env) config/);
  assert.doesNotMatch(installLog, /install scripts not yet covered/);
  assert.ok(!existsSync(join(app, 'node_modules', '@vladmandic')), 'face-api is an optional peer dependency, not installed');
  assert.ok(!existsSync(join(app, 'node_modules', 'onnxruntime-web')), 'onnxruntime-web is an optional peer dependency, not installed');
});

test('npx expnet predicts the astronaut with no addon; --version; train names the command that builds the addon', { skip }, () => {
  assert.ok(!existsSync(join(app, 'node_modules', 'expnet', 'native', 'build')));
  const version = run('npx', ['expnet', '--version'], app);
  assert.equal(version.stdout.trim(), PKG.version, version.stderr);
  const predict = run('npx', ['expnet', 'predict', ASTRONAUT, '--json'], app);
  assert.equal(predict.status, 0, predict.stderr);
  const out = JSON.parse(predict.stdout) as { results: { faces: { label: string }[] }[] };
  assert.deepEqual(out.results[0]?.faces.map((f) => f.label), ['happy']);
  const train = run('npx', ['expnet', 'train', '--data', app, '--out', join(dir, 'run')], app);
  assert.equal(train.status, 3, train.stderr);
  assert.match(train.stderr, /not built .*run `npx expnet build-native`/);
});

test('a .mjs consumer imports expnet, expnet/engine and expnet/train and resolves expnet/web', { skip }, () => {
  writeFileSync(join(app, 'consumer.mjs'), `
import { createRecognizer, EXPRESSION_LABELS, ExpnetError } from 'expnet';
import { BUILD_NATIVE_COMMAND } from 'expnet/engine';
import { resolveConfig } from 'expnet/train';
const rec = await createRecognizer();
const { faces } = await rec.detect(${JSON.stringify(ASTRONAUT)});
await rec.dispose();
console.log(JSON.stringify({ n: faces.length, label: faces[0].label, known: EXPRESSION_LABELS.includes(faces[0].label),
  error: typeof ExpnetError, build: BUILD_NATIVE_COMMAND, seed: typeof resolveConfig().seed, web: import.meta.resolve('expnet/web') }));
`);
  const r = run(process.execPath, ['consumer.mjs'], app);
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual({ ...o, web: typeof o['web'] }, { n: 1, label: 'happy', known: true, error: 'function', build: 'npx expnet build-native', seed: 'number', web: 'string' });
  assert.ok(existsSync(new URL(String(o['web']))), 'expnet/web resolves to a file');
});

test('a .ts consumer type-checks against the published types; a misspelt expression does not', { skip }, () => {
  writeFileSync(join(app, 'consumer.ts'), `
import { createRecognizer, type Box, type Expression, type Face, type ImageResult, type Point } from 'expnet';
import type { Tensor } from 'expnet/engine';
import type { TrainConfig } from 'expnet/train';
import type { WebRecognizer } from 'expnet/web';

export async function happiest(path: string): Promise<{ box: Box; eyes: Point[]; happy: number; label: Expression } | null> {
  const rec = await createRecognizer();
  const result: ImageResult = await rec.detect(path);
  await rec.dispose();
  const face: Face | undefined = result.faces[0];
  if (!face) return null;
  // @ts-expect-error 'hapy' is not an Expression
  const typo = face.expressions.hapy;
  void typo;
  return { box: face.box, eyes: face.landmarks.slice(36, 48), happy: face.expressions.happy ?? 0, label: face.label };
}
export type Uses = [Tensor, TrainConfig, WebRecognizer];
`);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
      exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, lib: ['ES2022', 'DOM'], types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
    },
    files: ['consumer.ts'],
  }));
  const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  const r = run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('expnet/web bundles for the browser without any node module (onnxruntime-web left to the app)', { skip }, async () => {
  writeFileSync(join(app, 'page.mjs'), `import { WebRecognizer, EXPRESSION_LABELS } from 'expnet/web';\nexport const app = [WebRecognizer, EXPRESSION_LABELS];\n`);
  const r = await build({ absWorkingDir: app, entryPoints: ['page.mjs'], bundle: true, write: false, platform: 'browser', format: 'esm', metafile: true, logLevel: 'silent', external: ['onnxruntime-web', 'onnxruntime-web/*'] });
  const imports = Object.values(r.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  assert.deepEqual(imports, ['onnxruntime-web/webgpu']);
  assert.ok(Object.keys(r.metafile.inputs).every((f) => !f.includes('/engine/')), 'the bundle holds no engine module');
});
