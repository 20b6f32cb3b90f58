import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ExpnetError } from '../../errors.js';
import { tfjsByteLength, tfjsDecodeWeights } from './tfjsDecodeWeights.js';
import type { TfjsQuantization, TfjsWeightMap, TfjsWeightSpec } from './tfjsDecodeWeights.js';

export type { TfjsQuantization, TfjsTensor, TfjsWeightMap, TfjsWeightSpec } from './tfjsDecodeWeights.js';

/** One group of a tfjs weights manifest: shards (concatenated in order) and the weights they hold. */
export interface TfjsManifestGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

/** The face-api.js models shipped in `@vladmandic/face-api/model`. */
export const FACE_API_MODELS = [
  'face_recognition_model',
  'ssd_mobilenetv1_model',
  'tiny_face_detector_model',
  'face_landmark_68_model',
  'face_landmark_68_tiny_model',
  'face_expression_model',
  'age_gender_model',
] as const;
export type FaceApiModelName = (typeof FACE_API_MODELS)[number];

/** The face-api.js package, an optional peer dependency: only training (the teacher) and `expnet bundle` need it. */
export const FACE_API_PACKAGE = '@vladmandic/face-api';

/** Absolute path of the face-api model folder inside node_modules. */
export function modelDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve(`${FACE_API_PACKAGE}/package.json`);
  } catch (cause) {
    throw new ExpnetError('NOT_FOUND', `the face-api.js weights are not installed (needed for training and \`expnet bundle\`, not for predict): run \`npm install ${FACE_API_PACKAGE}@1.7\``, { cause });
  }
  return path.join(path.dirname(pkg), 'model');
}

/** Path of `<name>-weights_manifest.json` in `dir` (default: {@link modelDir}). */
export function faceApiManifestPath(name: FaceApiModelName, dir: string = modelDir()): string {
  return path.join(dir, `${name}-weights_manifest.json`);
}

/** Reads a face-api model's weights: `readTfjsWeights(faceApiManifestPath(name, dir))`. */
export function loadFaceApiWeights(name: FaceApiModelName, dir?: string): Promise<TfjsWeightMap> {
  return readTfjsWeights(faceApiManifestPath(name, dir));
}

/**
 * Reads a tfjs weights manifest and its `.bin` shards without tfjs: every group's shards are concatenated in
 * order, their total size must equal the bytes the group's weights need exactly, and each weight is
 * dequantised (`q·scale + min`, float16 → float32). Throws ExpnetError 'BAD_WEIGHTS' naming the manifest.
 */
export async function readTfjsWeights(manifestFile: string): Promise<TfjsWeightMap> {
  let text: string;
  try {
    text = await readFile(manifestFile, 'utf8');
  } catch (cause) {
    throw new ExpnetError('BAD_WEIGHTS', `${manifestFile}: cannot read the weights manifest (${(cause as Error).message})`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ExpnetError('BAD_WEIGHTS', `${manifestFile}: expected JSON, ${(cause as Error).message}`, { cause });
  }
  return readTfjsShards(parseTfjsManifest(json, manifestFile), path.dirname(manifestFile), manifestFile);
}

/**
 * Reads and decodes the shards of parsed weight groups (paths relative to `dir`): per group, the shards'
 * total size must equal what its weights need exactly. `source` names the manifest (or model.json) in errors.
 */
export async function readTfjsShards(groups: readonly TfjsManifestGroup[], dir: string, source: string): Promise<TfjsWeightMap> {
  const out: TfjsWeightMap = new Map();
  for (const [g, group] of groups.entries()) {
    const shards: Buffer[] = [];
    for (const p of group.paths) {
      const shard = path.resolve(dir, p);
      try {
        shards.push(await readFile(shard));
      } catch (cause) {
        throw new ExpnetError('BAD_WEIGHTS', `${source}: group ${g} shard '${p}' (${shard}) cannot be read: ${(cause as Error).message}`, { cause });
      }
    }
    const bytes = Buffer.concat(shards);
    const need = group.weights.reduce((n, w) => n + tfjsByteLength(w), 0);
    if (bytes.byteLength !== need) {
      const sizes = group.paths.map((p, i) => `${p}=${shards[i]?.byteLength ?? 0}`).join(', ');
      throw new ExpnetError('BAD_WEIGHTS', `${source}: group ${g} weights need exactly ${need} bytes but its shards hold ${bytes.byteLength} (${sizes})`);
    }
    tfjsDecodeWeights(group.weights, bytes, source, out);
  }
  return out;
}

/** Validates a parsed manifest (array of `{ paths, weights }`); `source` names it in errors. */
export function parseTfjsManifest(json: unknown, source: string): TfjsManifestGroup[] {
  if (!Array.isArray(json)) throw bad(source, 'top level', 'an array of weight groups', json);
  return json.map((group: unknown, g): TfjsManifestGroup => {
    const where = `group ${g}`;
    if (!isRecord(group)) throw bad(source, where, 'an object { paths, weights }', group);
    const { paths, weights } = group;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) {
      throw bad(source, `${where}.paths`, 'an array of shard file names', paths);
    }
    if (!Array.isArray(weights)) throw bad(source, `${where}.weights`, 'an array', weights);
    return { paths: paths as string[], weights: weights.map((w: unknown, i) => parseSpec(w, `${where}.weights[${i}]`, source)) };
  });
}

function parseSpec(w: unknown, where: string, source: string): TfjsWeightSpec {
  if (!isRecord(w)) throw bad(source, where, 'an object { name, shape, dtype }', w);
  const { name, shape, dtype, quantization } = w;
  if (typeof name !== 'string') throw bad(source, `${where}.name`, 'a string', name);
  const at = `${where} '${name}'`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw bad(source, `${at} shape`, 'an array of non-negative integers', shape);
  }
  if (dtype !== 'float32' && dtype !== 'int32') throw bad(source, `${at} dtype`, "'float32' or 'int32'", dtype);
  const spec: TfjsWeightSpec = { name, shape: shape as number[], dtype };
  if (quantization !== undefined) spec.quantization = parseQuantization(quantization, at, source);
  return spec;
}

function parseQuantization(q: unknown, at: string, source: string): TfjsQuantization {
  if (!isRecord(q)) throw bad(source, `${at} quantization`, 'an object { dtype, scale, min }', q);
  const { dtype, scale, min } = q;
  if (dtype !== 'uint8' && dtype !== 'uint16' && dtype !== 'float16') {
    throw bad(source, `${at} quantization.dtype`, "'uint8', 'uint16' or 'float16'", dtype);
  }
  const out: TfjsQuantization = { dtype };
  for (const [key, v] of [['scale', scale], ['min', min]] as const) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(source, `${at} quantization.${key}`, 'a finite number', v);
    out[key] = v;
  }
  if (dtype !== 'float16' && (out.scale === undefined || out.min === undefined)) {
    throw bad(source, `${at} quantization`, `'scale' and 'min' for ${dtype}`, q);
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(source: string, where: string, expected: string, got: unknown): ExpnetError {
  const shown = JSON.stringify(got) ?? String(got);
  return new ExpnetError('BAD_WEIGHTS', `${source}: ${where}: expected ${expected}, got ${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}`);
}
