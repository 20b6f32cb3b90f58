/**
 * HTTP errors: one JSON shape `{ error: { status, code, message } }` for every failure, and the mapping from
 * ExpnetError codes, fastify/multipart errors and anything else to a status and a stable code.
 */
import { homedir, tmpdir } from 'node:os';
import { dirname } from 'node:path';
import type { ExpnetErrorCode } from '../errors.js';
import { ExpnetError } from '../errors.js';

/** The stable error codes; docs/API.md lists each with its status and meaning. */
export type HttpErrorCode =
  | 'BAD_REQUEST'
  | 'NO_IMAGE'
  | 'EMPTY_IMAGE'
  | 'ONE_IMAGE_EXPECTED'
  | 'BAD_MULTIPART'
  | 'BAD_JSON'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'TOO_LARGE'
  | 'TOO_MANY_PIXELS'
  | 'TOO_MANY_FILES'
  | 'TOO_MANY_FIELDS'
  | 'TOO_MANY_PARTS'
  | 'TOO_MANY_UPLOADS'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNSUPPORTED_FORMAT'
  | 'BAD_IMAGE'
  | 'NO_VIDEO'
  | 'BAD_VIDEO'
  | 'TOO_LONG'
  | 'OVERLOADED'
  | 'TIMEOUT'
  | 'SHUTTING_DOWN'
  | 'CLIENT_CLOSED'
  | 'INTERNAL';

/** Absolute filesystem paths (3+ segments, not an API route) in a message. */
const FS_PATH = /(?<![\w.:/-])(?:[A-Za-z]:\\|\/)(?!v1\/)(?:[\w.@+~-]+[\\/]){2,}[\w.@+~-]*/g;

/** A message without filesystem paths: the server's own folders and any absolute path become '<path>'. */
export function withoutPaths(message: string): string {
  let m = message;
  for (const root of [process.cwd(), homedir(), tmpdir(), dirname(process.execPath)]) {
    if (root.length > 1) m = m.replace(new RegExp(`${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:[\\\\/][^\\s'"\`,;:()]*)?`, 'g'), '<path>');
  }
  return m.replace(FS_PATH, '<path>');
}

export interface ErrorBody {
  error: { status: number; code: HttpErrorCode; message: string };
}

/** A failure with its HTTP status, a stable code and extra headers (Retry-After, WWW-Authenticate). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }

  /** The JSON answer; its message never holds a filesystem path. */
  body(): ErrorBody {
    return { error: { status: this.status, code: this.code, message: withoutPaths(this.message) } };
  }
}

/** ExpnetError code → HTTP status and code; a new ExpnetErrorCode fails to compile until it is mapped here. */
const FROM_EXPNET: Record<ExpnetErrorCode, [number, HttpErrorCode]> = {
  BAD_IMAGE: [422, 'BAD_IMAGE'],
  BAD_VIDEO: [422, 'BAD_VIDEO'],
  MISSING_TOOL: [500, 'INTERNAL'],
  BAD_INPUT: [400, 'BAD_REQUEST'],
  BAD_CONFIG: [400, 'BAD_REQUEST'],
  NOT_FOUND: [404, 'NOT_FOUND'],
  BAD_LABEL_FILE: [500, 'INTERNAL'],
  BAD_WEIGHTS: [500, 'INTERNAL'],
  BAD_MODEL: [500, 'INTERNAL'],
  NATIVE: [500, 'INTERNAL'],
  DIVERGED: [500, 'INTERNAL'],
  WRITE_FAILED: [500, 'INTERNAL'],
};

/** Fastify and @fastify/multipart error codes with a status of their own. */
const FROM_FASTIFY: Record<string, [number, HttpErrorCode]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'TOO_LARGE'],
  FST_REQ_FILE_TOO_LARGE: [413, 'TOO_LARGE'],
  FST_FILES_LIMIT: [413, 'TOO_MANY_FILES'],
  FST_PARTS_LIMIT: [413, 'TOO_MANY_PARTS'],
  FST_FIELDS_LIMIT: [413, 'TOO_MANY_FIELDS'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_REQUEST'],
  FST_ERR_VALIDATION: [400, 'BAD_REQUEST'],
  FST_PROTO_VIOLATION: [400, 'BAD_MULTIPART'],
  FST_INVALID_JSON_FIELD_ERROR: [400, 'BAD_MULTIPART'],
};

const EXPNET_MESSAGE_PATH = /^<(?:buffer|raw)[^>]*>: /;

/** Any thrown value → an HttpError; 5xx messages do not leak internals (the cause keeps them for logs). */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ExpnetError) {
    const [status, code] = FROM_EXPNET[err.code];
    return new HttpError(status, code, status >= 500 ? 'internal error' : err.message.replace(EXPNET_MESSAGE_PATH, ''), {}, { cause: err });
  }
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  const known = typeof e.code === 'string' ? FROM_FASTIFY[e.code] : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (known) return new HttpError(known[0], known[1], message, {}, { cause: err });
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new HttpError(e.statusCode === 413 ? 413 : 400, e.statusCode === 413 ? 'TOO_LARGE' : 'BAD_REQUEST', message, {}, { cause: err });
  }
  return new HttpError(500, 'INTERNAL', 'internal error', {}, { cause: err });
}
