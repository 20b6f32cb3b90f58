/**
 * Fastify's framework errors (a URL that does not decode, `/%ff`; a path parameter over its length): answered
 * like every other failure, in the JSON error shape with X-Request-Id, nosniff and CORS headers, and after the
 * API-key check (a client without a key learns nothing about the URL but 401). Fastify calls this before any
 * hook runs, so those headers are set here.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { corsHeaders } from './cors.js';
import { HttpError, toHttpError } from './httpError.js';
import type { ResolvedServeOptions } from './options.js';

export function frameworkErrorHandler(
  opts: ResolvedServeOptions,
  checkKey: (headers: IncomingHttpHeaders) => void,
  sendError: (reply: FastifyReply, e: HttpError) => FastifyReply,
): (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => void {
  return (error, req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
    if (opts.cors !== false) for (const [k, v] of Object.entries(corsHeaders(opts.cors, req.headers.origin))) reply.header(k, v);
    let e: HttpError;
    try {
      if (opts.apiKeys.length > 0 && req.method !== 'OPTIONS') checkKey(req.headers);
      e = error.code === 'FST_ERR_BAD_URL' ? new HttpError(400, 'BAD_REQUEST', 'the URL does not decode (a bad %-escape)') : toHttpError(error);
    } catch (err) {
      e = toHttpError(err);
    }
    void sendError(reply, e);
  };
}
