/**
 * Graceful shutdown on signals: the first SIGTERM/SIGINT starts `app.close()` (no new connections, 503 on
 * kept-alive ones, stalled uploads are cut, accepted requests and progressing uploads finish, the recognizer is
 * disposed when the app owns it). Past graceMs, or on a SIGINT after the first signal (Ctrl-C twice), open
 * connections are cut; a repeated SIGTERM (supervisors resend it) does not cut anything.
 */
import type { FastifyInstance } from 'fastify';

export interface ShutdownOptions {
  signals?: readonly NodeJS.Signals[];
  /** Time in-flight requests get before their connections are cut (default 30 s). */
  graceMs?: number;
  /** Told which signal arrived and whether it cuts connections (the CLI prints it). */
  onSignal?: (signal: NodeJS.Signals, cuts: boolean) => void;
}

export interface ShutdownResult {
  signal: NodeJS.Signals;
  /** False when requests in flight had to be cut (grace time over, or a second SIGINT). */
  graceful: boolean;
}

/** Resolves once the app has closed after a signal; the signal handlers are removed then. */
export function closeOnSignals(app: FastifyInstance, options: ShutdownOptions = {}): Promise<ShutdownResult> {
  const { signals = ['SIGTERM', 'SIGINT'], graceMs = 30_000, onSignal } = options;
  return new Promise((resolve, reject) => {
    let first: NodeJS.Signals | undefined;
    let graceful = true;
    const cut = (): void => {
      graceful = false;
      app.server.closeAllConnections();
    };
    const handler = (signal: NodeJS.Signals): void => {
      const cuts = first !== undefined && signal !== 'SIGTERM';
      onSignal?.(signal, cuts);
      if (first !== undefined) {
        if (cuts) cut();
        return;
      }
      first = signal;
      const timer = setTimeout(cut, graceMs);
      timer.unref();
      app.close().then(
        () => {
          clearTimeout(timer);
          for (const s of signals) process.off(s, handler);
          resolve({ signal, graceful });
        },
        (err: unknown) => {
          clearTimeout(timer);
          for (const s of signals) process.off(s, handler);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    };
    for (const s of signals) process.on(s, handler);
  });
}
