/**
 * Request ids: the id of one request, taken from the client's `X-Request-Id` when it is safe to
 * repeat (else made here), returned on every answer and carried by every log line about it.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { withHeaders } from './responses.js';

/** The header that carries the id, both ways. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Longest id accepted from outside. */
export const MAX_REQUEST_ID_LENGTH = 128;

/** Visible ASCII, no space; quotes, backslash, angle brackets and backtick refused too. */
const SAFE_ID = /^[\x21\x23-\x26\x28-\x3b\x3d\x3f-\x5b\x5d-\x5f\x61-\x7e]+$/;

/**
 * `value` when it is an id we may repeat in headers, logs and event data (1 to 128 visible
 * ASCII characters, no quote, backslash, angle bracket or backtick), else undefined.
 */
export function validRequestId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (value.length === 0 || value.length > MAX_REQUEST_ID_LENGTH) return undefined;
  return SAFE_ID.test(value) ? value : undefined;
}

/** The id of a request: its valid `X-Request-Id`, else a new UUID. */
export function requestIdOf(headers: Headers): string {
  return validRequestId(headers.get(REQUEST_ID_HEADER)) ?? randomUUID();
}

/**
 * The id of a Node request, set on `res` at once so that every answer carries it, errors of the
 * bridge included: the client's valid `X-Request-Id`; else the host's, when valid (`hostId`, or
 * an `X-Request-Id` a request-id middleware of the app already set on `res`); else a new UUID.
 */
export function nodeRequestId(req: IncomingMessage, res: ServerResponse, hostId?: string): string {
  const id =
    validRequestId(req.headers[REQUEST_ID_HEADER]) ??
    validRequestId(hostId) ??
    validRequestId(res.getHeader(REQUEST_ID_HEADER)) ??
    randomUUID();
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** `logger` with `requestId` on every line: its `child()` when it has one (pino), else merged. */
function bound(logger: Logger, requestId: string): Logger {
  if (typeof logger.child === 'function') {
    try {
      return logger.child({ requestId });
    } catch {
      // A logger whose child() fails still gets the field, line by line.
    }
  }
  return {
    debug: (obj, msg) => logger.debug({ requestId, ...obj }, msg),
    info: (obj, msg) => logger.info({ requestId, ...obj }, msg),
    warn: (obj, msg) => logger.warn({ requestId, ...obj }, msg),
    error: (obj, msg) => logger.error({ requestId, ...obj }, msg),
  };
}

/**
 * The logger of one request: every line carries `requestId`. The child logger is made on the
 * first line, so a request that logs nothing (most of them) costs no child.
 */
export function requestLogger(logger: Logger, requestId: string): Logger {
  let child: Logger | undefined;
  const get = (): Logger => (child ??= bound(logger, requestId));
  return {
    debug: (obj, msg) => get().debug(obj, msg),
    info: (obj, msg) => get().info(obj, msg),
    warn: (obj, msg) => get().warn(obj, msg),
    error: (obj, msg) => get().error(obj, msg),
  };
}

/**
 * `response` with `X-Request-Id: requestId`: set in place when its headers may change, else on
 * a copy with the same body (an immutable `Response`, one a host's `fetch` made).
 */
export function withRequestId(response: Response, requestId: string): Response {
  return withHeaders(response, (headers) => headers.set(REQUEST_ID_HEADER, requestId));
}
