/**
 * The JSON body of POST /v1/detect, `{ "image": "<base64>", "name"?: "a.png" }`, read as a stream, never
 * JSON.parse'd whole: a body may be ~11 MB, and JSON.parse of that much nested structure (`[[[…]]]`) blocked the
 * event loop for seconds. The scanner accepts only a flat object of string members, each key at most once, and
 * stops at the first byte that cannot belong there (an array, a nested object, an unknown key); the image string
 * is checked as base64 and compacted as it arrives. Work is linear in the bytes, no structure is built, the body
 * is never copied whole, and the scanner yields to the event loop at least every CHUNK bytes, so /healthz is
 * answered while the largest accepted body is read (docs/PERFORMANCE.md states the figure).
 */
import { setImmediate as tick } from 'node:timers/promises';
import { HttpError } from './httpError.js';
import { CHUNK, Cursor, type ByteSource } from './jsonCursor.js';

/** A JSON body `{ "image": "<base64>", "name"?: "a.png" }` (a `data:image/…;base64,` prefix is allowed). */
export interface JsonImage {
  readonly json: true;
  readonly image: Buffer;
  readonly name: string;
}

/** Longest key and "name" string token read (bytes, escapes included). */
const MAX_KEY = 64;
const MAX_NAME = 4096;
const FIELDS = ['image', 'name'] as const;
type Field = (typeof FIELDS)[number];
const NOT_BASE64 = '"image" is not base64 (A–Z, a–z, 0–9, +/ or -_, = padding)';

export const badJson = (message: string, cause?: unknown): HttpError => new HttpError(400, 'BAD_JSON', message, {}, cause === undefined ? {} : { cause });
export const syntax = (what: string, at: number): HttpError => badJson(`the JSON body does not parse: ${what} at position ${at}`);

/** base64 (and base64url) characters, by byte. */
const ALPHABET = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') ALPHABET[c.charCodeAt(0)] = 1;

/** The JSON type of a value starting with byte `c`, for messages. */
function kind(c: number | undefined): string {
  if (c === undefined) return 'nothing';
  const ch = String.fromCharCode(c);
  if (ch === '[') return 'array';
  if (ch === '{') return 'object';
  if (ch === 't' || ch === 'f') return 'boolean';
  if (ch === 'n') return 'null';
  if (ch === '-' || (ch >= '0' && ch <= '9')) return 'number';
  return c < 0x20 || c > 0x7e ? `byte 0x${c.toString(16)}` : `'${ch}'`;
}

/** A short string token at the cursor (its opening quote), at most `max` bytes, through JSON.parse. */
async function readShort(c: Cursor, max: number, what: string): Promise<string> {
  const at = c.pos;
  const bytes: number[] = [await c.next() ?? 0];
  for (;;) {
    const b = await c.next();
    if (b === undefined) throw syntax('unterminated string', at);
    bytes.push(b);
    if (bytes.length > max + 2) throw badJson(`${what} is over ${max} bytes`);
    if (b === 0x22) break;
    if (b === 0x5c) bytes.push((await c.next()) ?? 0);
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as string;
  } catch (err) {
    throw badJson(`the JSON body does not parse: a bad string at position ${at} (${(err as Error).message})`, err);
  }
}

/** The escape at the cursor (its backslash) as the base64 text byte it stands for; 0x20 for whitespace. */
async function readEscape(c: Cursor): Promise<number> {
  await c.next();
  const e = await c.next();
  if (e === 0x2f) return 0x2f; // \/
  if (e === 0x6e || e === 0x72 || e === 0x74) return 0x20; // \n \r \t
  if (e !== 0x75) throw badJson(NOT_BASE64);
  let hex = '';
  for (let k = 0; k < 4; k++) hex += String.fromCharCode((await c.next()) ?? 0x20);
  if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw badJson(NOT_BASE64);
  const code = parseInt(hex, 16);
  return code === 0x0a || code === 0x0d || code === 0x09 ? 0x20 : code;
}

/** The "image" string at the cursor (its opening quote): its base64 characters, whitespace dropped, checked. */
async function readImage(c: Cursor): Promise<Buffer> {
  const at = c.pos;
  await c.next();
  let out = Buffer.allocUnsafe(Math.max(1024, c.remainingHint()));
  let n = 0;
  let pad = 0;
  const put = (b: number): void => {
    if (b === 0x20) return;
    if (b === 0x3d) {
      if (++pad > 2) throw badJson(NOT_BASE64);
    } else if (b < 0 || b > 255 || ALPHABET[b] !== 1 || pad > 0) throw badJson(NOT_BASE64);
    if (n === out.length) out = Buffer.concat([out, Buffer.allocUnsafe(out.length)]);
    out[n++] = b;
  };
  // A data: URL prefix, else the bytes that matched its start are base64 characters.
  const DATA = 'data:';
  let k = 0;
  while (k < DATA.length && (await c.peek()) === DATA.charCodeAt(k)) {
    await c.next();
    k++;
  }
  if (k === DATA.length) {
    let prefix = DATA;
    for (let b = await c.next(); b !== 0x2c; b = await c.next()) {
      if (b === undefined || b === 0x22 || prefix.length > 256) throw badJson(NOT_BASE64);
      prefix += String.fromCharCode(b);
    }
    if (!/^data:[\w.+/-]*;base64$/.test(prefix.replace(/\\\//g, '/'))) throw badJson(NOT_BASE64);
  } else for (let j = 0; j < k; j++) put(DATA.charCodeAt(j));
  for (;;) {
    if (!(await c.more())) throw syntax('unterminated string', at);
    const buf = c.buf;
    const start = c.i;
    const end = Math.min(buf.length, start + CHUNK);
    let i = start;
    while (i < end) {
      const b = buf[i] ?? 0;
      if (b === 0x22) {
        c.i = i + 1;
        return out.subarray(0, n);
      }
      if (b < 0x20) throw syntax('a control character in a string', c.base + i);
      if (b === 0x5c) break;
      put(b);
      i++;
    }
    c.i = i;
    await c.spent(i - start);
    if (i < end) put(await readEscape(c));
  }
}

/** base64 characters → bytes, CHUNK characters (a multiple of 4) at a time, into one buffer. */
async function decodeBase64(b64: Buffer): Promise<Buffer> {
  const out = Buffer.allocUnsafe(Math.ceil(b64.length / 4) * 3);
  let n = 0;
  for (let a = 0; a < b64.length; a += CHUNK) {
    if (a > 0) await tick();
    n += out.write(b64.toString('latin1', a, Math.min(b64.length, a + CHUNK)), n, 'base64');
  }
  return out.subarray(0, n);
}

/**
 * The JSON content-type parser's work: the body stream → JsonImage, or 400 BAD_JSON naming what is wrong
 * (413 TOO_LARGE past `limit` bytes). After an error the rest of the body is read and dropped (up to the
 * limit), so that the client sees the answer rather than a reset.
 */
export async function readJsonImage(body: ByteSource, limit: number, lengthHint = 0): Promise<JsonImage> {
  const c = new Cursor(body, limit, lengthHint);
  try {
    return await scan(c);
  } catch (err) {
    await c.drain();
    throw err;
  }
}

async function scan(c: Cursor): Promise<JsonImage> {
  const got: { image?: Buffer; name?: string } = {};
  let b = await c.skipWs();
  if (b === undefined) throw badJson('the JSON body is empty; expected { "image": "<base64>" }');
  if (b !== 0x7b) throw badJson(`the JSON body must be an object { "image": "<base64>" }, got ${kind(b)}`);
  await c.next();
  b = await c.skipWs();
  if (b === 0x7d) await c.next();
  else
    for (;;) {
      if (b !== 0x22) throw syntax(b === undefined ? 'unexpected end' : `expected a member name, got ${kind(b)}`, c.pos);
      const key = await readShort(c, MAX_KEY, 'a member name');
      const field = FIELDS.find((f) => f === key);
      if (field === undefined) throw badJson(`unknown field ${JSON.stringify(key.slice(0, 100))} (expected "image" and optionally "name")`);
      if (got[field] !== undefined) throw badJson(`"${field}" is given twice`);
      if ((await c.skipWs()) !== 0x3a) throw syntax(`expected ':', got ${kind(await c.peek())}`, c.pos);
      await c.next();
      b = await c.skipWs();
      if (b === undefined) throw syntax('unexpected end', c.pos);
      if (b !== 0x22) throw badJson(`"${field}" must be ${field === 'image' ? 'a base64 string' : 'a string'}, got ${kind(b)}`);
      if (field === 'image') got.image = await readImage(c);
      else got.name = await readShort(c, MAX_NAME, '"name"');
      b = await c.skipWs();
      await c.next();
      if (b === 0x7d) break;
      if (b !== 0x2c) throw syntax(b === undefined ? 'unexpected end' : `expected ',' or '}', got ${kind(b)}`, c.pos - 1);
      b = await c.skipWs();
    }
  if ((await c.skipWs()) !== undefined) throw syntax('unexpected data after the object', c.pos);
  if (got.image === undefined) throw badJson('"image" must be a base64 string, got nothing');
  return { json: true, image: await decodeBase64(got.image), name: (got.name ?? '').slice(0, 200) || 'image' };
}

/** The same on a body already in memory (tests, library callers). */
export const parseJsonImage = (body: Buffer | string): Promise<JsonImage> => {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return readJsonImage([buf], Infinity, buf.length);
};

export const isJsonImage = (b: unknown): b is JsonImage => typeof b === 'object' && b !== null && (b as { json?: unknown }).json === true;
