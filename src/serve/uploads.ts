/**
 * Bodies in flight. A request with a body is *receiving* from its headers until its body has been read (or its
 * connection ends); only then does it ask the recognizer queue for a place (admission after the body). Receiving
 * requests are bounded on their own: at most `max` at once and `perClient` per remote address, each cut by the
 * body timeout (Node's requestTimeout). So uploads that stall after their headers hold no queue place and cannot
 * starve other clients; at shutdown, the stalled ones are cut.
 */
import type { FastifyRequest } from 'fastify';

export type UploadRefusal = 'full' | 'client';

export class Uploads {
  readonly #open = new Map<FastifyRequest, () => void>();
  readonly #byClient = new Map<string, number>();

  constructor(
    readonly max: number,
    readonly perClient: number,
  ) {}

  get receiving(): number {
    return this.#open.size;
  }

  /** True when the request announces a body (Content-Length > 0 or chunked). */
  static hasBody(req: FastifyRequest): boolean {
    return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  }

  /** Registers the request until its body ends (or its connection closes); null, or why it is refused. */
  enter(req: FastifyRequest): UploadRefusal | null {
    const client = req.ip;
    const mine = this.#byClient.get(client) ?? 0;
    if (mine >= this.perClient) return 'client';
    if (this.#open.size >= this.max) return 'full';
    this.#byClient.set(client, mine + 1);
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      this.#open.delete(req);
      const n = (this.#byClient.get(client) ?? 1) - 1;
      if (n > 0) this.#byClient.set(client, n);
      else this.#byClient.delete(client);
    };
    this.#open.set(req, leave);
    req.raw.once('end', leave);
    req.raw.once('close', leave);
    return null;
  }

  /** The request's body is read (or no longer awaited); idempotent. */
  leave(req: FastifyRequest): void {
    this.#open.get(req)?.();
  }

  /**
   * Shutdown: every `stallMs`, cuts the connections of the uploads that received no byte since the last look
   * (the first look is now: one interval without progress is a stall). Uploads still making progress go on
   * (bounded by the body timeout); the watch ends when none is left.
   */
  cutStalled(stallMs: number): void {
    const seen = new Map<FastifyRequest, number>();
    const look = (): void => {
      for (const [req, leave] of [...this.#open]) {
        const bytes = req.raw.socket?.bytesRead ?? 0;
        if (seen.get(req) === bytes) {
          leave();
          req.raw.socket?.destroy();
        } else seen.set(req, bytes);
      }
      if (this.#open.size === 0) clearInterval(timer);
    };
    const timer = setInterval(look, stallMs);
    timer.unref();
    look();
  }
}
