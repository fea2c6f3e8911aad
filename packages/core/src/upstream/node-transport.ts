import http from 'node:http';
import https from 'node:https';
import { ChunksResponse, WholeResponse } from '../http/whole-response.js';
import { RecordHeaders } from '../http/record-headers.js';
import { isReleased, markGuarded, nodeBodyChunks, type StreamGuard } from './node-stream-body.js';
import { Targets } from './request-targets.js';

/** Options of {@link createNodeFetch}. */
export interface NodeFetchOptions {
  /** Milliseconds to wait for a connection (TCP and TLS) before failing with `ETIMEDOUT`. */
  connectTimeout: number;
  /**
   * Largest body that is read whole (anything but an event stream), in bytes; a longer one
   * fails with `EUPSTREAMBODYTOOLARGE` as soon as it passes the cap, before it is all in memory.
   * @default 16777216 (16 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Longest silence while a whole body is read, in ms; then it fails with `EUPSTREAMIDLE`.
   * @default 60000
   */
  idleTimeout?: number;
}

/**
 * The non-standard `init` fields the core's upstream client passes; other `fetch`
 * implementations ignore them.
 */
export interface UpstreamFetchInit extends RequestInit {
  /** Called once the response headers are in, before a whole body is read (its headers timeout stops there). */
  onResponseHeaders?: () => void;
  /**
   * Longest wait for the response headers, in ms, from the call; then the request is destroyed
   * and the call fails with `EUPSTREAMHEADERSTIMEOUT`.
   */
  headersTimeout?: number;
  /**
   * Who the call acts as, for a host's request log: the held token's label, or `passthrough`;
   * never the token (which is in `Authorization`).
   */
  label?: string;
  /** The host's object for the request this call is made for (see `http/request-tag.ts`). */
  tag?: object;
  /**
   * Guards an event-stream body (idle timeout, broken connection) with the caller's errors; the
   * response is then marked (`isGuardedBody`) so the caller adds no guard of its own.
   */
  streamGuard?: StreamGuard;
}

type FetchInput = Parameters<typeof fetch>[0];

/** Statuses whose response has no body by definition (the `Response` constructor refuses one). */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/** The error codes this transport gives its failures (in `cause.code`, as undici does). */
export const TRANSPORT_ERRORS = {
  badStatus: 'EUPSTREAMSTATUS',
  tooLarge: 'EUPSTREAMBODYTOOLARGE',
  idle: 'EUPSTREAMIDLE',
  headersTimeout: 'EUPSTREAMHEADERSTIMEOUT',
} as const;

/** Marks the functions {@link createNodeFetch} makes. */
const NODE_FETCH = Symbol('chatgpt-rest node fetch');

/** True when `fetch` is the built-in transport (it honours every {@link UpstreamFetchInit} field). */
export function isNodeFetch(fetch: unknown): boolean {
  return typeof fetch === 'function' && NODE_FETCH in fetch;
}

/**
 * `wrapper` marked as honouring what `inner` honours, for a wrapper that hands each call's `init`
 * to `inner` unchanged and at once (one that observes calls, say; a wrapper that waits first, a
 * rate limiter, would wait outside the headers timeout): when `inner` is the built-in transport, the
 * core then lets the transport time and guard each call ({@link UpstreamFetchInit}'s
 * `headersTimeout`, `streamGuard`) instead of giving the call an abort signal of its own.
 */
export function forwardingFetch<F extends object>(inner: unknown, wrapper: F): F {
  return isNodeFetch(inner) ? Object.assign(wrapper, { [NODE_FETCH]: true }) : wrapper;
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The request headers as Node takes them: a plain record is copied as is, names lowercased. */
function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const record: Record<string, string> = {};
  if (isPlainRecord(headers)) {
    // Trimmed as `Headers` trims (a token read from a file may end in a newline); Node checks
    // each name and value itself (a bad one rejects the call).
    for (const name of Object.keys(headers)) {
      record[name.toLowerCase()] = String(headers[name]).replace(HTTP_WHITESPACE_ENDS, '');
    }
    return record;
  }
  new Headers(headers).forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

/** Leading and trailing HTTP whitespace, which `Headers` strips from a value. */
const HTTP_WHITESPACE_ENDS = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function isPlainRecord(headers: RequestInit['headers']): headers is Record<string, string> {
  return (
    typeof headers === 'object' &&
    !Array.isArray(headers) &&
    Object.getPrototypeOf(headers) === Object.prototype
  );
}

/**
 * A lazy response's init: the upstream's headers as they came, looked up in their record until
 * someone needs a filled `Headers` (see `RecordHeaders`, which copies them).
 */
function headedInit(status: number, res: http.IncomingMessage): ResponseInit {
  return { status, headers: new RecordHeaders(res.headers) };
}

/** Limits of a whole-body read. */
interface ReadLimits {
  maxBytes: number;
  idleMs: number;
}

/**
 * Reads a whole (short) body with Node's own buffers, far cheaper than a web stream, within
 * `maxBytes` and never silent for more than `idleMs`; past either, the response is destroyed.
 * The idle timer is set only for a body still incomplete once the socket's bytes at hand are
 * parsed: a short answer usually comes whole with its headers, and then it needs none.
 */
function readWhole(res: http.IncomingMessage, limits: ReadLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
      res.destroy();
    };
    const idle = (): void =>
      fail(coded(`no body bytes for ${limits.idleMs} ms`, TRANSPORT_ERRORS.idle));
    // Called from the `response` event, within the parse of the bytes that brought the head:
    // after it, `complete` says whether the rest of the body came with them.
    process.nextTick(() => {
      if (!settled && !res.complete) timer = setTimeout(idle, limits.idleMs);
    });
    res.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limits.maxBytes) {
        fail(coded(`body over ${limits.maxBytes} bytes`, TRANSPORT_ERRORS.tooLarge));
        return;
      }
      chunks.push(chunk);
      timer?.refresh();
    });
    res.once('end', () => {
      settled = true;
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    res.on('error', (error) => fail(error));
    // `close` before `end`: the connection broke mid-body.
    res.once('close', () => {
      if (!settled) fail(coded('terminated', 'ECONNRESET'));
    });
  });
}

function abortError(signal: AbortSignal): DOMException {
  return new DOMException('The operation was aborted.', {
    name: 'AbortError',
    cause: signal.reason,
  });
}

/**
 * Fails `request` with `ETIMEDOUT` when its new connection is not up within `ms`. Its listeners
 * leave the socket once it connects: a kept-alive socket outlives the call that opened it, and a
 * listener left on it would keep that call (its promise, its whole response) in memory.
 */
function limitConnect(request: http.ClientRequest, ms: number): void {
  request.once('socket', (socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => request.destroy(coded('connect timeout', 'ETIMEDOUT')), ms);
    const done = (): void => {
      clearTimeout(timer);
      socket.off('connect', done);
      socket.off('close', done);
    };
    socket.once('connect', done);
    socket.once('close', done);
  });
}

/**
 * Watches `request` for its call, one listener per event; the returned function marks the
 * answer in (call it first thing on `response`).
 * - Before the answer: the call is rejected when the request fails (a 101 upgrade included) or,
 *   with `headersMs`, its headers are not in within that (`EUPSTREAMHEADERSTIMEOUT`).
 * - Until the request is over: `signal` aborting destroys it. Not Node's own `signal` option: it
 *   stays bound to the request past its end, and destroying a request whose response is complete
 *   destroys the keep-alive socket that may already serve another call (or emit an `error`
 *   nobody listens to). Before the response the call fails with an `AbortError`; after, the body
 *   breaks off, unless its reader is done with it and only its tail is drained for the
 *   connection's sake.
 * The listeners live as long as the request (a stream's whole life), so they live in a scope of
 * their own: in the call's, they would keep its `init` (body, headers) for as long.
 */
function watchCall(
  request: http.ClientRequest,
  signal: AbortSignal | undefined,
  headersMs: number | undefined,
  reject: (error: unknown) => void,
): () => void {
  // Dropped once answered: `reject` would keep the call's promise and so its response.
  let fail: ((error: unknown) => void) | undefined = reject;
  let timer =
    headersMs === undefined
      ? undefined
      : setTimeout(() => {
          const late = coded(
            `no response headers in ${headersMs} ms`,
            TRANSPORT_ERRORS.headersTimeout,
          );
          request.destroy(late);
        }, headersMs);
  const answered = (): void => {
    fail = undefined;
    clearTimeout(timer);
    timer = undefined;
  };
  const onAbort =
    signal === undefined
      ? undefined
      : (): void => {
          const res = (request as http.ClientRequest & { res?: http.IncomingMessage | null }).res;
          if (res === undefined || res === null) request.destroy(abortError(signal));
          else if (!res.complete && !isReleased(res)) request.destroy();
        };
  if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, { once: true });
  // `on`, not `once`: a second error event without a listener would crash the process. Once the
  // answer is in, its body reports failures, and a later request error (the socket destroyed
  // past a cap) is not the promise's any more.
  request.on('error', (error) => fail?.(fetchFailed(error)));
  // A 101 answer to a request that asked for no upgrade: Node hands over the socket.
  request.on('upgrade', (_res, socket: { destroy(): void }) => {
    socket.destroy();
    fail?.(fetchFailed(coded('upstream status 101', TRANSPORT_ERRORS.badStatus)));
  });
  request.on('close', () => {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  });
  return answered;
}

/** A status a `Response` can carry: 200–599 (1xx never reach a `response` event but 101). */
function isRelayableStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 200 && status <= 599;
}

/** Builds the `Response` for `res`, reading a non-stream body whole. Never throws: rejects. */
async function toResponse(
  res: http.IncomingMessage,
  method: string,
  limits: ReadLimits,
  guard: StreamGuard | undefined,
): Promise<Response> {
  const status = res.statusCode ?? 0;
  if (!isRelayableStatus(status)) {
    res.destroy();
    throw coded(`upstream status ${status} is not a final HTTP status`, TRANSPORT_ERRORS.badStatus);
  }
  if (NULL_BODY_STATUSES.has(status) || method === 'HEAD') {
    // A body after 204/205/304 is a protocol error of the upstream; it is never read.
    res.resume();
    return new Response(null, headedInit(status, res));
  }
  if ((res.headers['content-type'] ?? '').includes('event-stream')) {
    // Read by the core as chunks; a web body is made only if someone asks for `body`.
    const response = new ChunksResponse(nodeBodyChunks(res, guard), headedInit(status, res));
    return guard === undefined ? response : markGuarded(response);
  }
  // Read whole already: no web stream is built for it unless a reader asks (see WholeResponse).
  return new WholeResponse(await readWhole(res, limits), headedInit(status, res));
}

/**
 * A `fetch` on `node:http`/`node:https` with keep-alive agents and a connect timeout: the core's
 * default upstream transport. Measured on this project's benchmarks it costs about half the CPU
 * of the global `fetch` per request. Event streams stay streams with back-pressure, read straight
 * from Node's response (guarded as `init.streamGuard` asks); other bodies
 * (JSON answers, error pages) are read whole, within a size cap and an idle timeout. A status
 * outside 200–599 (or a 101 upgrade) rejects with `EUPSTREAMSTATUS`: nothing the upstream sends
 * can throw outside the returned promise. Aborting `init.signal` destroys the request. Only what
 * the upstream client uses is supported: string bodies, no redirects, no compression.
 */
export function createNodeFetch(options: NodeFetchOptions): typeof fetch {
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({ keepAlive: true });
  const limits: ReadLimits = {
    maxBytes: options.maxBodyBytes ?? 16 * 1024 * 1024,
    idleMs: options.idleTimeout ?? 60_000,
  };
  const targets = new Targets();
  const nodeFetch = (input: FetchInput, init: UpstreamFetchInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const target = targets.of(input instanceof Request ? input.url : String(input));
      const agent =
        target.protocol === 'http:'
          ? httpAgent
          : target.protocol === 'https:'
            ? httpsAgent
            : undefined;
      if (agent === undefined) {
        reject(new TypeError(`Unsupported protocol ${target.protocol}`));
        return;
      }
      const method = init.method ?? 'GET';
      const signal = init.signal ?? undefined;
      if (signal?.aborted === true) {
        reject(abortError(signal));
        return;
      }
      const { protocol, hostname, port, auth, path } = target;
      const request = (protocol === 'https:' ? https : http).request({
        protocol,
        hostname,
        port,
        auth,
        path,
        method,
        headers: headerRecord(init.headers),
        agent,
      });
      limitConnect(request, options.connectTimeout);
      const answered = watchCall(request, signal, init.headersTimeout, reject);
      // `once`: this listener holds the call (its promise, so its response) while it is attached.
      request.once('response', (res) => {
        answered();
        try {
          init.onResponseHeaders?.();
        } catch {
          // The caller's hook is a notification; its failure is not the response's.
        }
        toResponse(res, method, limits, init.streamGuard).then(resolve, (error: unknown) =>
          reject(fetchFailed(error)),
        );
      });
      request.end(typeof init.body === 'string' ? init.body : undefined);
    });
  return Object.assign(nodeFetch, { [NODE_FETCH]: true });
}
