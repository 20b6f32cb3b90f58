/** Optimisers: libtorch's own SGD, Adam and AdamW, with parameter groups and exportable state. */
import { ExpnetError } from '../errors.js';
import { native, type NativeOptimizer, type NativeOptimizerGroup } from './native.js';
import { Tensor } from './tensor.js';

export type OptimizerKind = 'sgd' | 'adam' | 'adamw';

export interface OptimizerOptions {
  lr: number;
  weightDecay?: number;
  /** SGD */
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** Adam / AdamW */
  beta1?: number;
  beta2?: number;
  eps?: number;
  amsgrad?: boolean;
}

export interface ParamGroup extends Partial<OptimizerOptions> {
  params: readonly Tensor[];
}

export class Optimizer {
  readonly handle: NativeOptimizer;
  readonly groups: readonly (readonly Tensor[])[];
  /** Each group's base learning rate (schedules scale it). */
  readonly baseLrs: readonly number[];

  constructor(readonly kind: OptimizerKind, params: readonly Tensor[] | readonly ParamGroup[], defaults: OptimizerOptions) {
    const groups: ParamGroup[] =
      params.length > 0 && params[0] instanceof Tensor ? [{ params: params as readonly Tensor[] }] : (params as ParamGroup[]);
    if (groups.length === 0 || groups.every((g) => g.params.length === 0)) {
      throw new ExpnetError('BAD_INPUT', `${kind}: no parameters to optimise`);
    }
    const nativeGroups: NativeOptimizerGroup[] = groups.map((g) => {
      const merged: Record<string, number | boolean | undefined> = { ...defaults, ...g, params: undefined };
      const out: NativeOptimizerGroup = { params: g.params.map((p) => p.handle), lr: defaults.lr };
      for (const [k, v] of Object.entries(merged)) if (v !== undefined) out[k] = v;
      return out;
    });
    try {
      this.handle = new (native().NativeOptimizer)(kind, nativeGroups);
    } catch (err) {
      throw new ExpnetError('BAD_CONFIG', `${kind}: ${(err as Error).message}`, { cause: err });
    }
    this.groups = groups.map((g) => g.params);
    this.baseLrs = nativeGroups.map((g) => g.lr);
  }

  #disposed = false;

  get isDisposed(): boolean {
    return this.#disposed;
  }
  #live(): NativeOptimizer {
    if (this.#disposed) throw new ExpnetError('BAD_INPUT', `${this.kind}: this optimizer was already disposed`);
    return this.handle;
  }
  step(): void {
    this.#live().step();
  }
  zeroGrad(): void {
    this.#live().zeroGrad();
  }
  /** Frees the optimiser state (moments, momentum buffers) now rather than at garbage collection; idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.handle.dispose();
  }
  /** Sets every group's learning rate to its base rate times `factor`. */
  scaleLr(factor: number): void {
    const h = this.#live();
    this.baseLrs.forEach((lr, g) => h.setLr(g, lr * factor));
  }
  setLr(lr: number, group?: number): void {
    const h = this.#live();
    if (group === undefined) this.baseLrs.forEach((_, g) => h.setLr(g, lr));
    else h.setLr(group, lr);
  }
  getLr(group = 0): number {
    return this.#live().getLr(group);
  }
  /** Per-parameter state ("<group>.<index>.<field>") as new tensors owned by the caller. */
  stateDict(): Map<string, Tensor> {
    return new Map(Object.entries(this.#live().exportState()).map(([k, h]) => [k, new Tensor(h)]));
  }
  loadStateDict(state: ReadonlyMap<string, Tensor>): void {
    const obj: Record<string, Tensor['handle']> = {};
    const h = this.#live();
    for (const [k, t] of state) obj[k] = t.handle;
    try {
      h.importState(obj);
    } catch (err) {
      throw new ExpnetError('BAD_WEIGHTS', `optimizer state does not fit this ${this.kind}: ${(err as Error).message}`, { cause: err });
    }
  }
}

export const sgd = (params: readonly Tensor[] | readonly ParamGroup[], o: OptimizerOptions): Optimizer => new Optimizer('sgd', params, o);
export const adam = (params: readonly Tensor[] | readonly ParamGroup[], o: OptimizerOptions): Optimizer => new Optimizer('adam', params, o);
export const adamw = (params: readonly Tensor[] | readonly ParamGroup[], o: OptimizerOptions): Optimizer => new Optimizer('adamw', params, o);
