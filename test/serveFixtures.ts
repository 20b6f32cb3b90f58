/** Fixtures shared by the server tests: a random-weight model bundle, multipart bodies, a scripted recognizer. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { bundleCommand } from '../src/cli/export.js';
import { packageRoot } from '../src/engine/native.js';
import type { BundledCard } from '../src/infer/modelBundle.js';
import type { ImageInput } from '../src/infer/readImage.js';
import type { ImageResult } from '../src/infer/recognizer.js';
import { VideoRun, type VideoOptions } from '../src/infer/videoRun.js';
import { ExpNet, EXPNET_DEFAULTS } from '../src/nets/expNet.js';
import { saveExpNetModel, type ModelCard } from '../src/nets/modelCard.js';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../src/serve/createApp.js';
import type { ServeRecognizer } from '../src/serve/context.js';
import type { ServeOptions } from '../src/serve/options.js';

export const ASTRONAUT = join(packageRoot(), 'examples', 'astronaut.png');
export const LABELS = ['anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise', 'neutral'];
export const MODEL_NAME = 'test-model';

/** A long-enough API key for tests. */
export const KEY = 'test-key-0123456789abcdef';

function card(config: ModelCard['config']): ModelCard {
  return {
    name: 'test', task: 'expression', arch: 'expnet', input: { size: 48, channels: 1, range: [0, 1], layout: 'NCHW' },
    labels: LABELS, config, method: 'scratch', training: { data: 'none', command: 'test', seed: 0, epochs: {} },
    metrics: {}, licence: 'MIT', provenance: 'test', created: new Date(0).toISOString(),
  };
}

/** A model folder (detector, landmarks, anchors, random-weight expression model 'test-model'), as `expnet bundle` writes it. */
export async function buildBundle(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'expnet-serve-bundle-'));
  const m = new ExpNet({ numClasses: LABELS.length }).eval();
  const modelPath = join(dir, 'model.safetensors');
  saveExpNetModel(modelPath, m, card(m.config));
  m.dispose();
  assert.equal(await bundleCommand(['--model', modelPath, '--out', dir, '--name', MODEL_NAME]), 0);
  return dir;
}

export interface FilePart {
  field?: string;
  filename?: string;
  type?: string;
  data: Buffer;
}

/** A multipart/form-data body with the given file parts (and optional text fields). */
export function multipart(files: readonly FilePart[], fields: Record<string, string> = {}): { body: Buffer; contentType: string; boundary: string } {
  const boundary = `----expnet-test-${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  files.forEach((f, i) => {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.field ?? 'image'}"; filename="${f.filename ?? `image${i}.png`}"\r\nContent-Type: ${f.type ?? 'image/png'}\r\n\r\n`));
    chunks.push(f.data, Buffer.from('\r\n'));
  });
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}`, boundary };
}

/** A PNG whose header claims width × height but holds one row of pixels (a decompression-bomb stand-in). */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(width + 1))), chunk('IEND', Buffer.alloc(0))]);
}

export const blankPng = (width = 64, height = 48): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: { r: 30, g: 120, b: 200 } } }).png().toBuffer();

/** A stand-in recognizer: every call waits delayMs and finds one face; counts calls and disposal. */
export class ScriptedRecognizer implements ServeRecognizer {
  readonly labels = LABELS;
  readonly bundle: { card: BundledCard };
  calls = 0;
  running = 0;
  disposedWhileRunning = false;
  disposed = false;

  constructor(private readonly delayMs: number) {
    this.bundle = { card: card({ ...EXPNET_DEFAULTS, numClasses: LABELS.length }) };
  }

  async detect(input: ImageInput): Promise<ImageResult> {
    this.calls++;
    this.running++;
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.running--;
    const { width, height } = typeof input === 'object' && !(input instanceof Uint8Array) ? input : { width: 0, height: 0 };
    const expressions = Object.fromEntries(LABELS.map((l) => [l, l === 'happy' ? 1 : 0]));
    return { input: 'x', width, height, faces: [{ box: { x: 1, y: 2, width: 3, height: 4 }, score: 0.9, landmarks: [], expressions, label: 'happy', confidence: 1 }] };
  }

  classifyCrop(input: ImageInput): Promise<ImageResult> {
    return this.detect(input);
  }

  /** Frames decoded by ffmpeg, each with the one scripted face. */
  video(file: string, options: VideoOptions = {}): VideoRun {
    const faces = async (img: { data: Uint8Array; width: number; height: number }) => (await this.detect({ ...img, channels: 3 })).faces;
    return new VideoRun(file, { detect: faces, facesAt: faces }, options);
  }

  async dispose(): Promise<void> {
    this.disposedWhileRunning ||= this.running > 0;
    this.disposed = true;
  }
}

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Its exit code, once it exits. */
  exited: Promise<number | null>;
  /** SIGKILLs it if still running (call in finally). */
  end(): void;
}

/** `expnet serve --port 0 …args` on 127.0.0.1 in a child process; resolves once it listens. */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv = process.env, limitMs = 90_000): Promise<ServeProcess> {
  const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, main, 'serve', '--port', '0', ...args], { env: { ...env, EXPNET_HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const kill = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const end = (): void => {
    clearTimeout(kill);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
      void exited.then((code) => reject(new Error(`expnet serve exited ${code}: ${stderr}`)));
    });
    return { child, port, stderr: () => stderr, exited, end };
  } catch (err) {
    end();
    throw err;
  }
}

/**
 * Apps made by a test file, closed together in its `after`: `make(options?, recognizer?)` builds one on
 * `defaultRecognizer()` (read when called, so it may be set in a `before`).
 */
export function appPool(defaultRecognizer: () => ServeRecognizer): { make: (options?: ServeOptions, recognizer?: ServeRecognizer) => FastifyInstance; closeAll: () => Promise<void> } {
  const apps: FastifyInstance[] = [];
  return {
    make: (options = {}, recognizer = defaultRecognizer()) => {
      const a = createApp(recognizer, options);
      apps.push(a);
      return a;
    },
    closeAll: async () => {
      for (const a of apps.splice(0)) await a.close();
    },
  };
}
