/**
 * InferSession: a typed wrapper over an ONNX Runtime InferenceSession, independent of which runtime package
 * provides it (onnxruntime-node in session.ts, onnxruntime-web in webSession.ts: the same .onnx file).
 * Created once, run many times with batched float32 inputs, checked against the model's declared inputs;
 * dispose() waits for runs in flight, then releases the native session.
 */
import { ExpnetError } from '../errors.js';

/** A float32 batch: row-major values and the shape (dim 0 is the batch). */
export interface Float32Batch {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export type OutputData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Float64Array | Uint16Array;

export interface SessionOutput {
  readonly data: OutputData;
  readonly shape: readonly number[];
  /** ONNX Runtime's type name: 'float32', 'int64', … */
  readonly dtype: string;
}

/** The runtime-agnostic session options; SESSION_DEFAULTS in session.ts states their defaults once. */
export interface SessionOptions {
  /** Threads inside one op (0 = ONNX Runtime's choice: one per physical core). */
  readonly intraOpThreads?: number;
  /** Threads across independent ops (used only by 'parallel' execution). */
  readonly interOpThreads?: number;
  readonly graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** In order of preference, e.g. ['cpu'] (node), ['wasm'] (web). */
  readonly executionProviders?: readonly string[];
  /**
   * Whether ONNX Runtime's worker threads spin-wait for work between runs (its `allow_spinning`). Only matters
   * with more than one thread; spinning workers take the cores from the JS thread and ffmpeg between the many
   * small runs of a video (3.5× slower at 2 threads on the 2-core dev machine: docs/PERFORMANCE.md#video).
   */
  readonly spinWait?: boolean;
}

// ---- the slice of the onnxruntime-common API this wrapper uses (both runtime packages satisfy it) ----
export interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
  dispose(): void;
}
interface OrtInputMeta {
  readonly name: string;
  readonly isTensor: boolean;
  readonly shape?: readonly (number | string)[];
}
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtInputMeta[];
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}
export interface OrtSessionCreateOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  executionProviders?: string[];
  /** Session config entries (onnxruntime-common's `extra`, flattened with dots). */
  extra?: Record<string, unknown>;
}
export interface OrtRuntime {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: OrtSessionCreateOptions): Promise<OrtSessionLike>;
    create(path: string, options?: OrtSessionCreateOptions): Promise<OrtSessionLike>;
  };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensorLike;
}

function badInput(message: string): never {
  throw new ExpnetError('BAD_INPUT', `InferSession: ${message}`);
}

const same = (a: readonly (number | string)[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, k) => typeof d === 'string' || d === b[k]);

export class InferSession {
  readonly #session: OrtSessionLike;
  readonly #runtime: OrtRuntime;
  readonly #inFlight = new Set<Promise<unknown>>();
  #disposed = false;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Declared input shapes (strings are symbolic dims such as 'batch'); empty when the runtime does not say. */
  readonly inputShapes: ReadonlyMap<string, readonly (number | string)[]>;

  private constructor(session: OrtSessionLike, runtime: OrtRuntime) {
    this.#session = session;
    this.#runtime = runtime;
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
    const shapes = new Map<string, readonly (number | string)[]>();
    for (const m of session.inputMetadata ?? []) if (m.isTensor && m.shape !== undefined && m.shape.length > 0) shapes.set(m.name, [...m.shape]);
    this.inputShapes = shapes;
  }

  /** Opens a session on model bytes or a model file path with `runtime` (already resolved options). */
  static async open(runtime: OrtRuntime, model: Uint8Array | string, options: Required<SessionOptions>): Promise<InferSession> {
    const create: OrtSessionCreateOptions = {
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: options.interOpThreads,
      graphOptimizationLevel: options.graphOptimization,
      executionProviders: [...options.executionProviders],
      ...(options.spinWait ? {} : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
    };
    const what = typeof model === 'string' ? model : `${model.byteLength} bytes of ONNX`;
    try {
      const session = typeof model === 'string' ? await runtime.InferenceSession.create(model, create) : await runtime.InferenceSession.create(model, create);
      return new InferSession(session, runtime);
    } catch (err) {
      const msg = (err as Error).message;
      const missing = typeof model === 'string' && /no such file|not exist|ENOENT|Load model from .* failed:Load model/i.test(msg);
      throw new ExpnetError(missing ? 'NOT_FOUND' : 'BAD_MODEL', `cannot open an ONNX Runtime session on ${what}: ${msg}`, { cause: err });
    }
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  #feed(name: string, x: Float32Batch): OrtTensorLike {
    if (!(x.data instanceof Float32Array)) badInput(`input '${name}' must be a Float32Array, got ${(x.data as object).constructor.name}`);
    const n = x.shape.reduce((a, b) => a * b, 1);
    if (!x.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || n !== x.data.length) {
      badInput(`input '${name}': shape [${x.shape.join(', ')}] needs ${n} values, got ${x.data.length}`);
    }
    const want = this.inputShapes.get(name);
    if (want !== undefined && !same(want, x.shape)) badInput(`input '${name}': expected shape [${want.join(', ')}], got [${x.shape.join(', ')}]`);
    return new this.#runtime.Tensor('float32', x.data, x.shape);
  }

  /**
   * Runs the model. `inputs` is one batch (for a single-input model) or a batch per input name. Returns every
   * output by name; the arrays are the caller's.
   */
  async run(inputs: Float32Batch | Readonly<Record<string, Float32Batch>>): Promise<Record<string, SessionOutput>> {
    if (this.#disposed) badInput('this session was disposed');
    const byName: Readonly<Record<string, Float32Batch>> =
      'data' in inputs && 'shape' in inputs && Array.isArray(inputs.shape)
        ? this.inputNames.length === 1
          ? { [this.inputNames[0] as string]: inputs as Float32Batch }
          : badInput(`the model has ${this.inputNames.length} inputs (${this.inputNames.join(', ')}); pass them by name`)
        : (inputs as Readonly<Record<string, Float32Batch>>);
    const given = Object.keys(byName);
    const unknown = given.filter((k) => !this.inputNames.includes(k));
    const missing = this.inputNames.filter((k) => !(k in byName));
    if (unknown.length > 0 || missing.length > 0) {
      badInput(`expected inputs ${JSON.stringify(this.inputNames)}, got ${JSON.stringify(given)}`);
    }
    const feeds: Record<string, OrtTensorLike> = {};
    for (const name of this.inputNames) feeds[name] = this.#feed(name, byName[name] as Float32Batch);
    const job = this.#session.run(feeds);
    this.#inFlight.add(job);
    let out: Record<string, OrtTensorLike>;
    try {
      out = await job;
    } catch (err) {
      throw new ExpnetError('NATIVE', `ONNX Runtime run failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#inFlight.delete(job);
      for (const t of Object.values(feeds)) t.dispose();
    }
    const result: Record<string, SessionOutput> = {};
    for (const [name, t] of Object.entries(out)) {
      result[name] = { data: t.data as OutputData, shape: [...t.dims], dtype: t.type };
    }
    return result;
  }

  /** Runs a single-input, single-output model on one batch and returns that output as float32. */
  async runFloat32(input: Float32Batch): Promise<Float32Batch> {
    if (this.outputNames.length !== 1) badInput(`runFloat32 needs a single-output model; this one has ${this.outputNames.join(', ')}`);
    const out = (await this.run(input))[this.outputNames[0] as string];
    if (out === undefined || !(out.data instanceof Float32Array)) badInput(`output '${this.outputNames[0]}' is ${out?.dtype ?? 'missing'}, not float32`);
    return { data: out.data, shape: out.shape };
  }

  /** Waits for runs in flight, then releases the native session (idempotent). */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.allSettled([...this.#inFlight]);
    await this.#session.release();
  }
}
