/**
 * `createApp(recognizer, options)`: the expnet HTTP API as a fastify instance, not listening (test it with
 * `app.inject`, serve it with `app.listen`, add routes before either). With API keys, every route except
 * /healthz and /readyz needs one (the browser app's routes only with `publicWeb`). `app.close()` is the
 * graceful shutdown: new requests get 503, stalled uploads are cut (no byte for 1 s), progressing uploads and
 * requests already read finish, then the remaining connections close and the recognizer is disposed if asked.
 * /openapi.json is generated from the route schemas by @fastify/swagger, which sees the routes added after it
 * loads: routes you add are documented when added in a plugin (`app.register`) or in `app.after()`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifySchema } from 'fastify';
import { apiKeyChecker } from './apiKeys.js';
import { frameworkErrorHandler } from './badUrl.js';
import { clientErrorHandler } from './clientError.js';
import { retryAfter, type ServeContext, type ServeRecognizer } from './context.js';
import { installCors } from './cors.js';
import { detectRoutes } from './detectRoutes.js';
import { HttpError, toHttpError } from './httpError.js';
import { Limiter } from './limiter.js';
import { Metrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { resolveServeOptions, type ServeOptions } from './options.js';
import { requestLogger } from './requestLog.js';
import { other, schemaError, unauthorized } from './routeSchemas.js';
import { Uploads } from './uploads.js';

function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) return String((JSON.parse(readFileSync(p, 'utf8')) as { version?: unknown }).version ?? '0.0.0');
  }
  return '0.0.0';
}

const ALWAYS_OPEN = new Set(['/healthz', '/readyz']);
/** At shutdown, an upload that receives nothing for this long is cut. */
const STALL_MS = 1000;

export function createApp(recognizer: ServeRecognizer, options: ServeOptions = {}): FastifyInstance {
  const opts = resolveServeOptions(options);
  const limiter = new Limiter(opts.concurrency, opts.maxQueue);
  const uploads = new Uploads(opts.maxUploads, opts.maxUploadsPerClient);
  const metrics = new Metrics(() => ({ ...limiter.stats(), receiving: uploads.receiving }));
  const ctx: ServeContext = { rec: recognizer, opts, limiter, uploads, metrics, state: { closing: false } };
  /** Requests between their headers and the end of their response, and who waits for them all to end. */
  let inFlight = 0;
  const drained: (() => void)[] = [];
  const checkKey = apiKeyChecker(opts.apiKeys);
  const sendError = (reply: FastifyReply, e: HttpError): FastifyReply => {
    metrics.error(e.code);
    if (e.status >= 500 && e.code === 'INTERNAL') reply.log.error({ err: e.cause }, 'internal error');
    for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
    return reply.code(e.status).type('application/json; charset=utf-8').send(e.body());
  };
  const app = Fastify({
    logger: requestLogger(opts.logger),
    frameworkErrors: frameworkErrorHandler(opts, checkKey, sendError),
    bodyLimit: opts.bodyLimit,
    requestTimeout: opts.bodyTimeoutMs,
    return503OnClosing: false,
    schemaErrorFormatter: schemaError,
    clientErrorHandler: clientErrorHandler(metrics),
    http: { requestTimeout: opts.bodyTimeoutMs, headersTimeout: opts.headersTimeoutMs, connectionsCheckingInterval: opts.timeoutCheckMs, maxHeaderSize: opts.maxHeaderBytes },
  });

  app.setErrorHandler((err, _req, reply) => sendError(reply, toHttpError(err)));
  // No body is parsed outside /v1 (its plugin has its own bounded parsers): fastify's default JSON parser would
  // JSON.parse a body sent to any path, /healthz and unknown ones included, before a key is checked. Bodies
  // here are read up to bodyLimit and dropped.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, undefined));
  app.setNotFoundHandler((req, reply) => sendError(reply, new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`)));

  app.addHook('onRequest', async (req, reply) => {
    inFlight++;
    reply.raw.once('close', () => {
      if (--inFlight === 0) drained.splice(0).forEach((f) => f());
    });
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
    if (ctx.state.closing && !ALWAYS_OPEN.has(req.url.split('?')[0] ?? '')) {
      throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down; retry on another instance', { ...retryAfter(ctx), connection: 'close' });
    }
  });
  app.addHook('onSend', async (_req, reply) => {
    if (ctx.state.closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.request(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('preClose', async () => {
    ctx.state.closing = true;
    uploads.cutStalled(STALL_MS);
    // Once every request that got its body has been answered, whatever is left (connections with partial
    // headers, idle keep-alives) is closed so that close() ends now, not at the timeouts.
    const cutRest = (): void => void setImmediate(() => app.server.closeAllConnections());
    if (inFlight === 0) cutRest();
    else drained.push(cutRest);
  });
  app.addHook('onClose', async () => {
    await limiter.idle();
    if (opts.disposeOnClose) await recognizer.dispose();
  });
  // Routes go in app.after(), once @fastify/swagger is loaded (it documents the routes added after it). Hooks
  // run in the order of registration: the CORS hook before the key check, so 401s carry the CORS headers.
  registerOpenApi(app, opts, recognizer.labels, packageVersion());
  if (opts.cors !== false) installCors(app, opts.cors);
  app.after(() => {
    app.addHook('onRequest', async (req) => {
      if (opts.apiKeys.length === 0 || req.method === 'OPTIONS' || ALWAYS_OPEN.has(req.url.split('?')[0] ?? '')) return;
      if (opts.publicWeb && req.routeOptions.config.web === true) return;
      checkKey(req.headers);
    });
    const probe = (operationId: string, summary: string, extra: Record<string, object> = {}): { schema: FastifySchema } => ({
      schema: { operationId, tags: ['operations'], summary, security: [], docResponse: { '200': { description: summary, type: 'object' }, ...extra } },
    });
    app.get('/healthz', probe('healthz', 'Liveness (never needs a key)'), async () => ({ status: 'ok' }));
    app.get('/readyz', probe('readyz', 'Readiness (never needs a key)', { '503': { description: 'Shutting down', type: 'object' } }), async (_req, reply) => {
      if (ctx.state.closing) return reply.code(503).send({ status: 'shutting down' });
      return { status: 'ready', queue: limiter.stats() };
    });
    const metricsSchema = { operationId: 'metrics', tags: ['operations'], summary: 'Prometheus metrics', docResponse: { '200': other('text/plain', 'Text exposition format 0.0.4'), ...unauthorized(opts) } };
    app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  });
  app.register(detectRoutes(ctx), { prefix: '/v1' });
  return app;
}
