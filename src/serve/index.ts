/** The expnet HTTP server: `createApp(recognizer, options)` (no listen), its options, errors and shutdown. */
export { createApp } from './createApp.js';
export type { ServeRecognizer } from './context.js';
export { HttpError, toHttpError, type ErrorBody, type HttpErrorCode } from './httpError.js';
export { Limiter, type LimiterStats } from './limiter.js';
export { LATENCY_BUCKETS_S } from './metrics.js';
export { MIN_API_KEY_LENGTH, resolveServeOptions, SERVE_DEFAULTS, type CorsOptions, type ResolvedServeOptions, type ServeOptions } from './options.js';
export { apiKeyChecker, parseApiKeys } from './apiKeys.js';
export { closeOnSignals, type ShutdownOptions, type ShutdownResult } from './shutdown.js';
