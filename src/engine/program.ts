/**
 * Programs: a forward pass recorded once (like torch.jit.trace) and replayed natively, so a whole inference
 * batch or training step (forward, loss, backward, optimiser update) is one call, and can run off the JS thread.
 * The recording captures the ops executed for the example inputs: control flow in JS is fixed at trace time,
 * and tensors other than the inputs (parameters, buffers) are captured by reference, so in-place updates
 * by the optimiser are seen by later runs.
 */
import { ExpnetError } from '../errors.js';
import { autocast, type AutocastOptions } from './autocast.js';
import { native, type NativeProgram, type ProgramDescription, type NativeTensor, type NativeTrainStep } from './native.js';
import type { Optimizer } from './optim.js';
import { tidy } from './scope.js';
import { Tensor } from './tensor.js';

function wrapErr(what: string, err: unknown): never {
  throw new ExpnetError('NATIVE', `${what}: ${(err as Error).message}`, { cause: err });
}

export class Program {
  constructor(readonly handle: NativeProgram) {}

  /**
   * Records the ops `fn` runs on the example inputs. The autocast state in force while recording (an enclosing
   * `autocast()` scope, or `options.autocast`) is part of the program: every replay runs in that precision.
   */
  static trace(fn: (...inputs: Tensor[]) => Tensor | readonly Tensor[], example: readonly Tensor[], options: { autocast?: AutocastOptions | undefined } = {}): Program {
    if (options.autocast) {
      const ac = options.autocast;
      return autocast(ac, () => Program.trace(fn, example));
    }
    const n = native();
    n.traceBegin(example.map((t) => t.handle));
    let handle: NativeProgram;
    try {
      handle = tidy(() => {
        const out = fn(...example);
        const outs = out instanceof Tensor ? [out] : out;
        return n.traceEnd(outs.map((t) => t.handle));
      });
    } catch (err) {
      n.traceAbort();
      throw err;
    }
    return new Program(handle);
  }

  /** The recorded ops (for exporters such as ONNX); the description's consts are owned by the caller. */
  describe(): ProgramDescription {
    return this.handle.describe();
  }

  get numSteps(): number {
    return this.handle.numSteps();
  }
  run(inputs: readonly Tensor[], options: { noGrad?: boolean } = {}): Tensor[] {
    let out: NativeTensor[];
    try {
      out = this.handle.run(inputs.map((t) => t.handle), options.noGrad ?? false);
    } catch (err) {
      wrapErr('program', err);
    }
    return out.map((h) => new Tensor(h));
  }
  /** Runs on a libuv worker thread; the JS thread stays free. Do not touch the parameters until it resolves. */
  async runAsync(inputs: readonly Tensor[], options: { noGrad?: boolean } = {}): Promise<Tensor[]> {
    let out: NativeTensor[];
    try {
      out = await this.handle.runAsync(inputs.map((t) => t.handle), options.noGrad ?? false);
    } catch (err) {
      wrapErr('program', err);
    }
    return out.map((h) => new Tensor(h));
  }
  dispose(): void {
    this.handle.dispose();
  }
}

/** Options of a TrainStep beyond gradient clipping. */
export interface TrainStepOptions {
  /**
   * Data parallel: average the gradients across the process group (src/engine/distributed.ts) during backward,
   * with libtorch's DDP Reducer (buckets of `bucketMb`, default 25, all-reduced as soon as they are complete).
   * `findUnused` tolerates parameters that get no gradient in a step (a graph search per step).
   */
  gradSync?: { bucketMb?: number; findUnused?: boolean };
  /**
   * Mixed precision (src/engine/autocast.ts): the forward and loss run under libtorch's autocast, on whichever
   * thread runs the step; parameters, gradients and optimiser state stay float32.
   */
  autocast?: AutocastOptions | undefined;
}

type NativeTrainStepCtor = new (program: NativeProgram, optimizer: Optimizer['handle'], clipNorm: number, gradSync?: { bucketMb: number; findUnused: boolean }) => NativeTrainStep;

export interface StepResult {
  /** The loss value of this step. */
  loss: number;
  /** Every output of the traced function (first = the loss), detached; owned by the caller. */
  outputs: Tensor[];
}

/**
 * One native call per training step: zero grads, replay forward + loss, backward, optional gradient clipping,
 * optimiser step. `fn` returns the scalar loss first, then anything else to report (loss parts, logits).
 */
export class TrainStep {
  readonly program: Program;
  readonly #step: NativeTrainStep;

  constructor(fn: (...inputs: Tensor[]) => Tensor | readonly Tensor[], example: readonly Tensor[], readonly optimizer: Optimizer, clipNorm = 0, options: TrainStepOptions = {}) {
    this.program = Program.trace(fn, example, { autocast: options.autocast });
    const Ctor = native().NativeTrainStep as NativeTrainStepCtor;
    const sync = options.gradSync;
    try {
      this.#step = sync ? new Ctor(this.program.handle, optimizer.handle, clipNorm, { bucketMb: sync.bucketMb ?? 25, findUnused: sync.findUnused ?? false }) : new Ctor(this.program.handle, optimizer.handle, clipNorm);
    } catch (err) {
      this.program.dispose();
      wrapErr('training step', err);
    }
  }
  step(inputs: readonly Tensor[]): StepResult {
    let out: NativeTensor[];
    try {
      out = this.#step.step(inputs.map((t) => t.handle));
    } catch (err) {
      wrapErr('training step', err);
    }
    return TrainStep.#result(out);
  }
  /** The same step on a worker thread, so progress bars and servers stay responsive. */
  async stepAsync(inputs: readonly Tensor[]): Promise<StepResult> {
    let out: NativeTensor[];
    try {
      out = await this.#step.stepAsync(inputs.map((t) => t.handle));
    } catch (err) {
      wrapErr('training step', err);
    }
    return TrainStep.#result(out);
  }
  static #result(out: NativeTensor[]): StepResult {
    const outputs = out.map((h) => new Tensor(h));
    return { loss: outputs[0]?.item() ?? Number.NaN, outputs };
  }
  /** Releases the traced program and the step's share of the optimiser (the optimizer itself is the caller's to dispose). */
  dispose(): void {
    this.#step.dispose();
    this.program.dispose();
  }
}
