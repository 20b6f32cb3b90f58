/**
 * A video upload streamed to a temp file (ffmpeg reads files, and a clip is never held in memory): the raw body
 * (`video/*` or `application/octet-stream`) or the one file part of a multipart body, at most `limit` bytes
 * (413 TOO_LARGE beyond, the partial file removed). Each request's file lives in a temp folder of its own, removed
 * when its response ends or its connection closes, whatever happened in between (`removeUpload`).
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './httpError.js';
import { MAX_FIELDS } from './readUploads.js';

export interface VideoUpload {
  /** The multipart file name, or 'body' for a raw body. */
  name: string;
  path: string;
  bytes: number;
}

/** Each request's temp folder, until removeUpload. */
const folders = new WeakMap<FastifyRequest, string>();

const tooLarge = (limit: number): HttpError => new HttpError(413, 'TOO_LARGE', `the video is over the limit of ${limit} bytes`, { connection: 'close' });
const noVideo = (): HttpError => new HttpError(400, 'NO_VIDEO', 'no video in the request: send the clip as the body (Content-Type: video/mp4, video/webm, … or application/octet-stream) or as one multipart/form-data file part');

/** A new file in the request's own temp folder. */
function tempFile(req: FastifyRequest): string {
  let dir = folders.get(req);
  if (dir === undefined) {
    dir = mkdtempSync(join(tmpdir(), 'expnet-video-upload-'));
    folders.set(req, dir);
  }
  return join(dir, 'upload');
}

/** Removes the request's temp folder, if any (idempotent). */
export function removeUpload(req: FastifyRequest): void {
  const dir = folders.get(req);
  if (dir === undefined) return;
  folders.delete(req);
  rmSync(dir, { recursive: true, force: true });
}

/** Writes `stream` to `file`; more than `limit` bytes fail with 413 (the stream is not read further). */
async function save(stream: Readable, file: string, limit: number): Promise<number> {
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > limit) done(tooLarge(limit));
      else done(null, chunk);
    },
  });
  await pipeline(stream, count, createWriteStream(file));
  return bytes;
}

/** The content-type parser of a raw video body: streamed to the request's temp file. */
export function rawVideoParser(limit: number) {
  return (req: FastifyRequest, payload: Readable, done: (err: Error | null, body?: VideoUpload) => void): void => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > limit) {
      done(tooLarge(limit));
      return;
    }
    const path = tempFile(req);
    save(payload, path, limit).then(
      (bytes) => done(null, { name: 'body', path, bytes }),
      (err: unknown) => {
        removeUpload(req);
        done(err instanceof HttpError ? err : new HttpError(400, 'BAD_REQUEST', `the video body did not arrive whole: ${(err as Error).message}`, {}, { cause: err }));
      },
    );
  };
}

const isUpload = (b: unknown): b is VideoUpload => typeof b === 'object' && b !== null && typeof (b as VideoUpload).path === 'string';

/** The request's video: the raw body already saved, or the one file part of a multipart body saved now. */
export async function readVideo(req: FastifyRequest, limit: number): Promise<VideoUpload> {
  if (!req.isMultipart()) {
    if (!isUpload(req.body) || req.body.bytes === 0) throw noVideo();
    return req.body;
  }
  let upload: VideoUpload | null = null;
  try {
    for await (const part of req.parts({ limits: { fileSize: limit, files: 1, fields: MAX_FIELDS, fieldSize: 4096, parts: 1 + MAX_FIELDS, headerPairs: 32 } })) {
      if (part.type !== 'file') continue;
      const path = tempFile(req);
      const bytes = await save(part.file, path, limit);
      if (part.file.truncated) throw tooLarge(limit);
      upload = { name: (part.filename || part.fieldname || 'video').slice(0, 200), path, bytes };
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(limit);
    if (code === 'FST_FILES_LIMIT') throw new HttpError(400, 'BAD_REQUEST', 'one video per request (one file part)');
    throw new HttpError(400, 'BAD_MULTIPART', `malformed multipart/form-data body: ${(err as Error).message}`, {}, { cause: err });
  }
  if (upload === null || upload.bytes === 0) throw noVideo();
  return upload;
}
