/** `expnet serve`: the HTTP API on a port; flags over environment over defaults; graceful exit on SIGTERM. */
import { ExpnetError } from '../errors.js';
import { createRecognizer } from '../infer/recognizer.js';
import { parseApiKeys } from '../serve/apiKeys.js';
import { createApp } from '../serve/createApp.js';
import { resolveServeOptions, SERVE_DEFAULTS, type ServeOptions } from '../serve/options.js';
import { closeOnSignals } from '../serve/shutdown.js';
import { webRoutes } from '../serve/webRoutes.js';
import { DETECTOR_OPTIONS, parseOptions, recognizerOptions } from './options.js';

export const SERVE_HELP = `expnet serve [options]
  Serves the HTTP API: POST /v1/detect (image body, multipart or JSON {"image": base64}; ?annotate=1 → PNG),
  POST /v1/detect/batch, POST /v1/video (one clip → per-frame faces with tracks), GET /v1/models, /healthz,
  /readyz, /metrics (Prometheus), /openapi.json, /docs.
  Error codes, limits and auth: docs/API.md. Flags override the environment.
  --host H            listen address (EXPNET_HOST; default 127.0.0.1; 0.0.0.0 to serve other machines)
  --port N            (EXPNET_PORT or PORT; default 8080; 0 picks a free port)
  --models DIR        model folder (EXPNET_MODELS; default the bundled models/)   --model NAME (EXPNET_MODEL)
  --concurrency N     recognizer calls at once (EXPNET_CONCURRENCY; default ${SERVE_DEFAULTS.concurrency} here)
  --queue N           requests waiting beyond those (EXPNET_QUEUE; default ${SERVE_DEFAULTS.maxQueue}); more get 503 + Retry-After
  --timeout-ms N      queue wait + processing per request (EXPNET_TIMEOUT_MS; default ${SERVE_DEFAULTS.timeoutMs})
  --body-limit-mb N   bytes per image, in MiB (EXPNET_BODY_LIMIT_MB; default ${SERVE_DEFAULTS.bodyLimit / 2 ** 20})
  --max-pixels N      pixels per image or video frame (EXPNET_MAX_PIXELS; default ${SERVE_DEFAULTS.maxPixels})
  --video-limit-mb N  bytes per video, in MiB (EXPNET_VIDEO_LIMIT_MB; default ${SERVE_DEFAULTS.videoLimit / 2 ** 20})
  --max-video-seconds N  seconds of one video read (EXPNET_MAX_VIDEO_SECONDS; default ${SERVE_DEFAULTS.maxVideoSeconds})
  --body-timeout-ms N receiving one request, body included (EXPNET_BODY_TIMEOUT_MS; default ${SERVE_DEFAULTS.bodyTimeoutMs})
  --uploads N         requests receiving their body at once, N per client with --uploads-per-client
                      (EXPNET_UPLOADS, EXPNET_UPLOADS_PER_CLIENT; default ${SERVE_DEFAULTS.maxUploads}, ${SERVE_DEFAULTS.maxUploadsPerClient})
  --any-format        decode any image format, not only JPEG/PNG/WebP/GIF/TIFF/AVIF (trusted clients only)
  --cors ORIGINS      '*' or comma-separated origins allowed from browsers (EXPNET_CORS_ORIGINS; default off)
  --min-score S       detector confidence threshold in [0, 1] (default 0.5)
  --detector-size N  --detector-precision int8|float32   as for predict
  --log               JSON request log on stdout (EXPNET_LOG=1)
  EXPNET_API_KEYS=k1,k2  require one of these keys (≥ 16 characters each) everywhere but /healthz and /readyz,
                      sent as "Authorization: Bearer <key>" or "X-API-Key: <key>"
  --public-web        with API keys: the browser app (/, /main.js, /ort/*, /models/*) without a key (EXPNET_PUBLIC_WEB=1)
  SIGTERM/SIGINT: refuse new requests, cut stalled uploads, finish accepted ones, dispose the models,
  exit 0 (1 when accepted requests had to be cut: after 30 s, or on a second Ctrl-C).`;

export const SERVE_OPTIONS = {
  ...DETECTOR_OPTIONS,
  models: { kind: 'string', env: ['EXPNET_MODELS'] },
  model: { kind: 'string', env: ['EXPNET_MODEL'] },
  host: { kind: 'string', env: ['EXPNET_HOST'] },
  port: { kind: 'number', integer: true, min: 0, max: 65535, env: ['EXPNET_PORT', 'PORT'] },
  concurrency: { kind: 'number', integer: true, min: 1, env: ['EXPNET_CONCURRENCY'] },
  queue: { kind: 'number', integer: true, min: 0, env: ['EXPNET_QUEUE'] },
  'timeout-ms': { kind: 'number', integer: true, min: 1, env: ['EXPNET_TIMEOUT_MS'] },
  'body-limit-mb': { kind: 'number', integer: true, min: 1, env: ['EXPNET_BODY_LIMIT_MB'] },
  'max-pixels': { kind: 'number', integer: true, min: 1, env: ['EXPNET_MAX_PIXELS'] },
  'video-limit-mb': { kind: 'number', integer: true, min: 1, env: ['EXPNET_VIDEO_LIMIT_MB'] },
  'max-video-seconds': { kind: 'number', integer: true, min: 1, env: ['EXPNET_MAX_VIDEO_SECONDS'] },
  cors: { kind: 'string', env: ['EXPNET_CORS_ORIGINS'] },
  log: { kind: 'flag', env: ['EXPNET_LOG'] },
  'body-timeout-ms': { kind: 'number', integer: true, min: 1, env: ['EXPNET_BODY_TIMEOUT_MS'] },
  uploads: { kind: 'number', integer: true, min: 1, env: ['EXPNET_UPLOADS'] },
  'uploads-per-client': { kind: 'number', integer: true, min: 1, env: ['EXPNET_UPLOADS_PER_CLIENT'] },
  'public-web': { kind: 'flag', env: ['EXPNET_PUBLIC_WEB'] },
} as const;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, SERVE_OPTIONS);
  const host = values.host ?? '127.0.0.1';
  const port = values.port ?? 8080;
  const bodyMiB = values['body-limit-mb'];
  const cors = values.cors;
  const numbers: [keyof ServeOptions, number | undefined][] = [
    ['concurrency', values.concurrency],
    ['maxQueue', values.queue],
    ['timeoutMs', values['timeout-ms']],
    ['maxPixels', values['max-pixels']],
    ['videoLimit', values['video-limit-mb'] === undefined ? undefined : values['video-limit-mb'] * 2 ** 20],
    ['maxVideoSeconds', values['max-video-seconds']],
    ['bodyTimeoutMs', values['body-timeout-ms']],
    ['maxUploads', values.uploads],
    ['maxUploadsPerClient', values['uploads-per-client']],
    ['bodyLimit', bodyMiB === undefined ? undefined : bodyMiB * 2 ** 20],
    ['batchLimit', bodyMiB === undefined ? undefined : Math.max(SERVE_DEFAULTS.batchLimit, bodyMiB * 2 ** 20)],
  ];
  const bodyTimeout = numbers.find(([k]) => k === 'bodyTimeoutMs')?.[1];
  if (bodyTimeout !== undefined && bodyTimeout < SERVE_DEFAULTS.headersTimeoutMs) numbers.push(['headersTimeoutMs', bodyTimeout]);
  const options: ServeOptions = {
    ...Object.fromEntries(numbers.filter(([, v]) => v !== undefined)),
    apiKeys: parseApiKeys(process.env['EXPNET_API_KEYS']),
    cors: cors === undefined ? false : { origins: cors.trim() === '*' ? '*' : cors.split(',').map((o) => o.trim()).filter((o) => o.length > 0) },
    logger: values.log === true,
    publicWeb: values['public-web'] === true,
    anyFormat: values['any-format'] === true,
    disposeOnClose: true,
  };
  resolveServeOptions(options); // bad settings fail before the models load
  const rec = await createRecognizer(recognizerOptions(values));
  let app;
  try {
    app = createApp(rec, options);
    // the app's own models/ (with their precompressed copies) unless another model folder was chosen
    const web = webRoutes(app, values.models !== undefined ? { modelDir: rec.bundle.dir } : {}) ? ', browser app at /' : ' (browser app not built: node --import tsx web/build.ts)';
    await rec.detect({ data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 });
    const address = await app.listen({ host, port });
    const auth = options.apiKeys && options.apiKeys.length > 0 ? `, ${options.apiKeys.length} API key(s)` : '';
    process.stdout.write(`expnet serve: listening on ${address} (model ${rec.bundle.card.name}, concurrency ${options.concurrency ?? SERVE_DEFAULTS.concurrency}${auth})${web}\n`);
  } catch (err) {
    await app?.close();
    await rec.dispose();
    if (err instanceof ExpnetError) throw err;
    throw new ExpnetError('BAD_CONFIG', `cannot serve on ${host}:${port}: ${(err as Error).message}`, { cause: err });
  }
  const onSignal = (s: NodeJS.Signals, cuts: boolean): void => {
    process.stderr.write(`expnet serve: ${s}: ${cuts ? 'cutting the requests in flight' : 'closing (stalled uploads are cut, accepted requests finish; Ctrl-C again cuts them)'}\n`);
  };
  const { signal, graceful } = await closeOnSignals(app, { onSignal });
  process.stderr.write(`expnet serve: closed after ${signal}${graceful ? '' : ' (connections cut)'}\n`);
  return graceful ? 0 : 1;
}
