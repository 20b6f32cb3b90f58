/**
 * ONNX Runtime sessions in Node (onnxruntime-node): `createSession(modelBytesOrPath, options)` once, then
 * `run` batches as often as needed, `dispose()` at the end.
 *
 * Browser / onnxruntime-web design note: the wrapper (InferSession in ortSession.ts) depends only on the slice
 * of the onnxruntime-common API both packages share, so `createWebSession` (webSession.ts) opens the *same*
 * .onnx file with `import('onnxruntime-web')` and the 'wasm' execution provider; inputs, outputs, shape
 * checks and dispose() behave identically. Differences to keep in mind: a web model comes as bytes or a URL
 * (not a file path); wasm threads need cross-origin isolation (numThreads 1 otherwise); the wasm binaries are
 * located by `env.wasm.wasmPaths` (bundlers copy them). Nothing here imports node-only modules except this
 * file, so web code imports ortSession.ts/webSession.ts, never session.ts.
 */
import './ortEnv.js'; // before onnxruntime-node: telemetry off
import * as ort from 'onnxruntime-node';
import { ExpnetError } from '../errors.js';
import { InferSession, type SessionOptions } from './ortSession.js';

export { InferSession, type Float32Batch, type OutputData, type SessionOptions, type SessionOutput } from './ortSession.js';

/**
 * Defaults, stated once: one intra-op thread (predictable latency; a server runs requests side by side — raise
 * it for large batches, 0 lets ONNX Runtime use every physical core), one inter-op thread, every graph
 * optimisation, the CPU execution provider, and worker threads that sleep between runs instead of spinning
 * (with threads raised, spinning workers starve the JS thread: a video at 2 threads ran 3.5× slower).
 */
export const SESSION_DEFAULTS: Readonly<Required<SessionOptions>> = Object.freeze({
  intraOpThreads: 1,
  interOpThreads: 1,
  graphOptimization: 'all',
  executionProviders: Object.freeze(['cpu']),
  spinWait: false,
});

const KNOWN = new Set(Object.keys(SESSION_DEFAULTS));
const LEVELS = new Set(['disabled', 'basic', 'extended', 'all']);

/** Options over SESSION_DEFAULTS; unknown keys and out-of-range values are rejected. */
export function resolveSessionOptions(options: SessionOptions = {}, defaults: Readonly<Required<SessionOptions>> = SESSION_DEFAULTS): Required<SessionOptions> {
  for (const k of Object.keys(options)) {
    if (!KNOWN.has(k)) throw new ExpnetError('BAD_CONFIG', `session options: unknown option '${k}' (expected one of ${[...KNOWN].join(', ')})`);
  }
  const r: Required<SessionOptions> = { ...defaults, ...options };
  for (const k of ['intraOpThreads', 'interOpThreads'] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] < 0) throw new ExpnetError('BAD_CONFIG', `session options: ${k} must be an integer ≥ 0, got ${r[k]}`);
  }
  if (!LEVELS.has(r.graphOptimization)) {
    throw new ExpnetError('BAD_CONFIG', `session options: graphOptimization must be one of ${[...LEVELS].join(', ')}, got '${r.graphOptimization}'`);
  }
  if (typeof r.spinWait !== 'boolean') throw new ExpnetError('BAD_CONFIG', `session options: spinWait must be true or false, got ${String(r.spinWait)}`);
  if (r.executionProviders.length === 0) throw new ExpnetError('BAD_CONFIG', 'session options: executionProviders is empty');
  return r;
}

/** An onnxruntime-node session on ONNX bytes or a .onnx file path. */
export function createSession(model: Uint8Array | string, options: SessionOptions = {}): Promise<InferSession> {
  return InferSession.open(ort, model, resolveSessionOptions(options));
}
