/**
 * Errors Node's HTTP parser raises before a request exists (slow headers or body, oversized headers, protocol
 * garbage): answered in the API's JSON error shape on the raw socket, counted, and the connection closed.
 */
import type { Socket } from 'node:net';
import { HttpError } from './httpError.js';
import type { Metrics } from './metrics.js';

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

export function clientErrorResponse(err: NodeJS.ErrnoException): HttpError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new HttpError(408, 'REQUEST_TIMEOUT', 'the request (headers and body) did not arrive in time');
  if (err.code === 'HPE_HEADER_OVERFLOW') return new HttpError(431, 'HEADERS_TOO_LARGE', 'the request headers are over the size limit');
  return new HttpError(400, 'BAD_REQUEST', `malformed HTTP request (${err.code ?? 'parse error'})`);
}

export function clientErrorHandler(metrics: Metrics): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    metrics.clientError(err.code ?? 'UNKNOWN');
    const e = clientErrorResponse(err);
    metrics.error(e.code);
    if (socket.writable) {
      const body = JSON.stringify(e.body());
      socket.write(`HTTP/1.1 ${e.status} ${REASONS[e.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}
