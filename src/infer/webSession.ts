/**
 * ONNX Runtime Web sessions (wasm backend): the same .onnx file and the same InferSession API as
 * createSession in Node (see the design note in session.ts). Works in browsers and, for tests, inside Node.
 */
import { InferSession, type OrtRuntime, type SessionOptions } from './ortSession.js';
import { ExpnetError } from '../errors.js';

export interface WebSessionOptions extends SessionOptions {
  /** Where the onnxruntime-web .wasm files are served from (env.wasm.wasmPaths); default: the runtime's own. */
  readonly wasmPaths?: string;
}

/** Web defaults: one wasm thread (threads need cross-origin isolation), every optimisation, the wasm provider. */
export const WEB_SESSION_DEFAULTS: Readonly<Required<SessionOptions>> = Object.freeze({
  intraOpThreads: 1,
  interOpThreads: 1,
  graphOptimization: 'all',
  executionProviders: Object.freeze(['wasm']),
  spinWait: true,
});

interface WebRuntime {
  readonly env: { readonly wasm: { numThreads?: number; wasmPaths?: unknown } };
}

/** An onnxruntime-web session on ONNX bytes or a model URL. */
export async function createWebSession(model: Uint8Array | string, options: WebSessionOptions = {}): Promise<InferSession> {
  const { wasmPaths, ...rest } = options;
  const resolved: Required<SessionOptions> = { ...WEB_SESSION_DEFAULTS, ...rest };
  let web: OrtRuntime & WebRuntime;
  try {
    web = await import('onnxruntime-web');
  } catch (err) {
    throw new ExpnetError('NOT_FOUND', `createWebSession: cannot load onnxruntime-web: ${(err as Error).message}`, { cause: err });
  }
  web.env.wasm.numThreads = resolved.intraOpThreads;
  if (wasmPaths !== undefined) web.env.wasm.wasmPaths = wasmPaths;
  return InferSession.open(web, model, resolved);
}
