/**
 * Server options: the interface, the defaults stated once, and a resolver that rejects unknown keys and
 * out-of-range values (defaults ← caller; the CLI layers env and flags on top).
 */
import { availableParallelism } from 'node:os';
import { ExpnetError } from '../errors.js';

export interface CorsOptions {
  /** Origins allowed to call the API from a browser: '*' or exact origins ('https://app.example.org'). */
  origins: '*' | readonly string[];
  /** How long a browser may cache a preflight answer (default 600 s). */
  maxAgeS?: number;
}

export interface ServeOptions {
  /** Recognizer calls running at once (each uses one ORT intra-op thread; default min(4, cores)). */
  concurrency?: number;
  /** Admitted requests allowed to wait for a slot; beyond concurrency + maxQueue: 503 + Retry-After (default 32). */
  maxQueue?: number;
  /** Status for a full queue: 503 (default) or 429. */
  overloadStatus?: 503 | 429;
  /** Queue wait + processing of one request; past it: 503 TIMEOUT (default 30 s). */
  timeoutMs?: number;
  /** Receiving the whole request, body included (slow or stalled clients): 408 (default 10 s). */
  bodyTimeoutMs?: number;
  /** Receiving the request headers: 408 (default 5 s). */
  headersTimeoutMs?: number;
  /**
   * Requests receiving their body at once (they hold no queue place until it has arrived); beyond: 503/429
   * OVERLOADED (default 128). Memory for bodies in flight stays under maxUploads × bodyLimit.
   */
  maxUploads?: number;
  /** Of those, per client address (behind a proxy, every client has the proxy's); beyond: 429 TOO_MANY_UPLOADS (default 32). */
  maxUploadsPerClient?: number;
  /** How often Node checks the two timeouts above (default 1 s). */
  timeoutCheckMs?: number;
  /** Bytes of one image, raw body or multipart file: 413 beyond (default 8 MiB). */
  bodyLimit?: number;
  /** Bytes of all files of one batch request: 413 beyond (default 32 MiB). */
  batchLimit?: number;
  /** Bytes of one video (POST /v1/video, raw body or multipart file, streamed to a temp file): 413 beyond (default 32 MiB). */
  videoLimit?: number;
  /** Seconds of one video read (its duration, or end − start): 422 TOO_LONG beyond (default 30). */
  maxVideoSeconds?: number;
  /** Queue wait + decoding and processing of one video; past it: 503 TIMEOUT (default 120 s). */
  videoTimeoutMs?: number;
  /** Images in one batch request: 413 beyond (default 16). */
  maxBatch?: number;
  /** Pixels of one image (width × height, checked from the header before decoding): 413 beyond (default 4096²). */
  maxPixels?: number;
  /** Bytes of all request headers (Node's maxHeaderSize): 431 beyond (default 16 KiB). */
  maxHeaderBytes?: number;
  /** API keys; empty: no auth (default). Each at least 16 characters. */
  apiKeys?: readonly string[];
  /** Cross-origin access from browsers: off by default. */
  cors?: false | CorsOptions;
  /** With API keys: the browser app's routes (webRoutes.ts) answer without a key (default false). */
  publicWeb?: boolean;
  /** Decode any image format sharp opens, not only JPEG/PNG/WebP/GIF/TIFF/AVIF (default false: SVG, PDF, … get 415). */
  anyFormat?: boolean;
  /** Dispose the recognizer when the app closes, after in-flight work ends (default false: the caller owns it). */
  disposeOnClose?: boolean;
  /** Fastify's JSON request log on stdout (default false). */
  logger?: boolean;
}

export type ResolvedServeOptions = Required<ServeOptions>;

export const SERVE_DEFAULTS: Readonly<ResolvedServeOptions> = Object.freeze({
  concurrency: Math.max(1, Math.min(4, availableParallelism())),
  maxQueue: 32,
  overloadStatus: 503,
  timeoutMs: 30_000,
  bodyTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  maxUploads: 128,
  maxUploadsPerClient: 32,
  timeoutCheckMs: 1_000,
  bodyLimit: 8 * 2 ** 20,
  batchLimit: 32 * 2 ** 20,
  maxBatch: 16,
  videoLimit: 32 * 2 ** 20,
  maxVideoSeconds: 30,
  videoTimeoutMs: 120_000,
  maxPixels: 4096 * 4096,
  maxHeaderBytes: 16 * 1024,
  apiKeys: Object.freeze([]) as readonly string[],
  cors: false,
  publicWeb: false,
  anyFormat: false,
  disposeOnClose: false,
  logger: false,
});

const KNOWN = new Set(Object.keys(SERVE_DEFAULTS));
const POSITIVE = ['concurrency', 'timeoutMs', 'bodyTimeoutMs', 'headersTimeoutMs', 'timeoutCheckMs', 'maxUploads', 'maxUploadsPerClient', 'bodyLimit', 'batchLimit', 'maxBatch', 'maxPixels', 'maxHeaderBytes', 'videoLimit', 'maxVideoSeconds', 'videoTimeoutMs'] as const;
export const MIN_API_KEY_LENGTH = 16;

function bad(message: string): never {
  throw new ExpnetError('BAD_CONFIG', `serve options: ${message}`);
}

/** Options over SERVE_DEFAULTS; unknown keys and out-of-range values are BAD_CONFIG errors naming the key. */
export function resolveServeOptions(options: ServeOptions = {}): ResolvedServeOptions {
  for (const k of Object.keys(options)) if (!KNOWN.has(k)) bad(`unknown option '${k}' (expected one of ${[...KNOWN].join(', ')})`);
  const r: ResolvedServeOptions = { ...SERVE_DEFAULTS, ...options };
  for (const k of POSITIVE) if (!Number.isSafeInteger(r[k]) || r[k] < 1) bad(`${k} must be an integer ≥ 1, got ${String(r[k])}`);
  if (!Number.isSafeInteger(r.maxQueue) || r.maxQueue < 0) bad(`maxQueue must be an integer ≥ 0, got ${String(r.maxQueue)}`);
  if (r.overloadStatus !== 503 && r.overloadStatus !== 429) bad(`overloadStatus must be 503 or 429, got ${String(r.overloadStatus)}`);
  if (r.headersTimeoutMs > r.bodyTimeoutMs) bad(`headersTimeoutMs (${r.headersTimeoutMs}) must be ≤ bodyTimeoutMs (${r.bodyTimeoutMs})`);
  if (r.batchLimit < r.bodyLimit) bad(`batchLimit (${r.batchLimit}) must be ≥ bodyLimit (${r.bodyLimit})`);
  r.apiKeys.forEach((key, i) => {
    if (typeof key !== 'string' || key.length < MIN_API_KEY_LENGTH) bad(`apiKeys[${i}] must be a string of at least ${MIN_API_KEY_LENGTH} characters, got ${typeof key === 'string' ? `${key.length} characters` : typeof key}`);
  });
  if (r.cors !== false) {
    const { origins, maxAgeS = 600 } = r.cors;
    if (origins !== '*' && (!Array.isArray(origins) || origins.length === 0 || origins.some((o) => typeof o !== 'string' || !/^https?:\/\/[^/]+$/.test(o)))) {
      bad(`cors.origins must be '*' or a non-empty list of origins like 'https://app.example.org' (scheme://host[:port], no path), got ${JSON.stringify(origins)}`);
    }
    if (!Number.isSafeInteger(maxAgeS) || maxAgeS < 0) bad(`cors.maxAgeS must be an integer ≥ 0, got ${String(maxAgeS)}`);
  }
  return r;
}
