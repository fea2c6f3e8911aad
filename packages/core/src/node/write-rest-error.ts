import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { RestError } from '../errors.js';
import { restErrorHeaders } from '../http/responses.js';

/** Options of {@link writeRestError}. */
export interface WriteRestErrorOptions {
  /**
   * Close the connection after the answer. By default it is closed when the request's body was
   * not read: its unread bytes would be taken for the next request on the connection.
   */
  close?: boolean;
}

/** The headers of a written error: the spec's, its length, never cached. */
function writtenHeaders(error: RestError, body: string, close: boolean): Record<string, string> {
  return {
    ...restErrorHeaders(error),
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...(close ? { connection: 'close' } : {}),
  };
}

/**
 * Writes a {@link RestError} to a Node response as the spec's JSON error (`Retry-After`, `Allow`,
 * `WWW-Authenticate` as {@link errorResponse} sets them). The one error writer of Node code that
 * answers without a web `Response`. A response whose head is already sent is cut instead (its
 * client must not take a half answer for a whole one); a finished or destroyed one is left alone.
 */
export function writeRestError(
  res: ServerResponse,
  error: RestError,
  options: WriteRestErrorOptions = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(error.toJSON());
  const close = options.close ?? !res.req.readableEnded;
  res.writeHead(error.status, writtenHeaders(error, body, close));
  res.end(body);
}

/**
 * The whole HTTP/1.1 answer carrying a {@link RestError}, for a socket that has no response
 * object (a request Node could not parse, or that took too long to arrive); the connection
 * closes after it. `status` overrides the error's own (408 for a request that came too slowly).
 */
export function rawRestError(error: RestError, status: number = error.status): string {
  const body = JSON.stringify(error.toJSON());
  const head = Object.entries(writtenHeaders(error, body, true))
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n${body}`;
}
