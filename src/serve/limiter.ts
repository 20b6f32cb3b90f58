/**
 * The bounded queue in front of the recognizer. Requests are *admitted* once their body has been read (at most
 * concurrency + maxQueue at once; bodies still arriving are bounded by uploads.ts), then *run* in FIFO order, at
 * most `concurrency` at a time. A waiting job whose signal aborts (timeout, client gone) leaves the queue unrun;
 * a running job keeps its slot until it really ends (ORT runs cannot be cancelled).
 */
export interface LimiterStats {
  admitted: number;
  running: number;
  waiting: number;
  capacity: number;
}

export class Limiter {
  #admitted = 0;
  #running = 0;
  readonly #queue: (() => void)[] = [];
  #meanS = 0.1;
  readonly #idle: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
  ) {}

  get capacity(): number {
    return this.concurrency + this.maxQueue;
  }

  stats(): LimiterStats {
    return { admitted: this.#admitted, running: this.#running, waiting: this.#queue.length, capacity: this.capacity };
  }

  /** True while a place is free (a request refused now would not even be read). */
  hasRoom(): boolean {
    return this.#admitted < this.capacity;
  }

  /** Takes a place if one is free; the caller must `leave()` exactly once when its response is done. */
  tryAdmit(): boolean {
    if (this.#admitted >= this.capacity) return false;
    this.#admitted++;
    return true;
  }

  leave(): void {
    if (this.#admitted > 0) this.#admitted--;
  }

  /** Seconds a client should wait before retrying: the time to drain what is admitted now, 1..60. */
  retryAfterS(): number {
    return Math.min(60, Math.max(1, Math.ceil(((this.#admitted + 1) / this.concurrency) * this.#meanS)));
  }

  /** Runs fn in a slot, FIFO; rejects with signal.reason if the signal aborts before fn starts. */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const start = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#running++;
        const t0 = performance.now();
        fn()
          .then(resolve, reject)
          .finally(() => {
            this.#meanS = 0.8 * this.#meanS + 0.2 * ((performance.now() - t0) / 1000);
            this.#running--;
            this.#next();
          });
      };
      const onAbort = (): void => {
        const i = this.#queue.indexOf(start);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(signal?.reason);
      };
      if (this.#running < this.concurrency) start();
      else {
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#queue.push(start);
      }
    });
  }

  #next(): void {
    const start = this.#queue.shift();
    if (start) start();
    else if (this.#running === 0) this.#idle.splice(0).forEach((f) => f());
  }

  /** Resolves when nothing runs and nothing waits (used before disposing the recognizer). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
