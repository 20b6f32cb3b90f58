/**
 * POST /v1/video: one bounded clip (raw body or one multipart file part, at most `videoLimit` bytes and
 * `maxVideoSeconds` of it read) → every sampled frame's faces with track ids and smoothed probabilities, and the
 * per-track summary. The same API keys, upload places and queue as the image routes (the /v1 plugin's hooks and
 * runJob); the clip goes to a temp file that is removed when the response ends, whatever happened. Too large:
 * 413 TOO_LARGE; too long: 422 TOO_LONG; not a decodable video (audio only, empty, truncated, corrupt): 422
 * BAD_VIDEO naming the upload. Past `videoTimeoutMs` (or when the client goes away) decoding stops between frames.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ExpnetError } from '../errors.js';
import type { Smoothing } from '../infer/faceTracker.js';
import type { VideoFrameResult, VideoOptions } from '../infer/videoRun.js';
import { runJob, type ServeContext } from './context.js';
import { HttpError } from './httpError.js';
import { QUERY_VIDEO, ref, videoErrors } from './routeSchemas.js';
import { rawVideoParser, readVideo, removeUpload, type VideoUpload } from './videoUpload.js';

interface VideoQuery {
  fps?: number;
  start?: number;
  end?: number;
  smooth?: Smoothing;
  faces?: 'all' | 'largest';
  detectEvery?: number;
  landmarks?: string;
}

const yes = (v: string | undefined): boolean => v !== undefined && ['', '1', 'true', 'yes'].includes(v.toLowerCase());

/** An ExpnetError about the clip, naming the upload instead of its temp file. */
function named(err: unknown, upload: VideoUpload): unknown {
  if (!(err instanceof ExpnetError) || err.code !== 'BAD_VIDEO') return err;
  return new HttpError(422, 'BAD_VIDEO', err.message.split(upload.path).join(upload.name), {}, { cause: err });
}

/** The frames of a result, landmarks left out unless asked for (68 points per face per frame). */
function frameRow(f: VideoFrameResult, landmarks: boolean): object {
  return { index: f.index, time: f.time, frame: f.frame, faces: f.faces.map(({ landmarks: marks, ...face }) => (landmarks ? { ...face, landmarks: marks } : face)) };
}

export function videoRoutes(ctx: ServeContext, model: string, imageTypes: RegExp) {
  const { videoLimit, maxVideoSeconds, videoTimeoutMs } = ctx.opts;
  return async function video(app: FastifyInstance): Promise<void> {
    // this plugin's own body parsers: videos streamed to a temp file (multipart is the /v1 plugin's)
    app.removeContentTypeParser(['application/json', 'application/octet-stream']);
    app.removeContentTypeParser(imageTypes);
    app.addContentTypeParser(/^video\/[a-z0-9.+-]+$/i, rawVideoParser(videoLimit));
    app.addContentTypeParser('application/octet-stream', rawVideoParser(videoLimit));
    // the temp file goes when the answer is sent, or the connection closes, whichever comes first
    app.addHook('onRequest', async (req, reply) => {
      reply.raw.once('close', () => removeUpload(req));
    });
    app.addHook('onResponse', async (req) => removeUpload(req));
    const schema = {
      operationId: 'video',
      tags: ['detect'],
      summary: `Faces, track ids and smoothed expressions of every sampled frame of one clip (at most ${videoLimit} bytes, ${maxVideoSeconds} s)`,
      querystring: QUERY_VIDEO,
      docBody: { content: { 'video/*': { schema: { type: 'string', format: 'binary' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } }, 'multipart/form-data': { schema: { type: 'object', properties: { video: { type: 'string', format: 'binary' } } } } } },
      docResponse: { '200': { description: 'Every sampled frame (faces with track ids) and a summary per track', ...ref('VideoResult') }, ...videoErrors(ctx.opts) },
    };
    app.post('/video', { schema }, async (req: FastifyRequest, reply: FastifyReply) => {
      const q = req.query as VideoQuery;
      try {
        const upload = await readVideo(req, videoLimit);
        ctx.uploads.leave(req);
        const start = q.start ?? 0;
        if (q.end !== undefined && !(q.end > start)) throw new HttpError(400, 'BAD_REQUEST', `query parameter 'end' (${q.end}) must be after 'start' (${start})`);
        const options: VideoOptions = {
          maxPixels: ctx.opts.maxPixels,
          start,
          smoothing: q.smooth ?? 'ema',
          faces: q.faces ?? 'all',
          ...(q.fps !== undefined ? { fps: q.fps } : {}),
          ...(q.detectEvery !== undefined ? { detectEvery: q.detectEvery } : {}),
        };
        const probe = ctx.rec.video(upload.path, options);
        const info = await probe.info().catch((err: unknown) => {
          throw named(err, upload);
        });
        // the part read: [start, end) of the clip; a clip that does not say its duration is cut at the limit
        const span = Math.min(q.end ?? Infinity, info.duration ?? Infinity) - start;
        if (span > maxVideoSeconds) throw new HttpError(422, 'TOO_LONG', `${upload.name}: ${span.toFixed(1)} s of video is over the limit of ${maxVideoSeconds} s (send a shorter clip, or ?start=&end= within it)`);
        const end = Math.min(q.end ?? Infinity, start + maxVideoSeconds);
        const run = ctx.rec.video(upload.path, { ...options, end });
        const t0 = performance.now();
        const frames = await runJob(
          ctx,
          reply,
          async (signal) => {
            const rows: object[] = [];
            try {
              for await (const f of run) {
                rows.push(frameRow(f, yes(q.landmarks)));
                if (signal.aborted) break;
              }
            } catch (err) {
              throw named(err, upload);
            }
            return rows;
          },
          videoTimeoutMs,
        );
        reply.header('server-timing', `infer;dur=${(performance.now() - t0).toFixed(1)}`);
        return { model, labels: ctx.rec.labels, input: upload.name, width: info.width, height: info.height, fps: await run.fps(), duration: info.duration, frames, tracks: run.summary() };
      } finally {
        removeUpload(req);
      }
    });
  };
}
