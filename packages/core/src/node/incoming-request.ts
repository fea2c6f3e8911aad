import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { isObject } from '../backend/json.js';
import { RestError } from '../errors.js';
import { unsafePathReason } from '../http/path-safety.js';
import { RecordHeaders } from '../http/record-headers.js';
import { REQUEST_ID_HEADER } from '../http/request-id.js';
import { nestsTooDeep, tooDeep, tooLarge } from '../http/request-body.js';

/** The body limit when none is given: 1 MiB, as the REST spec says. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Options of {@link toWebRequest}. */
export interface ToWebRequestOptions {
  /**
   * Largest request body accepted, in bytes; a larger one makes the body stream fail with
   * `RestError('payload_too_large')`.
   * @default 1048576 (1 MiB)
   */
  bodyLimit?: number;
  /**
   * Path and query to use instead of `req.url`, e.g. the path after an adapter's mount point.
   * @example '/conversations?limit=5'
   */
  url?: string;
  /**
   * A body a framework's parser already read from `req` (object, string or bytes). Used when the
   * stream has been consumed or when it holds something; an empty one (`{}`) over an unread
   * stream is a parser's placeholder, and the stream is read instead. When absent, `req.body` is
   * used if the stream has already been consumed.
   */
  body?: unknown;
  /** The request's id, as `X-Request-Id` of the web request (replacing what the client sent). */
  requestId?: string;
}

/** Methods the WHATWG `Request` constructor refuses; answering them is not our business. */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/** A Host header we are willing to put in a URL: a name or IPv4 or [IPv6], with a port. */
const SAFE_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * A Node request as a web `Request` that aborts when the client leaves. Throws a `RestError`:
 * 405 for CONNECT/TRACE; 400 for a raw path with dot segments, encoded separators or
 * backslashes, which the URL parser would otherwise resolve behind the host app's back.
 */
export function toWebRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: ToWebRequestOptions = {},
): Request {
  const parts = requestParts(req, res, options);
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  return new Request(parts.url, {
    method: parts.method,
    headers: parts.headers,
    body: parts.body === UNREAD ? nodeBodyStream(req, limit) : parts.body,
    signal: parts.signal,
    // A streamed body needs it; undici refuses a ReadableStream body without it.
    duplex: 'half',
  });
}

/** Marks a body still in `req`'s stream, unread. */
export const UNREAD = Symbol('unread');

/** What a web request of a Node request is made of: checked, with its body still unread. */
export interface RequestParts {
  method: string;
  url: string;
  headers: Headers;
  body: string | Uint8Array | URLSearchParams | null | typeof UNREAD;
  signal: AbortSignal;
}

/**
 * The parts of the web request for `req`, checked as {@link toWebRequest} documents (it throws
 * the same `RestError`s), for `toWebRequest` and the Node bridge's request view.
 */
export function requestParts(
  req: IncomingMessage,
  res: ServerResponse,
  options: ToWebRequestOptions,
): RequestParts {
  const method = (req.method ?? 'GET').toUpperCase();
  if (FORBIDDEN_METHODS.has(method)) {
    throw new RestError('method_not_allowed', `The method ${method} is not allowed.`);
  }
  // Express strips its mount path from `req.url` (and Express 4 folds `//`): the target as the
  // client sent it is `originalUrl` there. Both it and what the adapter hands us are checked.
  const original = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
  for (const target of [options.url, typeof original === 'string' ? original : req.url]) {
    const unsafe = target === undefined ? undefined : unsafePathReason(rawPath(target));
    if (unsafe !== undefined) throw new RestError('invalid_request', unsafe);
  }
  const headers = toHeaders(req);
  if (options.requestId !== undefined) headers.set(REQUEST_ID_HEADER, options.requestId);
  const body =
    method === 'GET' || method === 'HEAD' ? null : requestBody(req, headers, options.body);
  return {
    method,
    url: requestUrl(req, options.url),
    headers,
    body,
    signal: clientGoneSignal(req, res),
  };
}

/** The request's absolute URL: protocol and host from the request, path from `override` or `req.url`. */
function requestUrl(req: IncomingMessage, override: string | undefined): string {
  const forwarded = firstValue(req.headers['x-forwarded-proto'])?.toLowerCase();
  const protocol =
    (req.socket as Partial<TLSSocket>).encrypted === true
      ? 'https'
      : forwarded === 'https' || forwarded === 'http'
        ? forwarded
        : 'http';
  const host = req.headers.host ?? firstValue(req.headers[':authority']);
  // A hostile Host header must not turn into another URL (userinfo, path, spaces): fall back.
  const origin = `${protocol}://${host !== undefined && SAFE_HOST.test(host) ? host : 'localhost'}`;
  let path = override ?? req.url ?? '/';
  if (!path.startsWith('/')) {
    // Absolute-form request targets (`GET http://host/x`) and paths given without their slash.
    path = URL.canParse(path) ? pathAndQuery(new URL(path)) : `/${path}`;
  }
  // Concatenation, never `new URL(path, origin)`: a path like `//evil.example/x` must stay a path.
  return URL.canParse(origin + path) ? origin + path : `${origin}/`;
}

/** The raw path of a target, also of an absolute-form one (`http://host/path`), unparsed. */
function rawPath(target: string): string {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(.*)$/i.exec(target);
  return absolute === null ? target : (absolute[1] ?? '');
}

function pathAndQuery(url: URL): string {
  return url.pathname + url.search;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `req`'s headers as `Headers`, read from a copy of Node's record until someone needs them filled
 * (HTTP/2 pseudo-headers, `:path`…, are left out, as `Headers` refuses them).
 */
function toHeaders(req: IncomingMessage): Headers {
  return new RecordHeaders(req.headers);
}

/** A signal that aborts when the client leaves before the response is complete. */
function clientGoneSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const abort = (): void => {
    if (!controller.signal.aborted) controller.abort(clientGoneError());
  };
  // `close` also fires after a normal end; only an unfinished response means the client left.
  const onClose = (): void => {
    if (!res.writableFinished) abort();
  };
  if (res.closed) onClose();
  else res.once('close', onClose);
  req.once('aborted', abort);
  req.once('error', abort);
  return controller.signal;
}

function clientGoneError(): DOMException {
  return new DOMException('The client closed the connection.', 'AbortError');
}

/** The body to give the `Request`: a rebuilt pre-parsed body, none, or `req`'s stream, unread. */
function requestBody(
  req: IncomingMessage,
  headers: Headers,
  explicitBody: unknown,
): RequestParts['body'] {
  const parsed = parsedBody(req, explicitBody);
  if (parsed !== undefined) {
    // The parser decoded and possibly decompressed the body: its length and encoding are stale.
    headers.delete('content-length');
    headers.delete('content-encoding');
    headers.delete('transfer-encoding');
    return rebuildBody(parsed, headers);
  }
  // Someone read the stream and kept nothing we can see: there is no body left to give.
  if (req.readableEnded) return null;
  return UNREAD;
}

/**
 * The body a parser made of `req`, when it is the body: the adapter's `explicitBody`, else
 * `req.body`. Express 4's parsers and Koa's bodyparser set `{}` without reading a type they skip
 * (a form behind `express.json()`, `application/merge-patch+json`): only a consumed stream proves
 * the parsed body is the body, or, for the adapter's, that it holds something.
 */
function parsedBody(req: IncomingMessage, explicitBody: unknown): unknown {
  if (req.readableEnded) {
    return explicitBody !== undefined
      ? explicitBody
      : (req as IncomingMessage & { body?: unknown }).body;
  }
  return isEmptyBody(explicitBody) ? undefined : explicitBody;
}

/** True for no body or an empty one: `null`, `''`, no bytes, `{}`. */
function isEmptyBody(body: unknown): boolean {
  if (body === undefined || body === null || body === '') return true;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return body.byteLength === 0;
  return isObject(body) && Object.keys(body).length === 0;
}

function rebuildBody(body: unknown, headers: Headers): RequestParts['body'] {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  const type = headers.get('content-type')?.toLowerCase() ?? '';
  if (type.startsWith('application/x-www-form-urlencoded') && isObject(body)) {
    return toSearchParams(body);
  }
  // JSON is the only other shape a parser makes of an object; the core decides on the type.
  if (type === '') headers.set('content-type', 'application/json');
  // Re-serialising a body nested thousands deep would overflow the stack: refuse it as the
  // core refuses the same bytes (400), before recursing.
  if (nestsTooDeep(body)) throw tooDeep();
  return JSON.stringify(body);
}

function toSearchParams(body: Record<string, unknown>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) {
    // `qs`-style parsers turn `a=1&a=2` into an array; send it back as repeated fields.
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
      params.append(key, formValue(item));
    }
  }
  return params;
}

function formValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return value === null || value === undefined ? '' : JSON.stringify(value);
}

/** A pull-based stream of `req`'s body that fails with 413 once more than `limit` bytes came. */
export function nodeBodyStream(req: IncomingMessage, limit: number): ReadableStream<Uint8Array> {
  const declared = Number(req.headers['content-length']);
  // Not destroying `req` on early return: that would destroy the socket and with it the 413.
  let chunks: AsyncIterator<unknown> | undefined;
  let received = 0;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // Refuse an announced oversize body before reading a byte of it.
        if (declared > limit) controller.error(tooLarge(limit));
      },
      async pull(controller) {
        chunks ??= req.iterator({ destroyOnReturn: false });
        const next = await chunks.next();
        if (next.done === true) {
          controller.close();
          return;
        }
        const chunk = toBytes(next.value);
        received += chunk.byteLength;
        if (received > limit) {
          await chunks.return?.();
          controller.error(tooLarge(limit));
          return;
        }
        controller.enqueue(chunk);
      },
      async cancel() {
        await chunks?.return?.();
      },
    },
    // No read-ahead beyond Node's own buffer: bytes leave the socket only when the reader asks.
    { highWaterMark: 0 },
  );
}

export function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) {
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  // A stream with setEncoding() yields strings; give the bytes back.
  return new TextEncoder().encode(String(chunk));
}
