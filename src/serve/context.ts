/** What the routes share: the recognizer, resolved options, the limiter, metrics; and `runJob` (queue + deadline). */
import type { FastifyReply } from 'fastify';
import type { BundledCard } from '../infer/modelBundle.js';
import type { ImageInput } from '../infer/readImage.js';
import type { ImageResult } from '../infer/recognizer.js';
import type { VideoOptions, VideoRun } from '../infer/videoRun.js';
import { HttpError } from './httpError.js';
import type { Limiter } from './limiter.js';
import type { Metrics } from './metrics.js';
import type { Uploads } from './uploads.js';
import type { ResolvedServeOptions } from './options.js';

/** The slice of Recognizer the server uses (a Recognizer fits; tests may pass a stand-in). */
export interface ServeRecognizer {
  readonly labels: readonly string[];
  readonly bundle: { readonly card: BundledCard };
  detect(input: ImageInput): Promise<ImageResult>;
  classifyCrop(input: ImageInput): Promise<ImageResult>;
  video(file: string, options?: VideoOptions): VideoRun;
  dispose(): Promise<void>;
}

export interface ServeContext {
  rec: ServeRecognizer;
  opts: ResolvedServeOptions;
  limiter: Limiter;
  /** Requests still receiving their body (bounded apart from the queue). */
  uploads: Uploads;
  metrics: Metrics;
  /** Set when close() begins: new requests get 503 SHUTTING_DOWN, /readyz turns 503. */
  state: { closing: boolean };
}

export const retryAfter = (ctx: ServeContext): Record<string, string> => ({ 'retry-after': String(ctx.limiter.retryAfterS()) });

/** 503 (or 429) OVERLOADED with Retry-After; `close` also asks the client to drop the connection. */
export function overloaded(ctx: ServeContext, what: string, close = false): HttpError {
  return new HttpError(ctx.opts.overloadStatus, 'OVERLOADED', `the server is at capacity (${what}); retry later`, { ...retryAfter(ctx), ...(close ? { connection: 'close' } : {}) });
}

/**
 * Admits the request (its body is read by now: 503/429 OVERLOADED when the queue is full), then runs fn in a
 * recognizer slot with the per-request deadline. Past the deadline (or when the client goes away) a waiting
 * job leaves the queue unrun and the request fails with 503 TIMEOUT; a running job keeps its slot until it
 * ends, and its result is dropped (fn gets the signal: a job of many steps, a video, stops between them).
 * `timeoutMs` defaults to the server's timeoutMs.
 */
export async function runJob<T>(ctx: ServeContext, reply: FastifyReply, fn: (signal: AbortSignal) => Promise<T>, timeoutMs = ctx.opts.timeoutMs): Promise<T> {
  if (!ctx.limiter.tryAdmit()) throw overloaded(ctx, `${ctx.limiter.capacity} requests admitted`);
  try {
    return await runAdmitted(ctx, reply, fn, timeoutMs);
  } finally {
    ctx.limiter.leave();
  }
}

async function runAdmitted<T>(ctx: ServeContext, reply: FastifyReply, fn: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => {
    ac.abort(new HttpError(503, 'TIMEOUT', `no answer within ${timeoutMs} ms (the server is busy; retry later)`, retryAfter(ctx)));
  }, timeoutMs);
  const onClose = (): void => {
    if (!reply.raw.writableFinished) ac.abort(new HttpError(499, 'CLIENT_CLOSED', 'the client closed the connection'));
  };
  reply.raw.once('close', onClose);
  const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true }));
  const job = ctx.limiter.run(() => fn(ac.signal), ac.signal);
  aborted.catch(() => undefined);
  job.catch(() => undefined);
  try {
    return await Promise.race([job, aborted]);
  } finally {
    clearTimeout(timer);
    reply.raw.off('close', onClose);
  }
}
