/**
 * Builds the browser app into web/dist/: main.js (esbuild bundle of web/src/main.ts with onnxruntime-web),
 * index.html, the sample photo (sample.png, from examples/), the ORT .wasm/.mjs files under ort/ and under
 * models/: the 8-bit detector made for the browser (DETECTOR_INT8_FILE), the list of expression models
 * (MODEL_INDEX_FILE) and the bundled models (every expression model of the folder); then a precompressed .br
 * (Brotli) and .gz (gzip) next to every file that shrinks by at least 10 %, which the server's web routes send to
 * browsers that accept them. `--package` (npm's prepack) leaves the bundled models out — `expnet serve` sends
 * them from the package's models/, where it writes the 8-bit detector and the index instead (git ignores them) —
 * and writes .br only (the tarball is gzipped anyway).
 * Usage: `node --import tsx web/build.ts [--out DIR] [--models DIR] [--no-compress] [--package]`.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { builtinModules } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { packageRoot } from '../src/engine/native.js';
import { ANCHORS_FILE, DETECTOR_FILE, DETECTOR_INT8_FILE, DETECTOR_INT8_SIZE, LANDMARKS_FILE, MODEL_INDEX_FILE } from '../src/infer/bundleFiles.js';
import { modelIndex } from '../src/infer/modelIndex.js';
import { ssdModelForSize } from '../src/infer/ssdAtSize.js';
import { quantizeSsd } from '../src/infer/ssdInt8.js';

// The package root, whether this file runs from web/ (tsx) or from dist/web/ (compiled for npm test).
const ROOT = packageRoot();
const WEB = join(ROOT, 'web');
/** The runtime files the onnxruntime-web/webgpu build loads (it serves both WebGPU and wasm). */
export const ORT_FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];
/** The bundled model files the app may load: the nets, and each expression model with its card. */
export function modelFiles(modelDir: string): string[] {
  return [DETECTOR_FILE, ANCHORS_FILE, LANDMARKS_FILE, ...modelIndex(modelDir).models.flatMap((m) => [`${m.name}.onnx`, `${m.name}.json`])];
}

/** The browser's detector file from the bundled float32 512 graph: 384 input, int8 weights (bundleFiles.ts). */
export function browserDetector(model512: Uint8Array): Uint8Array {
  return quantizeSsd(ssdModelForSize(model512, DETECTOR_INT8_SIZE), DETECTOR_FILE, { int8Weights: true });
}

/**
 * The page uses only pure functions of src/faces and src/infer, but their modules import the libtorch engine
 * (node:fs, the native addon). Marking engine/nets modules side-effect free lets esbuild drop them when
 * nothing of theirs is used; node builtins become externals that then vanish too (checked after the build).
 */
const nodeFree: Plugin = {
  name: 'expnet-node-free',
  setup(b) {
    const builtins = new Set(builtinModules);
    b.onResolve({ filter: /.*/ }, (args) => {
      const bare = args.path.replace(/^node:/, '');
      if (args.path.startsWith('node:') || builtins.has(bare) || args.path === 'sharp' || args.path === 'onnxruntime-node') {
        return { path: args.path, external: true, sideEffects: false };
      }
      if (args.path.startsWith('.') && args.importer) {
        const full = resolve(dirname(args.importer), args.path).replace(/\.js$/, '.ts');
        const rel = full.slice(ROOT.length + 1).split(sep).join('/');
        if (/^src\/(engine|nets)\//.test(rel) || /^src\/faces\/(rgbImage|netInput)\.ts$/.test(rel)) return { path: full, sideEffects: false };
      }
      return undefined;
    });
  },
};

/** Brotli quality: 9 is within ~3 % of 11 on these files at a fraction of the time. */
const BROTLI_QUALITY = 9;

/** Writes f.br and f.gz next to each file of `dir` (recursively) that they make ≥ 10 % smaller; returns bytes before and after (br). */
export function precompress(dir: string, gzip = true): { files: number; bytes: number; brotli: number } {
  const total = { files: 0, bytes: 0, brotli: 0 };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = precompress(p, gzip);
      total.files += sub.files;
      total.bytes += sub.bytes;
      total.brotli += sub.brotli;
      continue;
    }
    if (/\.(br|gz|map)$/.test(e.name)) continue;
    const raw = readFileSync(p);
    const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
    total.bytes += raw.length;
    total.brotli += Math.min(raw.length, br.length);
    if (br.length > 0.9 * raw.length) continue;
    total.files++;
    writeFileSync(`${p}.br`, br);
    if (gzip) writeFileSync(`${p}.gz`, gzipSync(raw, { level: 9 }));
  }
  return total;
}

export interface BuiltWeb {
  dir: string;
  /** Bytes of the app's files (source maps left out), and what a browser accepting Brotli downloads. */
  bytes: number;
  brotli: number;
}

/** `forPackage`: no bundled models (the server sends the package's own), .br only (see the file's comment). */
export async function buildWeb(out = join(WEB, 'dist'), modelDir = join(ROOT, 'models'), compress = true, forPackage = false): Promise<BuiltWeb> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'ort'), { recursive: true });
  mkdirSync(join(out, 'models'), { recursive: true });
  const res = await build({
    entryPoints: [join(WEB, 'src', 'main.ts')],
    outfile: join(out, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: !forPackage,
    metafile: true,
    logLevel: 'warning',
    plugins: [nodeFree],
  });
  const leaked = Object.values(res.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  if (leaked.length > 0) throw new Error(`web/build.ts: the browser bundle still imports ${leaked.join(', ')}`);
  copyFileSync(join(WEB, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(ROOT, 'examples', 'astronaut.png'), join(out, 'sample.png'));
  const ortDist = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
  for (const f of ORT_FILES) copyFileSync(join(ortDist, f), join(out, 'ort', f));
  // the package's models/ gets the browser's files itself: apps that serve node_modules/expnet/models/ find them
  const generated = forPackage ? modelDir : join(out, 'models');
  writeFileSync(join(generated, DETECTOR_INT8_FILE), browserDetector(new Uint8Array(readFileSync(join(modelDir, DETECTOR_FILE)))));
  writeFileSync(join(generated, MODEL_INDEX_FILE), `${JSON.stringify(modelIndex(modelDir), null, 1)}\n`);
  if (!forPackage) for (const f of modelFiles(modelDir)) copyFileSync(join(modelDir, f), join(out, 'models', f));
  const sizes = compress ? precompress(out, !forPackage) : null;
  return { dir: out, bytes: sizes?.bytes ?? 0, brotli: sizes?.brotli ?? 0 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, models: { type: 'string' }, 'no-compress': { type: 'boolean' }, package: { type: 'boolean' } } });
  const t0 = Date.now();
  const built = await buildWeb(values.out ? resolve(values.out) : undefined, values.models ? resolve(values.models) : undefined, values['no-compress'] !== true, values.package === true);
  const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const sizes = built.bytes > 0 ? ` (${mb(built.bytes)}; ${mb(built.brotli)} with Brotli)` : '';
  process.stdout.write(`web app built in ${built.dir}${sizes} in ${((Date.now() - t0) / 1000).toFixed(1)} s; serve it with \`expnet serve\` at /, or as static files\n`);
}
