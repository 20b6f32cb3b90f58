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

/** A JSON body `{ "image": "<base64>", "name"?: "a.png" }` (a `data:image/…;base64,` prefix is allowed). */
export interface JsonImage {
  readonly json: true;
  readonly image: Buffer;
  readonly name: string;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** The JSON content-type parser's work: text → JsonImage, or 400 BAD_JSON naming what is wrong. */
export function parseJsonImage(text: string): JsonImage {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'BAD_JSON', `the JSON body does not parse: ${(err as Error).message}`, {}, { cause: err });
  }
  const o = body as { image?: unknown; name?: unknown } | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new HttpError(400, 'BAD_JSON', 'the JSON body must be an object { "image": "<base64>" }');
  const extra = Object.keys(o).filter((k) => k !== 'image' && k !== 'name');
  if (extra.length > 0) throw new HttpError(400, 'BAD_JSON', `unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')} (expected "image" and optionally "name")`);
  if (typeof o.image !== 'string') throw new HttpError(400, 'BAD_JSON', `"image" must be a base64 string, got ${o.image === undefined ? 'nothing' : typeof o.image}`);
  if (o.name !== undefined && typeof o.name !== 'string') throw new HttpError(400, 'BAD_JSON', `"name" must be a string, got ${typeof o.name}`);
  const b64 = o.image.replace(/^data:[\w.+/-]*;base64,/, '').replace(/\s+/g, '');
  if (!BASE64.test(b64)) throw new HttpError(400, 'BAD_JSON', '"image" is not base64 (A–Z, a–z, 0–9, +/ or -_, = padding)');
  return { json: true, image: Buffer.from(b64, 'base64'), name: (o.name ?? 'image').slice(0, 200) || 'image' };
}

const isJsonImage = (b: unknown): b is JsonImage => typeof b === 'object' && b !== null && (b as { json?: unknown }).json === true;

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
