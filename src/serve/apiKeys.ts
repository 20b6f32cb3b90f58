/**
 * Optional API-key auth: a key in `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in constant
 * time (SHA-256 digests of equal length through timingSafeEqual, every key checked, no early exit).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from './httpError.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** `EXPNET_API_KEYS`-style text → keys: comma- or whitespace-separated, empty entries dropped. */
export function parseApiKeys(text: string | undefined): string[] {
  return (text ?? '').split(/[\s,]+/).filter((k) => k.length > 0);
}

export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const x = headers['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}

/** A checker over the allowed keys; with no keys, auth is off and the checker always passes. */
export function apiKeyChecker(keys: readonly string[]): (headers: IncomingHttpHeaders) => void {
  const allowed = keys.map(digest);
  return (headers) => {
    if (allowed.length === 0) return;
    const key = presentedKey(headers);
    const given = digest(key ?? '');
    let ok = 0;
    for (const a of allowed) ok |= timingSafeEqual(a, given) ? 1 : 0;
    if (ok === 1 && key !== undefined) return;
    throw new HttpError(401, 'UNAUTHORIZED', key === undefined ? 'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"' : 'the API key is not valid', {
      'www-authenticate': 'Bearer realm="expnet"',
    });
  };
}
