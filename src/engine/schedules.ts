/** Learning-rate schedules: factors of the base rate, as pure functions of progress, plus reduce-on-plateau. */

/** A schedule maps the step (or epoch) index, from 0, to a factor of the base learning rate. */
export type LrSchedule = (step: number) => number;

export const constantLr = (): LrSchedule => () => 1;

/** Multiply by gamma every `every` steps. */
export const stepLr = (every: number, gamma = 0.1): LrSchedule => (s) => gamma ** Math.floor(s / every);

/** Cosine from 1 down to minFactor over `total` steps. */
export const cosineLr = (total: number, minFactor = 0): LrSchedule => (s) =>
  minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, s / Math.max(1, total))));

/** Linear warm-up from `start` to 1 over `steps`, then `after` (shifted so it starts at 0). */
export const warmup = (steps: number, after: LrSchedule = constantLr(), start = 0.1): LrSchedule => (s) =>
  s < steps ? start + ((1 - start) * s) / steps : after(s - steps);

export interface PlateauOptions {
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  minFactor?: number;
}

/** Reduces the factor when a watched metric stops improving for `patience` evaluations. */
export class ReduceOnPlateau {
  factor = 1;
  #best: number | undefined;
  #bad = 0;
  readonly o: Required<PlateauOptions>;
  constructor(o: PlateauOptions = {}) {
    this.o = { mode: o.mode ?? 'min', factor: o.factor ?? 0.1, patience: o.patience ?? 5, threshold: o.threshold ?? 1e-4, minFactor: o.minFactor ?? 0 };
  }
  /** Reports a metric value; returns the (possibly reduced) factor. */
  observe(value: number): number {
    const better =
      this.#best === undefined ||
      (this.o.mode === 'min' ? value < this.#best * (1 - this.o.threshold) : value > this.#best * (1 + this.o.threshold));
    if (better) {
      this.#best = value;
      this.#bad = 0;
    } else if (++this.#bad > this.o.patience) {
      this.factor = Math.max(this.o.minFactor, this.factor * this.o.factor);
      this.#bad = 0;
    }
    return this.factor;
  }
  state(): { factor: number; best: number | null; bad: number } {
    return { factor: this.factor, best: this.#best ?? null, bad: this.#bad };
  }
  restore(s: { factor: number; best: number | null; bad: number }): void {
    this.factor = s.factor;
    this.#best = s.best ?? undefined;
    this.#bad = s.bad;
  }
}
