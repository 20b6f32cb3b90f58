/** Module: a tree of named parameters, buffers and children, with train/eval, devices and strict state dicts. */
import { ExpnetError } from '../errors.js';
import { BUILD_NATIVE_COMMAND, native, type NativeAddon, type NativeTensor } from './native.js';
import { checkDevice, noGrad } from './runtime.js';
import { keep } from './scope.js';
import { Tensor, type Device, type DType, type MemoryFormat, type TensorData } from './tensor.js';

/** A tensor's values outside libtorch (as read from a checkpoint file). */
export interface RawTensor {
  dtype: DType;
  shape: readonly number[];
  data: TensorData;
}
export type StateDict = Map<string, Tensor>;

/**
 * `dst` takes `src`'s data (device, dtype, values) in place, as PyTorch's `dst.data = src`: the Tensor object, and
 * every optimiser or traced step holding it, stays valid; a gradient moves along. Not recorded by autograd.
 */
export function setData(dst: Tensor, src: Tensor): void {
  const n = native() as NativeAddon & { setData?: (dst: NativeTensor, src: NativeTensor) => void };
  if (typeof n.setData !== 'function') throw new ExpnetError('NATIVE', 'the libtorch addon predates setData (Module.to); rebuild it with `' + BUILD_NATIVE_COMMAND + '`');
  try {
    n.setData(dst.handle, src.handle);
  } catch (err) {
    throw new ExpnetError('NATIVE', (err as Error).message, { cause: err });
  }
}

export abstract class Module {
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #children = new Map<string, Module>();
  /** Non-persistent tensors (normalisation means, ...): moved by to(), not in the state dict. */
  readonly #constants = new Map<string, Tensor>();

  abstract forward(x: Tensor): Tensor;

  /** Registers a trainable parameter (owned by this module from now on). */
  protected param(name: string, t: Tensor): Tensor {
    this.#checkName(name);
    keep(t);
    if (!t.requiresGrad) t.requiresGrad = true;
    this.#params.set(name, t);
    return t;
  }
  /** Registers a non-trainable state tensor (e.g. BatchNorm running statistics). */
  protected buffer(name: string, t: Tensor): Tensor {
    this.#checkName(name);
    keep(t);
    this.#buffers.set(name, t);
    return t;
  }
  /**
   * Registers a fixed tensor the forward pass uses (e.g. an input mean) that is not state: to() moves it with the
   * parameters, stateDict() leaves it out (PyTorch's non-persistent buffer). Owned by this module.
   */
  protected constant(name: string, t: Tensor): Tensor {
    if (this.#constants.has(name)) throw new ExpnetError('BAD_INPUT', `cannot register constant '${name}' twice`);
    keep(t);
    this.#constants.set(name, t);
    return t;
  }
  protected child<M extends Module>(name: string, m: M): M {
    this.#checkName(name);
    this.#children.set(name, m);
    return m;
  }
  #checkName(name: string): void {
    if (name.includes('.') || this.#params.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new ExpnetError('BAD_INPUT', `cannot register '${name}': names must be unique and contain no '.'`);
    }
  }

  children(): [string, Module][] {
    return [...this.#children];
  }
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.#params].map(([n, t]) => [prefix + n, t]);
    for (const [n, c] of this.#children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  /** Parameters whose requiresGrad is on (not frozen). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.#buffers].map(([n, t]) => [prefix + n, t]);
    for (const [n, c] of this.#children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  train(on = true): this {
    this.training = on;
    for (const [, c] of this.#children) c.train(on);
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** Stops gradients into every parameter of this subtree (e.g. a frozen teacher). */
  freeze(): this {
    for (const p of this.parameters()) p.requiresGrad = false;
    return this;
  }
  unfreeze(): this {
    for (const p of this.parameters()) p.requiresGrad = true;
    return this;
  }

  /**
   * Moves every parameter, buffer and constant of this subtree to `device` in place: the same Tensor objects stay
   * valid (their data moves, gradients too), so create optimisers and traced steps after this call. A device the
   * libtorch build lacks is a BAD_CONFIG ExpnetError before anything moves; tensors already there are left alone.
   */
  to(device: Device | string): this {
    const target = checkDevice(device, `${this.constructor.name}.to`);
    noGrad(() => {
      for (const t of this.#allTensors()) {
        if (t.device === target) continue; // ('cuda', the current GPU, always moves: a no-op when already there)
        const moved = t.to(null, target);
        try {
          setData(t, moved);
        } finally {
          moved.dispose();
        }
      }
    });
    return this;
  }
  /**
   * Re-lays every 4-D parameter, buffer and constant out in `format`, in place (the Tensor objects, and optimisers
   * or traced steps holding them, stay valid). 'channelsLast' is what oneDNN's bfloat16 convolutions want: with
   * channels-last weights and inputs they skip the layout reorders (train-throughput: 1.6–2× on the student under
   * bf16 autocast). Values, state dicts and checkpoints do not change.
   */
  toMemoryFormat(format: MemoryFormat): this {
    noGrad(() => {
      for (const t of this.#allTensors()) {
        if (t.shape.length !== 4 || t.memoryFormat === format) continue;
        const laid = t.contiguous(format);
        try {
          setData(t, laid);
        } finally {
          laid.dispose();
        }
      }
    });
    return this;
  }
  /** The device of the first parameter (or buffer/constant); 'cpu' for a module without tensors. */
  get device(): string {
    return this.#allTensors()[0]?.device ?? 'cpu';
  }
  #allTensors(): Tensor[] {
    const out = [...this.#params.values(), ...this.#buffers.values(), ...this.#constants.values()];
    for (const c of this.#children.values()) out.push(...c.#allTensors());
    return out;
  }

  /** Parameters and buffers by dotted name (the live tensors, not copies). */
  stateDict(): StateDict {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values into this module. Strict by default: every name must exist on both sides with the same
   * shape and dtype, or nothing is changed and the error lists the differences.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor | RawTensor>, strict = true): void {
    const mine = this.stateDict();
    const problems: string[] = [];
    for (const [name, src] of state) {
      const dst = mine.get(name);
      if (!dst) {
        if (strict) problems.push(`unexpected '${name}'`);
        continue;
      }
      if (src.shape.join(',') !== dst.shape.join(',')) problems.push(`'${name}': shape [${src.shape}] but the module has [${dst.shape}]`);
      else if (src.dtype !== dst.dtype) problems.push(`'${name}': dtype ${src.dtype} but the module has ${dst.dtype}`);
    }
    if (strict) for (const name of mine.keys()) if (!state.has(name)) problems.push(`missing '${name}'`);
    if (problems.length > 0) {
      const shown = problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; … ${problems.length - 10} more` : '');
      throw new ExpnetError('BAD_WEIGHTS', `state dict does not match ${this.constructor.name}: ${shown}`);
    }
    noGrad(() => {
      for (const [name, src] of state) mine.get(name)?.assign(src instanceof Tensor ? src : src.data);
    });
  }

  dispose(): void {
    for (const t of this.#params.values()) t.dispose();
    for (const t of this.#buffers.values()) t.dispose();
    for (const t of this.#constants.values()) t.dispose();
    for (const c of this.#children.values()) c.dispose();
  }
}
