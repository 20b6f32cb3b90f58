/** `expnet serve`: the HTTP API on a port; flags over environment over defaults; graceful exit on SIGTERM. */
import { parseArgs } from 'node:util';
import { ExpnetError } from '../errors.js';
import { createRecognizer } from '../infer/recognizer.js';
import { parseApiKeys } from '../serve/apiKeys.js';
import { createApp } from '../serve/createApp.js';
import { resolveServeOptions, SERVE_DEFAULTS, type ServeOptions } from '../serve/options.js';
import { closeOnSignals } from '../serve/shutdown.js';
import { webRoutes } from '../serve/webRoutes.js';

export const SERVE_HELP = `expnet serve [options]
  Serves the HTTP API: POST /v1/detect (image body, multipart or JSON {"image": base64}; ?annotate=1 → PNG),
  POST /v1/detect/batch, GET /v1/models, /healthz, /readyz, /metrics (Prometheus), /openapi.json, /docs.
  Error codes, limits and auth: docs/API.md. Flags override the environment.
  --host H            listen address (EXPNET_HOST; default 127.0.0.1; 0.0.0.0 to serve other machines)
  --port N            (EXPNET_PORT or PORT; default 8080; 0 picks a free port)
  --models DIR        model folder (EXPNET_MODELS; default the bundled models/)   --model NAME (EXPNET_MODEL)
  --concurrency N     recognizer calls at once (EXPNET_CONCURRENCY; default ${SERVE_DEFAULTS.concurrency} here)
  --queue N           requests waiting beyond those (EXPNET_QUEUE; default ${SERVE_DEFAULTS.maxQueue}); more get 503 + Retry-After
  --timeout-ms N      queue wait + processing per request (EXPNET_TIMEOUT_MS; default ${SERVE_DEFAULTS.timeoutMs})
  --body-limit-mb N   bytes per image, in MiB (EXPNET_BODY_LIMIT_MB; default ${SERVE_DEFAULTS.bodyLimit / 2 ** 20})
  --max-pixels N      pixels per image (EXPNET_MAX_PIXELS; default ${SERVE_DEFAULTS.maxPixels})
  --body-timeout-ms N receiving one request, body included (EXPNET_BODY_TIMEOUT_MS; default ${SERVE_DEFAULTS.bodyTimeoutMs})
  --uploads N         requests receiving their body at once, N per client with --uploads-per-client
                      (EXPNET_UPLOADS, EXPNET_UPLOADS_PER_CLIENT; default ${SERVE_DEFAULTS.maxUploads}, ${SERVE_DEFAULTS.maxUploadsPerClient})
  --any-format        decode any image format, not only JPEG/PNG/WebP/GIF/TIFF/AVIF (trusted clients only)
  --cors ORIGINS      '*' or comma-separated origins allowed from browsers (EXPNET_CORS_ORIGINS; default off)
  --min-score S       detector confidence threshold (default 0.5)
  --log               JSON request log on stdout (EXPNET_LOG=1)
  EXPNET_API_KEYS=k1,k2  require one of these keys (≥ 16 characters each) everywhere but /healthz and /readyz,
                      sent as "Authorization: Bearer <key>" or "X-API-Key: <key>"
  --public-web        with API keys: the browser app (/, /main.js, /ort/*, /models/*) without a key (EXPNET_PUBLIC_WEB=1)
  SIGTERM/SIGINT: refuse new requests, cut stalled uploads, finish accepted ones, dispose the models,
  exit 0 (1 when accepted requests had to be cut: after 30 s, or on a second Ctrl-C).`;

type Values = Record<string, string | boolean | undefined>;

function setting(values: Values, flag: string, ...envs: string[]): string | undefined {
  const v = values[flag];
  if (typeof v === 'string') return v;
  for (const e of envs) if (process.env[e] !== undefined && process.env[e] !== '') return process.env[e];
  return undefined;
}

function integer(values: Values, flag: string, envs: string[], min: number): number | undefined {
  const text = setting(values, flag, ...envs);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new ExpnetError('BAD_CONFIG', `--${flag}${envs.length > 0 ? ` / ${envs.join(' / ')}` : ''}: expected an integer ≥ ${min}, got '${text}'`);
  }
  return n;
}

export async function serveCommand(argv: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: str, port: str, models: str, model: str, concurrency: str, queue: str, 'timeout-ms': str, 'body-limit-mb': str,
      'max-pixels': str, cors: str, 'min-score': str, log: { type: 'boolean' }, 'body-timeout-ms': str, uploads: str,
      'uploads-per-client': str, 'any-format': { type: 'boolean' }, 'public-web': { type: 'boolean' },
    },
  });
  const host = setting(values, 'host', 'EXPNET_HOST') ?? '127.0.0.1';
  const port = integer(values, 'port', ['EXPNET_PORT', 'PORT'], 0) ?? 8080;
  const bodyMiB = integer(values, 'body-limit-mb', ['EXPNET_BODY_LIMIT_MB'], 1);
  const cors = setting(values, 'cors', 'EXPNET_CORS_ORIGINS');
  const minScoreText = setting(values, 'min-score');
  const minScore = minScoreText === undefined ? undefined : Number(minScoreText);
  if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) throw new ExpnetError('BAD_CONFIG', `--min-score: expected a number in [0, 1], got '${minScoreText}'`);
  const numbers: [keyof ServeOptions, number | undefined][] = [
    ['concurrency', integer(values, 'concurrency', ['EXPNET_CONCURRENCY'], 1)],
    ['maxQueue', integer(values, 'queue', ['EXPNET_QUEUE'], 0)],
    ['timeoutMs', integer(values, 'timeout-ms', ['EXPNET_TIMEOUT_MS'], 1)],
    ['maxPixels', integer(values, 'max-pixels', ['EXPNET_MAX_PIXELS'], 1)],
    ['bodyTimeoutMs', integer(values, 'body-timeout-ms', ['EXPNET_BODY_TIMEOUT_MS'], 1)],
    ['maxUploads', integer(values, 'uploads', ['EXPNET_UPLOADS'], 1)],
    ['maxUploadsPerClient', integer(values, 'uploads-per-client', ['EXPNET_UPLOADS_PER_CLIENT'], 1)],
    ['bodyLimit', bodyMiB === undefined ? undefined : bodyMiB * 2 ** 20],
    ['batchLimit', bodyMiB === undefined ? undefined : Math.max(SERVE_DEFAULTS.batchLimit, bodyMiB * 2 ** 20)],
  ];
  const bodyTimeout = numbers.find(([k]) => k === 'bodyTimeoutMs')?.[1];
  if (bodyTimeout !== undefined && bodyTimeout < SERVE_DEFAULTS.headersTimeoutMs) numbers.push(['headersTimeoutMs', bodyTimeout]);
  const options: ServeOptions = {
    ...Object.fromEntries(numbers.filter(([, v]) => v !== undefined)),
    apiKeys: parseApiKeys(process.env['EXPNET_API_KEYS']),
    cors: cors === undefined ? false : { origins: cors.trim() === '*' ? '*' : cors.split(',').map((o) => o.trim()).filter((o) => o.length > 0) },
    logger: values.log === true || process.env['EXPNET_LOG'] === '1',
    publicWeb: values['public-web'] === true || process.env['EXPNET_PUBLIC_WEB'] === '1',
    anyFormat: values['any-format'] === true,
    disposeOnClose: true,
  };
  resolveServeOptions(options); // bad settings fail before the models load
  const modelDir = setting(values, 'models', 'EXPNET_MODELS');
  const expressionModel = setting(values, 'model', 'EXPNET_MODEL');
  const rec = await createRecognizer({
    ...(modelDir !== undefined ? { modelDir } : {}),
    ...(expressionModel !== undefined ? { expressionModel } : {}),
    ...(minScore !== undefined ? { detector: { minConfidence: minScore } } : {}),
    anyFormat: options.anyFormat ?? false,
  });
  let app;
  try {
    app = createApp(rec, options);
    const web = webRoutes(app, { modelDir: rec.bundle.dir }) ? ', browser app at /' : ' (browser app not built: node --import tsx web/build.ts)';
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
