/**
 * Cross-origin access for browsers, off unless configured: allowed origins get Access-Control-Allow-Origin on
 * every answer, and preflight (OPTIONS) requests are answered 204 before auth. No credentials (cookies) are
 * ever allowed: API keys travel in headers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CorsOptions } from './options.js';

const ALLOWED_HEADERS = ['content-type', 'authorization', 'x-api-key', 'x-request-id'];
const EXPOSED_HEADERS = 'Retry-After, X-Request-Id, WWW-Authenticate';

export function installCors(app: FastifyInstance, cors: CorsOptions): void {
  const any = cors.origins === '*';
  const allowed = new Set(any ? [] : cors.origins);
  const allowOrigin = (origin: string | undefined): string | undefined => {
    if (origin === undefined) return undefined;
    if (any) return '*';
    return allowed.has(origin) ? origin : undefined;
  };
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = allowOrigin(req.headers.origin);
    if (!any) reply.header('vary', 'Origin');
    if (origin === undefined) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', EXPOSED_HEADERS);
  });
  app.route({
    method: 'OPTIONS',
    url: '*',
    handler: async (req, reply) => {
      if (allowOrigin(req.headers.origin) !== undefined && typeof req.headers['access-control-request-method'] === 'string') {
        const asked = String(req.headers['access-control-request-headers'] ?? '')
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter((h) => ALLOWED_HEADERS.includes(h));
        reply.header('access-control-allow-methods', 'GET, POST, OPTIONS');
        reply.header('access-control-allow-headers', (asked.length > 0 ? asked : ALLOWED_HEADERS).join(', '));
        reply.header('access-control-max-age', String(cors.maxAgeS ?? 600));
      }
      return reply.code(204).send();
    },
  });
}
