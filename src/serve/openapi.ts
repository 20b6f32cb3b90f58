/** The OpenAPI 3.1 document served at /openapi.json, written by hand to match the routes and limits. */
import type { ResolvedServeOptions } from './options.js';

const json = (schema: object): object => ({ 'application/json': { schema } });
const ref = (name: string): object => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string): object => ({ description, content: json(ref('Error')) });

export function openApiDocument(opts: ResolvedServeOptions, labels: readonly string[], version: string): Record<string, unknown> {
  const auth = opts.apiKeys.length > 0 ? [{ bearer: [] }, { apiKey: [] }] : [];
  const busy = {
    description: `Queue full (${opts.overloadStatus}) or no answer within ${opts.timeoutMs} ms (503); see Retry-After`,
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
    content: json(ref('Error')),
  };
  const query = [
    { name: 'crop', in: 'query', schema: { type: 'boolean' }, description: 'The image is one face crop (FER2013 style): no detection.' },
  ];
  const imageBody = {
    required: true,
    content: {
      'image/*': { schema: { type: 'string', format: 'binary' } },
      'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
      'multipart/form-data': { schema: { type: 'object', properties: { image: { type: 'string', format: 'binary' } } } },
      'application/json': {
        schema: { type: 'object', required: ['image'], additionalProperties: false, properties: { image: { type: 'string', contentEncoding: 'base64', description: 'The encoded image (a data: URL prefix is allowed)' }, name: { type: 'string' } } },
      },
    },
  };
  const unauthorized = auth.length > 0 ? { '401': error('Missing or wrong API key (UNAUTHORIZED)') } : {};
  const common = {
    '400': error('Malformed request (NO_IMAGE, EMPTY_IMAGE, ONE_IMAGE_EXPECTED, BAD_MULTIPART, BAD_JSON, BAD_REQUEST)'),
    ...unauthorized,
    '413': error(`Over a limit: ${opts.bodyLimit} bytes per image, ${opts.maxPixels} pixels (TOO_LARGE, TOO_MANY_PIXELS, TOO_MANY_FILES, TOO_MANY_FIELDS, TOO_MANY_PARTS)`),
    '415': error('Not an image or multipart body (UNSUPPORTED_MEDIA_TYPE), or an image format that is not JPEG/PNG/WebP/GIF/TIFF/AVIF (UNSUPPORTED_FORMAT)'),
    '422': error('The image cannot be decoded (BAD_IMAGE, naming the input)'),
    '429': error(`This client already has ${opts.maxUploadsPerClient} uploads in progress (TOO_MANY_UPLOADS)`),
    '503': busy,
  };
  return {
    openapi: '3.1.0',
    info: { title: 'expnet', version, description: 'Facial-expression recognition (FaceNet2ExpNet) on ONNX Runtime: faces, 68 landmarks and expression probabilities.' },
    ...(auth.length > 0 ? { security: auth } : {}),
    tags: [
      { name: 'detect', description: 'Faces, landmarks and expressions of images' },
      { name: 'models', description: 'The models this server runs' },
      { name: 'operations', description: 'Probes, metrics and this document' },
    ],
    paths: {
      '/v1/detect': {
        post: {
          operationId: 'detect',
          tags: ['detect'],
          summary: 'Faces and expressions of one image',
          parameters: [{ name: 'annotate', in: 'query', schema: { type: 'boolean' }, description: 'Answer with the image as PNG, boxes, labels and probability bars drawn.' }, ...query],
          requestBody: imageBody,
          responses: {
            '200': { description: 'Faces found (an empty list when none)', content: { ...json(ref('DetectResult')), 'image/png': { schema: { type: 'string', format: 'binary' } } } },
            ...common,
          },
        },
      },
      '/v1/detect/batch': {
        post: {
          operationId: 'detectBatch',
          tags: ['detect'],
          summary: `Several images in one multipart request (at most ${opts.maxBatch}, ${opts.batchLimit} bytes in all)`,
          parameters: query,
          requestBody: { required: true, content: { 'multipart/form-data': { schema: { type: 'object', properties: { images: { type: 'array', items: { type: 'string', format: 'binary' } } } } } } },
          responses: { '200': { description: 'One result or error per image, in order', content: json(ref('BatchResult')) }, ...common },
        },
      },
      '/v1/models': { get: { operationId: 'listModels', tags: ['models'], summary: 'The expression model and its card', responses: { '200': { description: 'Models', content: json({ type: 'object' }) }, ...unauthorized } } },
      '/healthz': { get: { operationId: 'healthz', tags: ['operations'], summary: 'Liveness (never needs a key)', security: [], responses: { '200': { description: 'The process is up', content: json({ type: 'object' }) } } } },
      '/readyz': { get: { operationId: 'readyz', tags: ['operations'], summary: 'Readiness (never needs a key)', security: [], responses: { '200': { description: 'Accepting work', content: json({ type: 'object' }) }, '503': error('Shutting down') } } },
      '/metrics': { get: { operationId: 'metrics', tags: ['operations'], summary: 'Prometheus metrics', responses: { '200': { description: 'Text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...unauthorized } } },
      '/docs': { get: { operationId: 'docs', tags: ['operations'], summary: 'This document as an HTML page', responses: { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } }, ...unauthorized } } },
      '/openapi.json': { get: { operationId: 'openapi', tags: ['operations'], summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) }, ...unauthorized } } },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['status', 'code', 'message'], properties: { status: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } } } },
        },
        Box: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } } },
        Face: {
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
        ImageResult: {
          type: 'object',
          properties: { input: { type: 'string' }, width: { type: 'integer' }, height: { type: 'integer' }, faces: { type: 'array', items: ref('Face') } },
        },
        DetectResult: { allOf: [{ type: 'object', properties: { model: { type: 'string' }, labels: { type: 'array', items: { type: 'string' } } } }, ref('ImageResult')] },
        BatchResult: {
          type: 'object',
          properties: {
            model: { type: 'string' },
            labels: { type: 'array', items: { type: 'string' } },
            results: { type: 'array', items: { oneOf: [ref('ImageResult'), { type: 'object', properties: { input: { type: 'string' }, error: { type: 'object' } } }] } },
          },
        },
      },
    },
  };
}
