/**
 * The /v1 API: POST /v1/detect (one image: raw body, one multipart file, or JSON `{ "image": "<base64>" }`;
 * ?annotate=1 → PNG, ?crop=1 → the image is one face crop),
 * POST /v1/detect/batch (multipart, several images, a result or an error entry for every file part) and
 * GET /v1/models, and POST /v1/video (videoRoutes.ts, its own plugin with the same hooks). A POST first takes an upload place (uploads.ts: 429 TOO_MANY_UPLOADS per client, 503/429
 * OVERLOADED when all are taken, or when the queue is full already), and a queue place once its body is read.
 */
import { basename } from 'node:path';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { annotatePng } from '../infer/annotate.js';
import { readRgb } from '../infer/readImage.js';
import type { ImageResult } from '../infer/recognizer.js';
import { ExpnetError } from '../errors.js';
import { overloaded, retryAfter, runJob, type ServeContext } from './context.js';
import { HttpError, toHttpError, type ErrorBody } from './httpError.js';
import { readJsonImage } from './jsonImage.js';
import { checkImage, readUploads, type Upload } from './readUploads.js';
import { BODY_BATCH, BODY_IMAGE, binary, QUERY_BATCH, QUERY_DETECT, ref, unauthorized, uploadErrors } from './routeSchemas.js';
import { Uploads } from './uploads.js';
import { videoRoutes } from './videoRoutes.js';

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

/** An ExpnetError about the bytes of an upload, named after the upload (its message names a buffer). */
function nameInput(err: unknown, upload: Upload): unknown {
  if (!(err instanceof ExpnetError) || err.code !== 'BAD_IMAGE') return err;
  return new HttpError(422, 'BAD_IMAGE', `${upload.name}: ${err.message.replace(/^<(?:buffer|raw)[^>]*>: /, '')}`, {}, { cause: err });
}

async function detectOne(ctx: ServeContext, upload: Upload, crop: boolean, annotate: boolean): Promise<{ result: ImageResult; png?: Buffer }> {
  const img = await readRgb(upload.data, ctx.opts.maxPixels, { anyFormat: ctx.opts.anyFormat }).catch((err: unknown) => {
    throw nameInput(err, upload);
  });
  const raw = { data: img.data, width: img.width, height: img.height, channels: 3 as const };
  const r = await (crop ? ctx.rec.classifyCrop(raw) : ctx.rec.detect(raw)).catch((err: unknown) => {
    throw nameInput(err, upload);
  });
  const result: ImageResult = { ...r, input: upload.name };
  ctx.metrics.image(result.faces.length);
  return annotate ? { result, png: await annotatePng(img, result) } : { result };
}

export function detectRoutes(ctx: ServeContext) {
  const { bodyLimit, batchLimit, maxBatch } = ctx.opts;
  const model = modelId(ctx);
  const oneImage = (): HttpError => new HttpError(400, 'ONE_IMAGE_EXPECTED', 'one image per request here; send several to /v1/detect/batch');
  const tooMany = (): HttpError => new HttpError(413, 'TOO_MANY_FILES', `at most ${maxBatch} images per batch`);

  return async function v1(app: FastifyInstance): Promise<void> {
    app.removeAllContentTypeParsers();
    for (const type of [IMAGE_TYPES, 'application/octet-stream']) app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
    // base64 is 4/3 of the bytes; the decoded image is checked against bodyLimit again. The body is scanned as
    // it streams in (jsonImage.ts), never JSON.parse'd or joined whole, so no JSON body blocks the server.
    const jsonLimit = Math.ceil(bodyLimit / 3) * 4 + 4096;
    app.addContentTypeParser('application/json', (req, payload, done) => {
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > jsonLimit) return done(new HttpError(413, 'TOO_LARGE', `the JSON body is over the limit of ${jsonLimit} bytes`));
      readJsonImage(payload, jsonLimit, Number.isSafeInteger(length) ? length : 0).then(
        (image) => done(null, image),
        (err: unknown) => done(err as Error),
      );
    });
    await app.register(multipart, { throwFileSizeLimit: true, limits: { fileSize: bodyLimit } });

    app.addHook('onRequest', async (req) => {
      if (req.method !== 'POST') return;
      // A refused upload over 64 KiB is not read and thrown away (that costs the busy server CPU): the
      // connection closes after the answer, and a client still writing may see a reset instead.
      const close = Number(req.headers['content-length'] ?? Infinity) > DRAIN_LIMIT;
      if (!ctx.limiter.hasRoom()) throw overloaded(ctx, `${ctx.limiter.capacity} requests admitted`, close);
      if (!Uploads.hasBody(req)) return;
      const refused = ctx.uploads.enter(req);
      if (refused === 'client') {
        throw new HttpError(429, 'TOO_MANY_UPLOADS', `this client already has ${ctx.uploads.perClient} uploads in progress; finish those first`, { ...retryAfter(ctx), ...(close ? { connection: 'close' } : {}) });
      }
      if (refused === 'full') throw overloaded(ctx, `${ctx.uploads.max} uploads in progress`, close);
    });
    app.addHook('onResponse', async (req) => ctx.uploads.leave(req));

    const errors = uploadErrors(ctx.opts);
    const modelsSchema = {
      operationId: 'listModels',
      tags: ['models'],
      summary: 'The expression model and its card',
      docResponse: { '200': { description: 'Models', type: 'object' }, ...unauthorized(ctx.opts) },
    };
    const detectSchema = {
      operationId: 'detect',
      tags: ['detect'],
      summary: 'Faces and expressions of one image',
      querystring: QUERY_DETECT,
      docBody: BODY_IMAGE,
      docResponse: { '200': { description: 'Faces found (an empty list when none)', content: { 'application/json': { schema: ref('DetectResult') }, 'image/png': { schema: binary } } }, ...errors },
    };
    const batchSchema = {
      operationId: 'detectBatch',
      tags: ['detect'],
      summary: `Several images in one multipart request (at most ${maxBatch}, ${batchLimit} bytes in all)`,
      querystring: QUERY_BATCH,
      docBody: BODY_BATCH,
      docResponse: { '200': { description: 'One result or error per image, in order', ...ref('BatchResult') }, ...errors },
    };

    app.get('/models', { schema: modelsSchema }, async () => ({
      models: [{ id: model, default: true, labels: ctx.rec.labels, input: ctx.rec.bundle.card.input, card: ctx.rec.bundle.card }],
      pipeline: { detector: 'ssd_mobilenetv1', landmarks: 'face_landmark_68', runtime: 'onnxruntime-node' },
    }));

    app.post('/detect', { schema: detectSchema }, async (req, reply) => {
      const annotate = flag(req, 'annotate');
      const crop = flag(req, 'crop');
      const [upload, ...extra] = await readUploads(req, { maxFiles: 1, fileLimit: bodyLimit, totalLimit: bodyLimit, tooManyFiles: oneImage });
      ctx.uploads.leave(req);
      if (!upload || extra.length > 0) throw oneImage();
      const problem = await checkImage(upload, ctx.opts);
      if (problem) throw problem;
      const t0 = performance.now();
      const { result, png } = await runJob(ctx, reply, () => detectOne(ctx, upload, crop, annotate));
      reply.header('server-timing', `infer;dur=${(performance.now() - t0).toFixed(1)}`);
      if (png) return reply.type('image/png').send(png);
      return { model, labels: ctx.rec.labels, ...result };
    });

    app.post('/detect/batch', { schema: batchSchema }, async (req, reply) => {
      if (!req.isMultipart()) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'a batch is a multipart/form-data body with one file part per image');
      if (flag(req, 'annotate')) throw new HttpError(400, 'BAD_REQUEST', 'annotate is for one image: use /v1/detect?annotate=1');
      const crop = flag(req, 'crop');
      const uploads = await readUploads(req, { maxFiles: maxBatch, fileLimit: bodyLimit, totalLimit: batchLimit, tooManyFiles: tooMany });
      ctx.uploads.leave(req);
      const checked = await Promise.all(uploads.map((u) => checkImage(u, ctx.opts)));
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

    await app.register(videoRoutes(ctx, model, IMAGE_TYPES));
  };
}
