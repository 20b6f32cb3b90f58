/**
 * The /v1 API: POST /v1/detect (one image; ?annotate=1 → PNG, ?crop=1 → the image is one face crop),
 * POST /v1/detect/batch (multipart, several images, an error per image instead of a failed batch) and
 * GET /v1/models. Every request here passes auth, then admission (503/429 + Retry-After when full) before
 * its body is read.
 */
import { basename } from 'node:path';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { annotatePng } from '../infer/annotate.js';
import { readRgb } from '../infer/readImage.js';
import type { ImageResult } from '../infer/recognizer.js';
import { apiKeyChecker } from './apiKeys.js';
import { retryAfter, runJob, type ServeContext } from './context.js';
import { HttpError, toHttpError, type ErrorBody } from './httpError.js';
import { checkPixels, readUploads, type Upload } from './readUploads.js';

const IMAGE_TYPES = /^image\/[a-z0-9.+-]+$/i;
/** Largest refused body still read (keeping the connection alive) when answering 503/429. */
const DRAIN_LIMIT = 64 * 1024;

function flag(req: FastifyRequest, name: string): boolean {
  const v = (req.query as Record<string, unknown> | undefined)?.[name];
  if (v === undefined) return false;
  if (typeof v === 'string' && ['', '1', 'true', 'yes'].includes(v.toLowerCase())) return true;
  if (typeof v === 'string' && ['0', 'false', 'no'].includes(v.toLowerCase())) return false;
  throw new HttpError(400, 'BAD_REQUEST', `query parameter '${name}' must be 1/true/yes or 0/false/no, got ${JSON.stringify(v)}`);
}

export function modelId(ctx: ServeContext): string {
  const b = ctx.rec.bundle as { card: { name: string }; expression?: unknown };
  return typeof b.expression === 'string' ? basename(b.expression, '.onnx') : b.card.name;
}

async function detectOne(ctx: ServeContext, upload: Upload, crop: boolean, annotate: boolean): Promise<{ result: ImageResult; png?: Buffer }> {
  const img = await readRgb(upload.data, ctx.opts.maxPixels);
  const raw = { data: img.data, width: img.width, height: img.height, channels: 3 as const };
  const r = crop ? await ctx.rec.classifyCrop(raw) : await ctx.rec.detect(raw);
  const result: ImageResult = { ...r, input: upload.name };
  ctx.metrics.image(result.faces.length);
  return annotate ? { result, png: await annotatePng(img, result) } : { result };
}

export function detectRoutes(ctx: ServeContext) {
  const checkKey = apiKeyChecker(ctx.opts.apiKeys);
  const { bodyLimit, batchLimit, maxBatch, maxPixels } = ctx.opts;
  const model = modelId(ctx);
  /** Each admitted request's way out, called once from whichever comes first: response sent, abort, close. */
  const admitted = new WeakMap<FastifyRequest, () => void>();

  return async function v1(app: FastifyInstance): Promise<void> {
    app.removeAllContentTypeParsers();
    for (const type of [IMAGE_TYPES, 'application/octet-stream']) app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
    await app.register(multipart, { throwFileSizeLimit: true, limits: { fileSize: bodyLimit } });

    app.addHook('onRequest', async (req, reply) => {
      checkKey(req.headers);
      if (req.method !== 'POST') return;
      if (!ctx.limiter.tryAdmit()) {
        const s = ctx.opts.overloadStatus;
        // A refused upload over 64 KiB is not read and thrown away (that costs the busy server CPU): the
        // connection closes after the 503, and a client still writing may see a reset instead.
        const small = Number(req.headers['content-length'] ?? Infinity) <= DRAIN_LIMIT;
        throw new HttpError(s, 'OVERLOADED', `the server is at capacity (${ctx.limiter.capacity} requests admitted); retry later`, { ...retryAfter(ctx), ...(small ? {} : { connection: 'close' }) });
      }
      let left = false;
      const leave = (): void => {
        if (!left) ctx.limiter.leave();
        left = true;
      };
      admitted.set(req, leave);
      reply.raw.once('close', leave);
    });
    app.addHook('onResponse', async (req) => admitted.get(req)?.());
    app.addHook('onRequestAbort', async (req) => admitted.get(req)?.());

    app.get('/models', async () => ({
      models: [{ id: model, default: true, labels: ctx.rec.labels, input: ctx.rec.bundle.card.input, card: ctx.rec.bundle.card }],
      pipeline: { detector: 'ssd_mobilenetv1', landmarks: 'face_landmark_68', runtime: 'onnxruntime-node' },
    }));

    app.post('/detect', async (req, reply) => {
      const annotate = flag(req, 'annotate');
      const crop = flag(req, 'crop');
      const [upload, ...extra] = await readUploads(req, { maxFiles: 1, fileLimit: bodyLimit, totalLimit: bodyLimit });
      if (!upload || extra.length > 0) throw new HttpError(400, 'BAD_REQUEST', 'one image per request here; send several to /v1/detect/batch');
      await checkPixels(upload, maxPixels);
      const t0 = performance.now();
      const { result, png } = await runJob(ctx, reply, () => detectOne(ctx, upload, crop, annotate));
      reply.header('server-timing', `infer;dur=${(performance.now() - t0).toFixed(1)}`);
      if (png) return reply.type('image/png').send(png);
      return { model, labels: ctx.rec.labels, ...result };
    });

    app.post('/detect/batch', async (req, reply) => {
      if (!req.isMultipart()) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'a batch is a multipart/form-data body with one file part per image');
      if (flag(req, 'annotate')) throw new HttpError(400, 'BAD_REQUEST', 'annotate is for one image: use /v1/detect?annotate=1');
      const crop = flag(req, 'crop');
      const uploads = await readUploads(req, { maxFiles: maxBatch, fileLimit: bodyLimit, totalLimit: batchLimit });
      const checked = await Promise.all(uploads.map((u) => checkPixels(u, maxPixels).then(() => null, (err: unknown) => toHttpError(err))));
      const results = await runJob(ctx, reply, async () => {
        const out: (ImageResult | { input: string; error: ErrorBody['error'] })[] = [];
        for (const [i, u] of uploads.entries()) {
          let err = checked[i] ?? null;
          if (!err) {
            try {
              out.push((await detectOne(ctx, u, crop, false)).result);
              continue;
            } catch (e) {
              err = toHttpError(e);
              if (err.status >= 500) throw e;
            }
          }
          ctx.metrics.error(err.code);
          out.push({ input: u.name, error: err.body().error });
        }
        return out;
      });
      return { model, labels: ctx.rec.labels, results };
    });
  };
}
