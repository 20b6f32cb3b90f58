/**
 * The JSON schemas the routes carry, from which @fastify/swagger generates /openapi.json (openapi.ts).
 * Query strings are validated by fastify. Request bodies and responses are declared in `docBody` and
 * `docResponse`: the document shows them as requestBody and responses, but fastify neither validates nor
 * serialises with them. A body is bytes (raw or multipart parts) or JSON that its content-type parser
 * already checks (readUploads.ts, 400 BAD_JSON naming the field), and a response schema would make
 * fast-json-stringify drop any field it does not list.
 */
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { HttpError } from './httpError.js';
import type { ResolvedServeOptions } from './options.js';

declare module 'fastify' {
  interface FastifySchema {
    /** The request body as documented (content type → schema); not validated by fastify. */
    docBody?: { content: Record<string, { schema: object }> };
    /** The responses as documented (status → schema with a description); not used to serialise. */
    docResponse?: Record<string, object>;
  }
}

type Json = Record<string, unknown>;
const ref = (id: string): Json => ({ $ref: `${id}#` });
const binary = { type: 'string', format: 'binary' } as const;

/** The shared schemas (components.schemas in the document), by $id. */
export function addSharedSchemas(app: FastifyInstance, labels: readonly string[]): void {
  const schemas: Json[] = [
    {
      $id: 'Error',
      type: 'object',
      required: ['error'],
      properties: { error: { type: 'object', required: ['status', 'code', 'message'], properties: { status: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } } } },
    },
    { $id: 'Box', type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } } },
    {
      $id: 'Face',
      type: 'object',
      required: ['box', 'score', 'landmarks', 'expressions', 'label', 'confidence'],
      properties: {
        box: ref('Box'),
        score: { type: 'number', description: 'Detector confidence' },
        landmarks: { type: 'array', items: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } } }, description: '68 points, iBUG order, image pixels; empty with crop=1' },
        expressions: { type: 'object', properties: Object.fromEntries(labels.map((l) => [l, { type: 'number' }])), description: 'Probability per label' },
        label: { type: 'string', enum: [...labels] },
        confidence: { type: 'number' },
      },
    },
    { $id: 'ImageResult', type: 'object', properties: { input: { type: 'string' }, width: { type: 'integer' }, height: { type: 'integer' }, faces: { type: 'array', items: ref('Face') } } },
    { $id: 'DetectResult', allOf: [{ type: 'object', properties: { model: { type: 'string' }, labels: { type: 'array', items: { type: 'string' } } } }, ref('ImageResult')] },
    {
      $id: 'BatchResult',
      type: 'object',
      properties: {
        model: { type: 'string' },
        labels: { type: 'array', items: { type: 'string' } },
        results: { type: 'array', items: { oneOf: [ref('ImageResult'), { type: 'object', properties: { input: { type: 'string' }, error: { type: 'object' } } }] } },
      },
    },
    {
      $id: 'VideoResult',
      type: 'object',
      properties: {
        model: { type: 'string' },
        labels: { type: 'array', items: { type: 'string' } },
        input: { type: 'string' },
        width: { type: 'integer' },
        height: { type: 'integer' },
        fps: { type: 'number', description: 'Frames sampled per second' },
        duration: { type: ['number', 'null'], description: 'Seconds (null when the container does not say)' },
        frames: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              index: { type: 'integer', description: '0, 1, 2 … over the sampled frames' },
              time: { type: 'number', description: 'Seconds from the start of the clip' },
              frame: { type: 'integer', description: 'The source frame at that time' },
              faces: { type: 'array', items: { allOf: [ref('Face'), { type: 'object', properties: { track: { type: 'integer', description: 'Stable while the face is tracked' }, raw: { type: 'object', description: "The frame's own probabilities, before smoothing" } } }] } },
            },
          },
        },
        tracks: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              track: { type: 'integer' }, start: { type: 'number' }, end: { type: 'number' }, duration: { type: 'number' }, frames: { type: 'integer' },
              dominant: { type: 'string', enum: [...labels] }, share: { type: 'object', description: 'Fraction of its frames per expression' },
            },
          },
        },
      },
    },
  ];
  for (const s of schemas) app.addSchema(s);
}

/** A boolean query flag as the routes read it: 1/true/yes or 0/false/no (any case), empty = true. */
function flagSchema(description: string): Json {
  const words = ['', '1', '0', 'true', 'yes', 'false', 'no'];
  const caseless = words.map((w) => [...w].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c)).join(''));
  return { type: 'string', pattern: `^(?:${caseless.join('|')})$`, description };
}

/** A schema error as a 400 BAD_REQUEST naming the part and the parameter (a flag says what it accepts). */
export function schemaError(errors: FastifySchemaValidationError[], part: string): Error {
  const e = errors[0];
  const name = (e?.instancePath ?? '').replace(/^\//, '');
  if (part === 'querystring' && e?.keyword === 'pattern') return new HttpError(400, 'BAD_REQUEST', `query parameter '${name}' must be 1/true/yes or 0/false/no`);
  return new HttpError(400, 'BAD_REQUEST', `${part}${e?.instancePath ?? ''} ${e?.message ?? 'is not valid'}`);
}

const CROP = flagSchema('The image is one face crop (FER2013 style): no detection.');
export const QUERY_DETECT = { type: 'object', properties: { annotate: flagSchema('Answer with the image as PNG, boxes, labels and probability bars drawn.'), crop: CROP } };
export const QUERY_BATCH = { type: 'object', properties: { crop: CROP } };

export const QUERY_VIDEO = {
  type: 'object',
  properties: {
    fps: { type: 'number', exclusiveMinimum: 0, maximum: 30, description: 'Frames sampled per second (default: every frame, at most 30/s)' },
    start: { type: 'number', minimum: 0, description: 'Seconds into the clip to start at (default 0)' },
    end: { type: 'number', exclusiveMinimum: 0, description: 'Seconds into the clip to stop at (default: its end)' },
    smooth: { type: 'string', enum: ['ema', 'window', 'none'], description: "Smoothing of each track's probabilities (default ema)" },
    faces: { type: 'string', enum: ['all', 'largest'], description: 'Every face of each frame (default) or the largest only' },
    detectEvery: { type: 'integer', minimum: 1, maximum: 30, description: 'Run the detector on every k-th frame, follow the faces in between (default 1)' },
    landmarks: flagSchema('Include the 68 landmarks of every face of every frame (default: left out).'),
  },
};

export const BODY_IMAGE = {
  content: {
    'image/*': { schema: binary },
    'application/octet-stream': { schema: binary },
    'multipart/form-data': { schema: { type: 'object', properties: { image: binary } } },
    'application/json': {
      schema: {
        type: 'object',
        required: ['image'],
        additionalProperties: false,
        properties: { image: { type: 'string', contentEncoding: 'base64', description: 'The encoded image (a data: URL prefix is allowed)' }, name: { type: 'string' } },
      },
    },
  },
};
export const BODY_BATCH = { content: { 'multipart/form-data': { schema: { type: 'object', properties: { images: { type: 'array', items: binary } } } } } };

const error = (description: string): Json => ({ description, ...ref('Error') });

/** 401 when the server has API keys (every documented route but the probes). */
export const unauthorized = (opts: ResolvedServeOptions): Record<string, Json> => (opts.apiKeys.length > 0 ? { '401': error('Missing or wrong API key (UNAUTHORIZED)') } : {});

/** The error answers every POST /v1 route may give. */
export function uploadErrors(opts: ResolvedServeOptions): Record<string, Json> {
  return {
    '400': error('Malformed request (NO_IMAGE, EMPTY_IMAGE, ONE_IMAGE_EXPECTED, BAD_MULTIPART, BAD_JSON, BAD_REQUEST)'),
    ...unauthorized(opts),
    '413': error(`Over a limit: ${opts.bodyLimit} bytes per image, ${opts.maxPixels} pixels (TOO_LARGE, TOO_MANY_PIXELS, TOO_MANY_FILES, TOO_MANY_FIELDS, TOO_MANY_PARTS)`),
    '415': error('Not an image or multipart body (UNSUPPORTED_MEDIA_TYPE), or an image format that is not JPEG/PNG/WebP/GIF/TIFF/AVIF (UNSUPPORTED_FORMAT)'),
    '422': error('The image cannot be decoded (BAD_IMAGE, naming the input)'),
    '429': error(`This client already has ${opts.maxUploadsPerClient} uploads in progress (TOO_MANY_UPLOADS)`),
    '503': { ...error(`Queue full (${opts.overloadStatus}) or no answer within ${opts.timeoutMs} ms (503); see Retry-After`), headers: { 'Retry-After': { type: 'integer' } } },
  };
}

/** The error answers of POST /v1/video. */
export function videoErrors(opts: ResolvedServeOptions): Record<string, Json> {
  return {
    '400': error('Malformed request (NO_VIDEO, BAD_MULTIPART, BAD_REQUEST)'),
    ...unauthorized(opts),
    '413': error(`Over the limit of ${opts.videoLimit} bytes per video (TOO_LARGE)`),
    '415': error('Neither video/*, application/octet-stream nor multipart/form-data (UNSUPPORTED_MEDIA_TYPE)'),
    '422': error(`Longer than ${opts.maxVideoSeconds} s (TOO_LONG), or not a decodable video: audio only, empty, truncated, corrupt, frames over ${opts.maxPixels} pixels (BAD_VIDEO, naming the input)`),
    '429': error(`This client already has ${opts.maxUploadsPerClient} uploads in progress (TOO_MANY_UPLOADS)`),
    '503': { ...error(`Queue full (${opts.overloadStatus}) or no answer within ${opts.videoTimeoutMs} ms (503); see Retry-After`), headers: { 'Retry-After': { type: 'integer' } } },
  };
}

/** A 200 answer of one content type other than JSON. */
export const other = (type: string, description: string, schema: object = { type: 'string' }): Json => ({ description, content: { [type]: { schema } } });
export { binary, ref };
