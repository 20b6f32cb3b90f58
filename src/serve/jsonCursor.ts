/**
 * A byte cursor over a request body as it streams in (jsonImage.ts reads JSON through it): chunks are scanned
 * where they arrive, never joined, the byte count is held to a limit, and `spent` yields to the event loop
 * every CHUNK bytes of work, also when the stream hands over chunks already buffered (without a turn of the
 * event loop in between).
 */
import { setImmediate as tick } from 'node:timers/promises';
import { HttpError } from './httpError.js';

/** Bytes of work between two yields to the event loop. */
export const CHUNK = 128 * 1024;

export type ByteSource = AsyncIterable<unknown> | Iterable<unknown>;

const EMPTY = Buffer.alloc(0);
const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const asBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(String(v)));

export class Cursor {
  /** The chunk being read and the index of the next byte in it. */
  buf: Buffer = EMPTY;
  i = 0;
  /** Offset of buf[0] in the body. */
  base = 0;
  private received = 0;
  private sinceYield = 0;
  private ended = false;
  private readonly it: AsyncIterator<unknown> | Iterator<unknown>;

  constructor(source: ByteSource, private readonly limit: number, private readonly lengthHint: number) {
    this.it = Symbol.asyncIterator in source ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (source as Iterable<unknown>)[Symbol.iterator]();
  }

  /** Offset of the next byte in the body. */
  get pos(): number {
    return this.base + this.i;
  }

  /** Bytes still to come as far as known (Content-Length, else what has arrived). */
  remainingHint(): number {
    return Math.max(0, (this.lengthHint > 0 ? this.lengthHint : this.received) - this.pos);
  }

  /** True when a byte is at the cursor (reading the next chunk if needed), false at the end of the body. */
  async more(): Promise<boolean> {
    while (this.i >= this.buf.length) {
      if (this.ended) return false;
      const r = await this.it.next();
      if (r.done === true) {
        this.ended = true;
        return false;
      }
      const chunk = asBuffer(r.value);
      this.received += chunk.length;
      if (this.received > this.limit) throw new HttpError(413, 'TOO_LARGE', `the JSON body is over the limit of ${this.limit} bytes`);
      this.i -= this.buf.length;
      this.base += this.buf.length;
      this.buf = chunk;
    }
    return true;
  }

  async peek(): Promise<number | undefined> {
    return (await this.more()) ? this.buf[this.i] : undefined;
  }

  async next(): Promise<number | undefined> {
    return (await this.more()) ? this.buf[this.i++] : undefined;
  }

  /** Counts `n` bytes of work; yields to the event loop once CHUNK bytes have been counted since the last yield. */
  async spent(n: number): Promise<void> {
    this.sinceYield += n;
    if (this.sinceYield >= CHUNK) {
      this.sinceYield = 0;
      await tick();
    }
  }

  /** Skips JSON whitespace; the byte after it (not consumed), undefined at the end. */
  async skipWs(): Promise<number | undefined> {
    for (;;) {
      if (!(await this.more())) return undefined;
      const start = this.i;
      const end = Math.min(this.buf.length, start + CHUNK);
      let i = start;
      while (i < end && isWs(this.buf[i])) i++;
      this.i = i;
      await this.spent(i - start);
      if (i < end) return this.buf[i];
    }
  }

  /** Reads and drops the rest of the body (up to the limit; beyond it, stops). */
  async drain(): Promise<void> {
    try {
      while (!this.ended && this.received <= this.limit) {
        this.i = this.buf.length;
        await this.more();
      }
    } catch {
      // over the limit or the client went away: the answer already decided stands
    }
  }
}
