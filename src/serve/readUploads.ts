/**
 * The images of a request: the raw body (image/* or application/octet-stream, already parsed into a Buffer
 * under bodyLimit), a JSON body `{ "image": "<base64>" }`, or the file parts of a multipart/form-data body, each under bodyLimit, at most maxFiles,
 * all together under totalLimit. Every file part is kept, empty ones too (each gets its own error entry).
 * Malformed multipart bodies (truncated, bad boundaries, bad part headers) are 400 BAD_MULTIPART; text fields
 * are ignored, up to a small count.
 */
import type { FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { formatProblem } from '../data/imageFormats.js';
import { HttpError } from './httpError.js';
import { isJsonImage } from './jsonImage.js';

export { parseJsonImage, type JsonImage } from './jsonImage.js';

export interface Upload {
  /** The multipart file name (or field name), 'body' for a raw body. */
  name: string;
  data: Buffer;
}

export interface UploadLimits {
  maxFiles: number;
  fileLimit: number;
  totalLimit: number;
  /** The answer when more than maxFiles file parts arrive. */
  tooManyFiles: () => HttpError;
}

/** Text fields (and their bytes) a multipart body may carry besides its files. */
export const MAX_FIELDS = 16;
const FIELD_BYTES = 4096;

const noImage = (): HttpError =>
  new HttpError(400, 'NO_IMAGE', 'no image in the request: send the image as the body (Content-Type: image/jpeg, image/png, …) or as a multipart/form-data file part');

function multipartError(err: unknown, limits: UploadLimits): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (e.code) {
    case 'FST_FILES_LIMIT': return limits.tooManyFiles();
    case 'FST_FIELDS_LIMIT': return new HttpError(413, 'TOO_MANY_FIELDS', `more than ${MAX_FIELDS} text fields`, {}, { cause: err });
    case 'FST_PARTS_LIMIT': return new HttpError(413, 'TOO_MANY_PARTS', `more than ${limits.maxFiles + MAX_FIELDS} parts`, {}, { cause: err });
    case 'FST_REQ_FILE_TOO_LARGE': return new HttpError(413, 'TOO_LARGE', `a file is over the limit of ${limits.fileLimit} bytes`, {}, { cause: err });
    default:
  }
  if (typeof e.code === 'string' && e.code.startsWith('FST_') && e.statusCode === 406) return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', String(e.message), {}, { cause: err });
  return new HttpError(400, 'BAD_MULTIPART', `malformed multipart/form-data body: ${typeof e.message === 'string' ? e.message : String(err)}`, {}, { cause: err });
}

async function multipartUploads(req: FastifyRequest, limits: UploadLimits): Promise<Upload[]> {
  const out: Upload[] = [];
  let total = 0;
  try {
    const parts = req.parts({ limits: { fileSize: limits.fileLimit, files: limits.maxFiles, fields: MAX_FIELDS, fieldSize: FIELD_BYTES, parts: limits.maxFiles + MAX_FIELDS, headerPairs: 32 } });
    for await (const part of parts) {
      if (part.type !== 'file') continue;
      const data = await part.toBuffer();
      total += data.byteLength;
      if (total > limits.totalLimit) throw new HttpError(413, 'TOO_LARGE', `the files of this request add up to more than ${limits.totalLimit} bytes`);
      out.push({ name: (part.filename || part.fieldname || `part ${out.length + 1}`).slice(0, 200), data });
    }
  } catch (err) {
    throw multipartError(err, limits);
  }
  return out;
}

/** At least one file part (empty ones included), a non-empty raw body or JSON image, or 400 NO_IMAGE. */
export async function readUploads(req: FastifyRequest, limits: UploadLimits): Promise<Upload[]> {
  const b = req.body;
  const uploads = req.isMultipart()
    ? await multipartUploads(req, limits)
    : Buffer.isBuffer(b) && b.byteLength > 0
      ? [{ name: 'body', data: b }]
      : isJsonImage(b)
        ? [{ name: b.name, data: b.image }]
        : [];
  if (uploads.length === 0) throw noImage();
  if (uploads.some((u) => u.data.byteLength > limits.fileLimit)) throw new HttpError(413, 'TOO_LARGE', `the image is over the limit of ${limits.fileLimit} bytes`);
  return uploads;
}

/**
 * What is wrong with an upload before it is decoded, or null: empty (400 EMPTY_IMAGE), unreadable header (422
 * BAD_IMAGE), an undocumented format such as SVG (415 UNSUPPORTED_FORMAT, unless anyFormat), width × height over
 * maxPixels (413 TOO_MANY_PIXELS). Every message names the upload.
 */
export async function checkImage(upload: Upload, opts: { maxPixels: number; anyFormat: boolean }): Promise<HttpError | null> {
  if (upload.data.byteLength === 0) return new HttpError(400, 'EMPTY_IMAGE', `${upload.name}: the file is empty (0 bytes)`);
  let meta;
  try {
    meta = await sharp(upload.data, { limitInputPixels: false }).metadata();
  } catch (err) {
    return new HttpError(422, 'BAD_IMAGE', `${upload.name}: not a readable image (${(err as Error).message})`, {}, { cause: err });
  }
  const refused = formatProblem(meta, upload.name, { anyFormat: opts.anyFormat });
  if (refused !== null) return new HttpError(415, 'UNSUPPORTED_FORMAT', refused);
  const { width = 0, height = 0 } = meta;
  if (width * height > opts.maxPixels) {
    return new HttpError(413, 'TOO_MANY_PIXELS', `${upload.name}: ${width}×${height} = ${width * height} pixels is over the limit of ${opts.maxPixels}`);
  }
  return null;
}
