/**
 * Programs: a forward pass recorded once (like torch.jit.trace) and replayed natively, so a whole inference
 * batch or training step (forward, loss, backward, optimiser update) is one call, and can run off the JS thread.
 * The recording captures the ops executed for the example inputs: control flow in JS is fixed at trace time,
 * and tensors other than the inputs (parameters, buffers) are captured by reference, so in-place updates
 * by the optimiser are seen by later runs.
 */
import { ExpnetError } from '../errors.js';
import { native, type NativeProgram, type ProgramDescription, type NativeTensor, type NativeTrainStep } from './native.js';
import type { Optimizer } from './optim.js';
import { tidy } from './scope.js';
import { Tensor } from './tensor.js';

function wrapErr(what: string, err: unknown): never {
  throw new ExpnetError('NATIVE', `${what}: ${(err as Error).message}`, { cause: err });
}

export class Program {
  constructor(readonly handle: NativeProgram) {}

  /** Records the ops `fn` runs on the example inputs. */
  static trace(fn: (...inputs: Tensor[]) => Tensor | readonly Tensor[], example: readonly Tensor[]): Program {
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

  constructor(fn: (...inputs: Tensor[]) => Tensor | readonly Tensor[], example: readonly Tensor[], readonly optimizer: Optimizer, clipNorm = 0) {
    this.program = Program.trace(fn, example);
    this.#step = new (native().NativeTrainStep)(this.program.handle, optimizer.handle, clipNorm);
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
  dispose(): void {
    this.program.dispose();
  }
}
