/**
 * The npm package as a user gets it: the browser app built as prepack builds it, `npm pack` → install into an
 * empty folder (offline, from the cache the set-up's `npm ci` filled) → `npx expnet predict` on the astronaut with
 * no addon built, the training command's hint, imports from a .mjs and a type-checked .ts consumer, the README's
 * library snippet as written, `npx expnet serve` serving the browser app, and the README's links. Skips when npm
 * cannot be run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { buildWeb } from '../web/build.js';
import { packageRoot } from '../src/engine/native.js';
import { DETECTOR_INT8_FILE, MODEL_INDEX_FILE } from '../src/infer/bundleFiles.js';
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

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'expnet-pack-'));
  app = join(dir, 'app');
  mkdirSync(app);
  // the tests' own build is dist/ already; prepack (clean + build) would remove it under the running tests, so
  // only its last step runs here: the browser app as the package ships it
  await buildWeb(join(ROOT, 'web', 'dist'), undefined, true, true);
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

test('the tarball holds the compiled library, models, built browser app, sample, docs, addon sources and licence, no tests, benches or sources', { skip }, () => {
  const want = [
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/src/train/index.js', 'dist/web/src/index.js', 'models/expnet-fer2013.onnx', 'models/expnet-mix.onnx',
    `models/${DETECTOR_INT8_FILE}`, `models/${MODEL_INDEX_FILE}`, 'web/dist/index.html', 'web/dist/main.js', 'web/dist/sample.png', 'web/dist/ort/ort-wasm-simd-threaded.asyncify.wasm',
    'examples/astronaut.png', 'examples/astronaut.SOURCE.txt', 'docs/API.md', 'native/binding.gyp', 'native/src/addon.cc', 'LICENSE', 'README.md',
  ];
  for (const f of want) assert.ok(files.includes(f), `${f} is missing from the tarball`);
  // no copies of the bundled models in the app (the server sends models/), no gzip siblings (the tarball is gzipped)
  const stray = files.filter((f) => /^(dist\/(test|bench)|test|bench|src|scripts|\.ci|web\/src|web\/dist\/models)\//.test(f) || /\.(map|gz)$/.test(f) || f.startsWith('native/build'));
  assert.deepEqual(stray, []);
});

test('every relative link of the README (and of the docs it ships) names a file in the tarball', { skip }, () => {
  const links = (file: string): string[] => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith('#'));
  const shipped = ['README.md', ...files.filter((f) => f.startsWith('docs/') && f.endsWith('.md'))];
  let n = 0;
  for (const doc of shipped) {
    for (const link of links(doc)) {
      const target = join(doc, '..', decodeURIComponent(link.split('#')[0] ?? '')).replace(/^\.\//, '');
      assert.ok(files.includes(target), `${doc} links to ${link}, which the tarball does not hold`);
      n++;
    }
  }
  assert.ok(n >= 4, `only ${n} relative links found`);
});

test('installing it on this Node warns about no engine: every installed package\'s engines hold', { skip }, () => {
  assert.doesNotMatch(installLog, /EBADENGINE|Unsupported engine/);
  const cookie = JSON.parse(readFileSync(join(app, 'node_modules', 'cookie', 'package.json'), 'utf8')) as { version: string };
  assert.match(cookie.version, /^1\./, 'cookie@2 needs Node 22');
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
// the browser recognizer returns the Node Recognizer's ImageResult
export async function inBrowser(rec: WebRecognizer, img: HTMLImageElement): Promise<ImageResult> {
  const faces: Face[] = (await rec.detect(img)).faces;
  return { ...(await rec.detect(img, img.naturalWidth, img.naturalHeight)), faces };
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

/** The README's library snippet: the ts block that calls createRecognizer (plain JS as written). */
function readmeSnippet(): string {
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const snippet = blocks.find((b) => b.includes('createRecognizer(') && b.includes('rec.detect('));
  assert.ok(snippet, 'the README has no library snippet');
  return snippet;
}

test('the README\'s library snippet runs as written from the install folder; a missing photo is NOT_FOUND naming it', { skip }, () => {
  const snippet = readmeSnippet().replace('await rec.dispose();', 'console.log(JSON.stringify(faces.map((f) => f.label)));\nawait rec.dispose();');
  writeFileSync(join(app, 'readme.mjs'), snippet);
  const r = run(process.execPath, ['readme.mjs'], app);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['happy']);
  writeFileSync(join(app, 'missing.mjs'), `
import { createRecognizer } from 'expnet';
const rec = await createRecognizer();
try { await rec.detect('examples/missing.png'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
await rec.dispose();
`);
  const m = run(process.execPath, ['missing.mjs'], app);
  assert.equal(m.status, 0, m.stderr);
  const err = JSON.parse(m.stdout) as { code: string; message: string };
  assert.equal(err.code, 'NOT_FOUND');
  assert.ok(err.message.startsWith('not found: examples/missing.png'), err.message);
  assert.doesNotMatch(err.message, /Input file is missing/);
});

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr !== null && typeof addr === 'object' ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

test('npx expnet serve from the install folder serves the browser app at / with its detector, runtime and model index', { skip, timeout: 180_000 }, async () => {
  const port = await freePort();
  const child = spawn('npx', ['expnet', 'serve', '--port', String(port)], { cwd: app, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`expnet serve did not start in 120 s:\n${out}`)), 120_000);
      const check = (): void => {
        if (/listening on/.test(out)) {
          clearTimeout(timer);
          res();
        }
      };
      child.stdout.on('data', check);
      child.once('exit', (code) => rej(new Error(`expnet serve exited ${code}:\n${out}`)));
    });
    assert.match(out, /browser app at \//, out);
    const base = `http://127.0.0.1:${port}`;
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<title>expnet: facial expressions in your browser<\/title>[\s\S]*<script type="module" src="main.js">/);
    const index = (await (await fetch(`${base}/models/${MODEL_INDEX_FILE}`)).json()) as { default: string; models: { name: string }[] };
    assert.deepEqual(index.models.map((m) => m.name).sort(), ['expnet-accurate', 'expnet-fer2013', 'expnet-mix']);
    assert.equal(index.default, 'expnet-accurate');
    for (const path of ['/main.js', '/sample.png', '/ort/ort-wasm-simd-threaded.asyncify.wasm', `/models/${DETECTOR_INT8_FILE}`, '/models/face_landmark_68.onnx', `/models/${index.default}.onnx`, `/models/${index.default}.json`]) {
      const r = await fetch(`${base}${path}`, { headers: { 'accept-encoding': 'br' } });
      assert.equal(r.status, 200, `${path}: HTTP ${r.status}`);
      await r.arrayBuffer();
    }
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
  }
});

test('require(\'expnet\') from CommonJS: works on this Node, fails without require(esm) (why engines start at 20.19 / 22.12)', { skip }, () => {
  writeFileSync(join(app, 'consumer.cjs'), `const { createRecognizer, samplePhoto } = require('expnet');
console.log(typeof createRecognizer, require('node:fs').existsSync(samplePhoto()));
`);
  const r = run(process.execPath, ['consumer.cjs'], app);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function true');
  // what Node before 20.19 (and 22.0–22.11) does: require() of an ES module is an error
  const old = run(process.execPath, ['--no-experimental-require-module', 'consumer.cjs'], app);
  assert.notEqual(old.status, 0);
  assert.match(old.stderr, /ERR_REQUIRE_ESM/);
  const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'expnet', 'package.json'), 'utf8')) as { engines: { node: string } };
  assert.equal(installed.engines.node, '^20.19.0 || ^22.12.0 || >=23');
});
