/**
 * Cross-origin access for browsers through @fastify/cors, off unless configured: allowed origins get
 * Access-Control-Allow-Origin on every answer (`Vary: Origin` unless any origin is allowed), and preflight
 * (OPTIONS) requests are answered 204 in its onRequest hook, before the API-key check. No credentials
 * (cookies) are ever allowed: API keys travel in headers.
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { CorsOptions } from './options.js';

/** The request headers a preflight may ask for. */
export const ALLOWED_HEADERS = ['content-type', 'authorization', 'x-api-key', 'x-request-id'] as const;
const EXPOSED_HEADERS = ['Retry-After', 'X-Request-Id', 'WWW-Authenticate'];
/** How long a browser may cache a preflight answer, unless configured. */
const MAX_AGE_S = 600;

export function installCors(app: FastifyInstance, options: CorsOptions): void {
  void app.register(cors, {
    origin: options.origins === '*' ? '*' : [...options.origins],
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: [...ALLOWED_HEADERS],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: options.maxAgeS ?? MAX_AGE_S,
    credentials: false,
    // Any OPTIONS request is answered 204 (as a preflight when it is one), never 400.
    strictPreflight: false,
  });
}

/** The headers @fastify/cors puts on a simple answer, for answers sent before its hook runs (badUrl.ts). */
export function corsHeaders(options: CorsOptions, origin: string | undefined): Record<string, string> {
  const expose = { 'access-control-expose-headers': EXPOSED_HEADERS.join(', ') };
  if (options.origins === '*') return { 'access-control-allow-origin': '*', ...expose };
  if (origin !== undefined && options.origins.includes(origin)) return { 'access-control-allow-origin': origin, vary: 'Origin', ...expose };
  return { vary: 'Origin' };
}
