import type { ServerResponse } from 'node:http';
import { RestError } from '../errors.js';
import { headerPairs } from '../http/record-headers.js';
import { errorResponse } from '../http/responses.js';
import { directSse, type DirectSse } from '../http/sse-response.js';
import { unreadContent, type WholeContent } from '../http/whole-response.js';
import { drained, writeSse } from './sse-sinks.js';

/** Options of {@link writeWebResponse}. */
export interface WriteWebResponseOptions {
  /** Stops writing (the body is cancelled, `res` destroyed) when it aborts, e.g. on shutdown. */
  signal?: AbortSignal;
}

/** Bodies of known length up to this size are written in one piece. */
const WHOLE_BODY_LIMIT = 64 * 1024;

/** Statuses that never carry a body (RFC 9110). */
const BODILESS_STATUSES = new Set([204, 205, 304]);

/**
 * Writes a `Response` to `res` with back-pressure; a body failing mid-way destroys `res` and
 * rejects. An event stream's write is returned, not awaited: no frame of this function (nor its
 * `response`) stays alive for the stream's whole life.
 */
export async function writeWebResponse(
  res: ServerResponse,
  response: Response,
  options: WriteWebResponseOptions = {},
): Promise<void> {
  const whole = unreadContent(response);
  if (whole !== undefined) {
    writeWhole(res, response, whole, options.signal);
    return;
  }
  // Our own event streams are written straight to `res`; their web body is never made.
  const direct = directSse(response);
  if (direct !== undefined) return writeDirect(res, response, direct, options.signal);
  const body = response.body;
  if (res.destroyed || options.signal?.aborted === true) {
    // The client is gone: nobody will read the body, so let its source stop now.
    await body?.cancel().catch(ignore);
    if (!res.destroyed) res.destroy();
    return;
  }
  headOrCancel(res, response, () => body?.cancel().catch(ignore));
  if (body === null || res.req.method === 'HEAD' || BODILESS_STATUSES.has(response.status)) {
    await body?.cancel().catch(ignore);
    res.end();
    return;
  }
  // A stream of unknown length (SSE above all) must show its headers before the first event.
  const type = response.headers.get('content-type') ?? '';
  const length = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isNaN(length) || type.startsWith('text/event-stream')) {
    res.flushHeaders();
    await pump(body, res, options.signal);
  } else if (length <= WHOLE_BODY_LIMIT) {
    // A small body of known length: head and body leave in one socket write.
    let bytes: ArrayBuffer;
    try {
      bytes = await response.arrayBuffer();
    } catch (error) {
      res.destroy();
      throw error;
    }
    res.end(new Uint8Array(bytes));
  } else {
    await pump(body, res, options.signal);
  }
}

/**
 * Writes a body already whole in memory (our JSON answers, whatever their size) with its head:
 * one socket write, no web stream.
 */
function writeWhole(
  res: ServerResponse,
  response: Response,
  content: WholeContent,
  signal: AbortSignal | undefined,
): void {
  if (res.destroyed || signal?.aborted === true) {
    if (!res.destroyed) res.destroy();
    return;
  }
  headOrCancel(res, response, () => undefined);
  if (res.req.method === 'HEAD' || BODILESS_STATUSES.has(response.status)) res.end();
  else res.end(content);
}

/** Writes one of our event streams with its direct writer (see `directSse`). */
function writeDirect(
  res: ServerResponse,
  response: Response,
  direct: DirectSse,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (res.destroyed || signal?.aborted === true) {
    // The client is gone: nobody will read the stream, so let its source stop now.
    direct.cancel();
    if (!res.destroyed) res.destroy();
    return Promise.resolve();
  }
  headOrCancel(res, response, () => direct.cancel());
  if (res.req.method === 'HEAD' || BODILESS_STATUSES.has(response.status)) {
    direct.cancel();
    res.end();
    return Promise.resolve();
  }
  // The headers go before the first event.
  res.flushHeaders();
  return writeSse(res, direct, signal);
}

/**
 * Sets the head of `response` on `res`. A header Node refuses (a control character in a value)
 * throws: the body is cancelled, a 500 goes out in place of the answer (or the connection is cut
 * when a host middleware sent a head already) and the error is thrown on for the host to hear
 * of. Left unanswered, the client waited for ever.
 */
function headOrCancel(res: ServerResponse, response: Response, cancel: () => unknown): void {
  try {
    writeHead(res, response);
  } catch (error) {
    cancel();
    if (res.headersSent) {
      // A host middleware sent a head before ours: no answer can follow it, so cut it short.
      res.destroy();
      throw error;
    }
    for (const name of res.getHeaderNames()) if (name !== 'x-request-id') res.removeHeader(name);
    const failure = errorResponse(new RestError('internal_error', 'Internal error'));
    res.statusCode = failure.status;
    res.statusMessage = '';
    res.setHeader('content-type', failure.headers.get('content-type') ?? 'application/json');
    res.end(unreadContent(failure));
    throw error;
  }
}

function writeHead(res: ServerResponse, response: Response): void {
  res.statusCode = response.status;
  if (response.statusText !== '') res.statusMessage = response.statusText;
  setHeaders(res, response.headers);
  // Unread request bytes are still in the socket: rather than reading (maybe endless) bytes to
  // reach the next request, close it; a 413 means we refuse to read them.
  const unread = !res.req.readableEnded;
  if (unread && (res.req.readableDidRead || response.status === 413)) {
    res.setHeader('connection', 'close');
  }
}

/** Sets `headers` on `res`, set-cookie values one by one (`Headers` joins them with commas). */
function setHeaders(res: ServerResponse, headers: Headers): void {
  const cookies: string[] = [];
  for (const [name, value] of headerPairs(headers)) {
    if (name === 'set-cookie') cookies.push(value);
    else res.setHeader(name, value);
  }
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
}

async function pump(
  body: ReadableStream<Uint8Array>,
  res: ServerResponse,
  signal: AbortSignal | undefined,
): Promise<void> {
  const reader = body.getReader();
  // Cancelling the reader is what aborts an upstream fetch feeding this body.
  const stop = (): void => {
    reader.cancel().catch(ignore);
  };
  const onClose = (): void => {
    if (!res.writableFinished) stop();
  };
  const onAbort = (): void => {
    stop();
    res.destroy();
  };
  res.once('close', onClose);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await drained(res);
    }
    if (!res.destroyed) res.end();
  } catch (error) {
    // Ending would tell the client the body is complete; an abrupt close tells the truth.
    res.destroy();
    throw error;
  } finally {
    res.off('close', onClose);
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}

function ignore(): void {
  // The stream is being abandoned; a failure to cancel it changes nothing for anyone.
}
