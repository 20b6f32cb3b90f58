/**
 * The images of a request: the raw body (image/* or application/octet-stream, already parsed into a Buffer
 * under bodyLimit) or the file parts of a multipart/form-data body, each under bodyLimit, at most maxFiles,
 * all together under totalLimit. Malformed multipart bodies (truncated, bad boundaries, bad part headers)
 * are 400 BAD_MULTIPART; non-file fields are ignored.
 */
import type { FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { HttpError } from './httpError.js';

export interface Upload {
  /** The multipart file name (or field name), 'body' for a raw body. */
  name: string;
  data: Buffer;
}

export interface UploadLimits {
  maxFiles: number;
  fileLimit: number;
  totalLimit: number;
}

const noImage = (): HttpError =>
  new HttpError(400, 'NO_IMAGE', 'no image in the request: send the image as the body (Content-Type: image/jpeg, image/png, …) or as a multipart/form-data file part');

function multipartError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof e.code === 'string' && e.code.startsWith('FST_')) {
    const status = typeof e.statusCode === 'number' ? e.statusCode : 400;
    if (status === 413) return new HttpError(413, e.code === 'FST_REQ_FILE_TOO_LARGE' ? 'TOO_LARGE' : 'TOO_MANY_FILES', String(e.message), {}, { cause: err });
    if (status === 406) return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', String(e.message), {}, { cause: err });
  }
  return new HttpError(400, 'BAD_MULTIPART', `malformed multipart/form-data body: ${typeof e.message === 'string' ? e.message : String(err)}`, {}, { cause: err });
}

async function multipartUploads(req: FastifyRequest, limits: UploadLimits): Promise<Upload[]> {
  const out: Upload[] = [];
  let total = 0;
  try {
    const parts = req.parts({ limits: { fileSize: limits.fileLimit, files: limits.maxFiles, fields: 16, fieldSize: 4096, parts: limits.maxFiles + 16, headerPairs: 32 } });
    for await (const part of parts) {
      if (part.type !== 'file') continue;
      const data = await part.toBuffer();
      total += data.byteLength;
      if (total > limits.totalLimit) throw new HttpError(413, 'TOO_LARGE', `the files of this request add up to more than ${limits.totalLimit} bytes`);
      if (data.byteLength > 0) out.push({ name: (part.filename || part.fieldname).slice(0, 200), data });
    }
  } catch (err) {
    throw multipartError(err);
  }
  return out;
}

/** At least one non-empty image, or 400 NO_IMAGE. */
export async function readUploads(req: FastifyRequest, limits: UploadLimits): Promise<Upload[]> {
  const uploads = req.isMultipart() ? await multipartUploads(req, limits) : Buffer.isBuffer(req.body) && req.body.byteLength > 0 ? [{ name: 'body', data: req.body }] : [];
  if (uploads.length === 0) throw noImage();
  return uploads;
}

/** The image header says width × height ≤ maxPixels, or 413 TOO_MANY_PIXELS; unreadable headers are 422. */
export async function checkPixels(upload: Upload, maxPixels: number): Promise<void> {
  let width = 0;
  let height = 0;
  try {
    ({ width = 0, height = 0 } = await sharp(upload.data, { limitInputPixels: false }).metadata());
  } catch (err) {
    throw new HttpError(422, 'BAD_IMAGE', `${upload.name}: not a readable image (${(err as Error).message})`, {}, { cause: err });
  }
  if (width * height > maxPixels) {
    throw new HttpError(413, 'TOO_MANY_PIXELS', `${upload.name}: ${width}×${height} = ${width * height} pixels is over the limit of ${maxPixels}`);
  }
}
