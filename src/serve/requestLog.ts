/**
 * The --log request log (fastify's JSON logger): the request line is logged with every query value but the
 * documented flags replaced by "[redacted]", so a secret sent where it does not belong (`?api_key=…`, which
 * the server refuses: keys travel in headers) is not written to the log.
 */
import type { FastifyRequest } from 'fastify';

/** Query parameters the API documents (their values are harmless flags). */
const LOGGED_QUERY = new Set(['annotate', 'crop']);

/** A URL for the log: the path as sent, each undocumented query parameter's value replaced. */
export function redactedUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // a malformed name is logged as sent, its value hidden
      }
      return eq < 0 || LOGGED_QUERY.has(decoded.toLowerCase()) ? pair : `${name}=[redacted]`;
    });
  return `${url.slice(0, q)}?${query.join('&')}`;
}

/** fastify's `logger` option: off, or on with the request serializer that redacts the query. */
export function requestLogger(enabled: boolean): false | { serializers: { req: (req: FastifyRequest) => Record<string, unknown> } } {
  if (!enabled) return false;
  return {
    serializers: {
      req: (req) => ({ method: req.method, url: redactedUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort }),
    },
  };
}
