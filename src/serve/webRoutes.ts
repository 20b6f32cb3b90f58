/**
 * The browser app (web/, built into web/dist/ by `node --import tsx web/build.ts`) as static routes of the
 * HTTP server: `/` (the page), `/main.js`, `/sample.png`, `/ort/*` (ONNX Runtime Web) and `/models/*`. Only
 * the files the build writes are served (no directory walking); pages get cross-origin isolation headers so
 * ONNX Runtime Web may use wasm threads. A file's precompressed sibling (f.br, f.gz, written by web/build.ts and
 * no older than f) is sent to clients that accept it, with Content-Encoding and `Vary: Accept-Encoding`.
 * With API keys set they need a key too, unless the server's `publicWeb` is on. `/models/*` is looked up in the
 * chosen model folder, then the app's own models/, then the package's bundled models/ (an installed package ships
 * the app without copies of them); `/models/index.json` lists the expression models of the first of those
 * folders that has any (generated, so it matches the folder served).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MODEL_INDEX_FILE } from '../infer/bundleFiles.js';
import { bundledModelDir, expressionModels } from '../infer/modelBundle.js';
import { modelIndex } from '../infer/modelIndex.js';
import { HttpError } from './httpError.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route of the browser app: open without an API key when the server's `publicWeb` is set. */
    web?: boolean;
  }
}

/** Browser-app routes: open with publicWeb, left out of the OpenAPI document. */
const WEB = { config: { web: true }, schema: { hide: true } } as const;

export interface WebRoutesOptions {
  /** The built app (default: the package's web/dist). */
  dir?: string;
  /** Serve /models/* from this folder first, before dir/models and the bundled models (e.g. the server's own model folder). */
  modelDir?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
};

/** Content-Encoding → the sibling's suffix, in the server's order of preference. */
const ENCODINGS = [
  ['br', '.br'],
  ['gzip', '.gz'],
] as const;

/** The encodings an Accept-Encoding header allows (q=0 refuses; `*` allows all). */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name === '' || (q !== undefined && Number(q) === 0)) continue;
    if (name === '*') ENCODINGS.forEach(([e]) => out.add(e));
    else out.add(name);
  }
  return out;
}

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The package's web/dist (found from this file, in src/serve or dist/src/serve). */
export function defaultWebDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) if (existsSync(join(dir, 'package.json'))) return join(dir, 'web', 'dist');
  return join(process.cwd(), 'web', 'dist');
}

function sendFile(reply: FastifyReply, path: string): FastifyReply {
  const type = TYPES[extname(path)];
  if (type === undefined || !existsSync(path) || !statSync(path).isFile()) throw new HttpError(404, 'NOT_FOUND', `no file ${reply.request.url.split('?')[0] ?? ''}`);
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-embedder-policy', 'require-corp');
  reply.header('cross-origin-resource-policy', 'same-origin');
  reply.header('cache-control', extname(path) === '.html' ? 'no-cache' : 'public, max-age=3600');
  const accepted = acceptedEncodings(reply.request.headers['accept-encoding']);
  const mtime = statSync(path).mtimeMs;
  const sibling = ENCODINGS.map(([enc, suffix]) => ({ enc, file: path + suffix })).find((c) => accepted.has(c.enc) && existsSync(c.file) && statSync(c.file).mtimeMs >= mtime);
  const hasVariants = ENCODINGS.some(([, suffix]) => existsSync(path + suffix));
  if (hasVariants) reply.header('vary', 'accept-encoding');
  const file = sibling?.file ?? path;
  if (sibling) reply.header('content-encoding', sibling.enc);
  reply.header('content-length', statSync(file).size);
  return reply.type(type).send(createReadStream(file));
}

/** Registers the app's routes on `app` (before listen); says whether the built app was found. */
export function webRoutes(app: FastifyInstance, options: WebRoutesOptions = {}): boolean {
  const dir = options.dir ?? defaultWebDir();
  const modelDirs = [...new Set([options.modelDir, join(dir, 'models'), bundledModelDir()].filter((d): d is string => d !== undefined))];
  const built = existsSync(join(dir, 'index.html'));
  const index = async (_req: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    if (!built) throw new HttpError(404, 'NOT_FOUND', 'the browser app is not built on this server (node --import tsx web/build.ts builds it)');
    return sendFile(reply, join(dir, 'index.html'));
  };
  app.get('/', WEB, index);
  app.get('/index.html', WEB, index);
  app.get('/main.js', WEB, async (_req, reply) => sendFile(reply, join(dir, 'main.js')));
  app.get('/main.js.map', WEB, async (_req, reply) => sendFile(reply, join(dir, 'main.js.map')));
  app.get('/sample.png', WEB, async (_req, reply) => sendFile(reply, join(dir, 'sample.png')));
  app.get(`/models/${MODEL_INDEX_FILE}`, WEB, async (_req, reply) => {
    const from = modelDirs.find((d) => expressionModels(d).length > 0);
    if (from === undefined) throw new HttpError(404, 'NOT_FOUND', `no expression model in ${modelDirs.length} model folder(s)`);
    return reply.header('cache-control', 'no-cache').header('cross-origin-resource-policy', 'same-origin').send(modelIndex(from));
  });
  for (const [prefix, folders] of [['ort', [join(dir, 'ort')]], ['models', modelDirs]] as const) {
    app.get<{ Params: { file: string } }>(`/${prefix}/:file`, WEB, async (req, reply) => {
      const { file } = req.params;
      if (!SAFE_NAME.test(file)) throw new HttpError(404, 'NOT_FOUND', `no file /${prefix}/${file}`);
      return sendFile(reply, join(folders.find((d) => existsSync(join(d, file))) ?? folders[0] ?? dir, file));
    });
  }
  return built;
}
