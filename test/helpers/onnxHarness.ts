/** Test harness for the ONNX writer: seeded random tensors, running models in ONNX Runtime, comparisons. */

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import '../../src/infer/ortEnv.js'; // before onnxruntime-node: telemetry off
import * as ort from 'onnxruntime-node';
import { GraphBuilder, type FloatTensor } from '../../src/formats/onnx/index.js';

export { seededRandom } from './gradcheck.js';

/** Uniform values in [-scale, scale). */
export function randTensor(rand: () => number, shape: readonly number[], scale = 1): FloatTensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (rand() * 2 - 1) * scale;
  return { data, shape: [...shape] };
}

export function randPositive(rand: () => number, n: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + rand() * (hi - lo);
  return out;
}

type Feeds = Readonly<Record<string, FloatTensor>>;

function toFloatTensor(t: { data: unknown; dims: readonly number[] }, name: string): FloatTensor {
  if (!(t.data instanceof Float32Array)) throw new Error(`output '${name}' is not float32`);
  return { data: t.data, shape: [...t.dims] };
}

/** Run a model in onnxruntime-node (CPU, one thread) and return its float outputs. */
export async function runNode(model: Uint8Array, feeds: Feeds): Promise<Record<string, FloatTensor>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', v.data, [...v.shape]);
    const out = await session.run(inputs);
    const res: Record<string, FloatTensor> = {};
    for (const [k, v] of Object.entries(out)) res[k] = toFloatTensor(v, k);
    return res;
  } finally {
    await session.release();
  }
}

/** Run a model in onnxruntime-web's wasm backend inside Node (wasm files from node_modules; no network). */
export async function runWeb(model: Uint8Array, feeds: Feeds): Promise<Record<string, FloatTensor>> {
  const web = await import('onnxruntime-web');
  web.env.wasm.numThreads = 1;
  // The package's own dist/ folder holds the .wasm files; resolved from here so it works from test/ and dist/test/.
  web.env.wasm.wasmPaths = `${dirname(createRequire(import.meta.url).resolve('onnxruntime-web'))}/`;
  const session = await web.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    const inputs: Record<string, InstanceType<typeof web.Tensor>> = {};
    for (const [k, v] of Object.entries(feeds)) inputs[k] = new web.Tensor('float32', v.data, [...v.shape]);
    const out = await session.run(inputs);
    const res: Record<string, FloatTensor> = {};
    for (const [k, v] of Object.entries(out)) res[k] = toFloatTensor(v, k);
    return res;
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: FloatTensor, b: FloatTensor): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs((a.data[i] ?? 0) - (b.data[i] ?? 0)));
  return m;
}

export function assertClose(actual: FloatTensor | undefined, expected: FloatTensor, tol: number, what: string): void {
  assert.ok(actual !== undefined, `${what}: no output`);
  assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`);
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max |diff| ${d.toExponential(2)} > ${tol}`);
}

/**
 * A model with float input 'x' of shape ['batch', ...rest] (plus optional extra inputs) whose single
 * output is the value `build` returns, renamed to 'y' through an Identity when needed.
 */
export function singleOutputModel(
  rest: readonly number[],
  build: (g: GraphBuilder, x: string) => string,
  extraInputs: Readonly<Record<string, readonly (number | string)[]>> = {},
): Uint8Array {
  const g = new GraphBuilder('test');
  const x = g.addInput('x', 'float32', ['batch', ...rest]);
  for (const [k, dims] of Object.entries(extraInputs)) g.addInput(k, 'float32', dims);
  const out = build(g, x);
  if (out !== 'y') g.addNode('Identity', [out], ['y']);
  g.addOutput('y', 'float32', undefined);
  return g.toModel();
}
