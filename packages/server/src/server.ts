import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  RestError,
  createAuthenticator,
  createHandler,
  createNodeFetch,
  resolveDialect,
  serveNode,
  type AuthOptions,
  type ChatGptRestOptions,
  type HeldToken,
  type Logger,
  type TokenPool,
  type UpstreamFetchInit,
  type WebHandler,
  bearerToken,
  rawRestError,
  sseErrorFrame,
  tokenPoolOf,
  writeRestError,
} from '@chatgpt-rest/core';
import type { DialectSetting } from './config.js';
import { createJsonLogger } from './logger.js';
import {
  DEFAULT_PASS_THROUGH_ALLOW,
  PASS_THROUGH_PREFIX,
  createPassThrough,
  wwwAuthenticate,
  type PassThrough,
  type RequestNote,
} from './pass-through.js';
import { checkRequestTarget } from './request-target.js';

/** Options of {@link createServer}. Only `upstream` is required. */
export interface SidecarOptions {
  /** Base URL of the ChatGPT backend (ending in `/backend-api`) or of a reverse proxy. */
  upstream: string;
  /** `legacy`, `web`, or `auto` (web for chatgpt.com, else legacy). @default 'auto' */
  dialect?: DialectSetting;
  /** Server-held tokens; none means passthrough mode (clients send their own token). */
  tokens?: HeldToken[];
  /** Client API keys (server-held mode). */
  apiKeys?: string[];
  /** Serve held tokens without API keys. @default false */
  allowOpen?: boolean;
  /** Messages waiting per held token. @default 8 */
  queueSize?: number;
  /** Longest wait of a queued message, in ms. @default 20000 */
  queueWait?: number;
  /** Forwarded backend calls; empty turns the pass-through off. @default DEFAULT_PASS_THROUGH_ALLOW */
  passThroughAllow?: readonly string[];
  /** A pino-compatible logger. @default JSON lines on stdout at level info */
  logger?: Logger;
  /** The `fetch` for upstream calls of the REST API and `/readyz`. @default the core's node:http transport */
  fetch?: typeof fetch;
  /** How long `/readyz` waits for the upstream, in ms. @default 2000 */
  readyTimeoutMs?: number;
  /**
   * How long `/readyz` reuses its upstream check, in ms (0: one upstream GET per call).
   * @default 5000
   */
  readyCacheMs?: number;
  /**
   * Largest upstream error body the pass-through reads whole in server-held mode (to learn
   * from 401/429 and to redact secrets), in bytes; a larger one is answered 502.
   * @default 65536
   */
  passThroughErrorBodyLimit?: number;
  /**
   * Longest time a client may take to send a request's headers (slowloris), in ms; then the
   * connection gets 408 and is closed.
   * @default 20000
   */
  headersTimeoutMs?: number;
  /**
   * Longest time a client may take to send a whole request, headers and body (a slow body),
   * in ms. Responses, streams included, are not limited by it.
   * @default 60000
   */
  requestTimeoutMs?: number;
  /** Further core options (timeouts, cache, limits…). */
  core?: Omit<ChatGptRestOptions, 'upstream' | 'dialect' | 'auth' | 'logger' | 'fetch'>;
  /** Where {@link Sidecar.listen} binds. @default 8000 and '127.0.0.1' */
  port?: number;
  host?: string;
}

/** A sidecar server: the REST API, the pass-through, health and readiness, graceful close. */
export interface Sidecar {
  /** The `node:http` server. */
  readonly server: Server;
  /** The held tokens' pool (server-held mode only). */
  readonly pool: TokenPool | undefined;
  /** The `/backend-api` pass-through (undefined when it is off). */
  readonly passThrough: PassThrough | undefined;
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:8000`. */
  listen(): Promise<string>;
  /**
   * Stops accepting, lets running requests finish for up to `deadlineMs`, then ends live streams
   * with an `error` event, aborts their upstream requests and closes every connection.
   */
  close(deadlineMs?: number): Promise<void>;
}

/** The message of the `error` event that ends streams at shutdown. */
export const SHUTDOWN_MESSAGE = 'server shutting down';

const SHUTDOWN_FRAME = new TextEncoder().encode(
  sseErrorFrame(new RestError('upstream_unavailable', SHUTDOWN_MESSAGE)),
);
const STOP = Symbol('stop');

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** True when the request carries one of `apiKeys` (compared in constant time, every key tried). */
function hasApiKey(req: IncomingMessage, apiKeys: readonly string[]): boolean {
  const header = req.headers['x-api-key'];
  const given =
    typeof header === 'string' && header.trim() !== ''
      ? header.trim()
      : bearerToken(req.headers.authorization);
  if (given === undefined) return false;
  const digest = sha256(given);
  let ok = false;
  for (const key of apiKeys) ok = timingSafeEqual(sha256(key), digest) || ok;
  return ok;
}

/** A 401 of the core without `WWW-Authenticate` gets one (RFC 9110 §11.6.1), by its code. */
async function withChallenge(response: Response): Promise<Response> {
  if (response.status !== 401 || response.headers.has('www-authenticate')) return response;
  const text = await response.text();
  let code: unknown;
  try {
    code = (JSON.parse(text) as { code?: unknown }).code;
  } catch {
    code = undefined;
  }
  const headers = new Headers(response.headers);
  headers.set('www-authenticate', wwwAuthenticate(code));
  return new Response(text, { status: 401, headers });
}

/** What `/readyz` learnt from the upstream. */
interface UpstreamCheck {
  reachable: boolean;
  status?: number;
}

/**
 * A REST event stream that can be ended from outside: on `stop` the original body is cancelled
 * (which aborts the upstream request) and an `error` event closes the stream.
 */
function interruptible(
  body: ReadableStream<Uint8Array>,
  stoppers: Set<() => void>,
  abortRequest: (reason: RestError) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let wake: () => void = () => undefined;
  const stopped = new Promise<typeof STOP>((resolve) => {
    wake = () => resolve(STOP);
  });
  stoppers.add(wake);
  const forget = (): void => {
    stoppers.delete(wake);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const result = await Promise.race([reader.read(), stopped]);
          if (result === STOP) {
            forget();
            // The core writes whole events, so the error comes after a complete one.
            controller.enqueue(SHUTDOWN_FRAME);
            controller.close();
            const reason = new RestError('upstream_unavailable', SHUTDOWN_MESSAGE);
            // The request's own signal aborts first: the core then takes the abort it sees for
            // what it is (intended), not for an internal error to log.
            abortRequest(reason);
            await reader.cancel(reason);
            return;
          }
          if (result.done) {
            forget();
            controller.close();
            return;
          }
          controller.enqueue(result.value);
        } catch (error) {
          forget();
          controller.error(error);
        }
      },
      async cancel(reason) {
        forget();
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Creates the sidecar (not yet listening): see {@link SidecarOptions}. */
export function createServer(options: SidecarOptions): Sidecar {
  const logger = options.logger ?? createJsonLogger();
  const upstream = options.upstream.replace(/\/+$/, '');
  const dialect = resolveDialect(options.dialect ?? 'auto', upstream);
  const { timeouts, limits } = options.core ?? {};
  const baseFetch =
    options.fetch ??
    createNodeFetch({
      connectTimeout: timeouts?.connect ?? 10_000,
      ...(timeouts?.idle === undefined ? {} : { idleTimeout: timeouts.idle }),
      ...(limits?.upstreamBody === undefined ? {} : { maxBodyBytes: limits.upstreamBody }),
    });
  const tokens = options.tokens ?? [];
  const held: AuthOptions | undefined =
    tokens.length === 0
      ? undefined
      : {
          mode: 'server',
          tokens,
          apiKeys: options.apiKeys ?? [],
          allowOpen: options.allowOpen ?? false,
          queue: { size: options.queueSize, waitMs: options.queueWait },
        };
  // One pool for the REST API and the pass-through, so both count the same load.
  const pool = held === undefined ? undefined : tokenPoolOf(held, logger);
  const auth: AuthOptions =
    held === undefined || pool === undefined ? { mode: 'passthrough' } : { ...held, pool };
  const notes = new AsyncLocalStorage<RequestNote>();

  // The innermost fetch: tells the request log which token label and upstream status it saw.
  const observingFetch = async (
    input: Parameters<typeof fetch>[0],
    init?: UpstreamFetchInit,
  ): Promise<Response> => {
    const note = notes.getStore();
    if (note !== undefined && init?.label !== undefined) note.principal = init.label;
    const response = await baseFetch(input, init);
    if (note !== undefined) note.upstreamStatus = response.status;
    return response;
  };

  const handler = createHandler({
    ...options.core,
    upstream,
    dialect,
    auth,
    fetch: observingFetch,
    // The sidecar writes one line per request; the core's per-failure line would be a second.
    logger: { ...logger, info: (obj, msg) => logger.debug(obj, msg) },
  });
  const authenticate = createAuthenticator(auth, pool);
  const allow = options.passThroughAllow ?? DEFAULT_PASS_THROUGH_ALLOW;
  const passThrough =
    allow.length === 0
      ? undefined
      : createPassThrough({
          upstream,
          authenticate,
          pool,
          allow,
          bodyLimit: handler.options.limits.body,
          timeoutMs: handler.options.timeouts.idle,
          heldTokens: tokens.map((held) => held.token),
          errorBodyLimit: options.passThroughErrorBodyLimit,
        });

  const restStreams = new Set<() => void>();
  const served: WebHandler = async (request) => {
    // Shutdown aborts a stream through its request's signal, as a client that leaves would.
    const stopper = new AbortController();
    const abortRequest = (): void => stopper.abort(request.signal.reason);
    if (request.signal.aborted) abortRequest();
    else request.signal.addEventListener('abort', abortRequest, { once: true });
    const response = await withChallenge(
      await handler(new Request(request, { signal: stopper.signal })),
    );
    const type = response.headers.get('content-type') ?? '';
    if (response.body === null || !type.startsWith('text/event-stream')) return response;
    const stop = (reason: RestError): void => stopper.abort(reason);
    return new Response(interruptible(response.body, restStreams, stop), {
      status: response.status,
      headers: response.headers,
    });
  };

  const readyTimeoutMs = options.readyTimeoutMs ?? 2000;
  const readyCacheMs = options.readyCacheMs ?? 5000;
  let lastCheck: { at: number; result: Promise<UpstreamCheck> } | undefined;

  async function checkUpstream(): Promise<UpstreamCheck> {
    try {
      // Any HTTP answer proves the upstream is reachable; no token is sent for it.
      const response = await baseFetch(`${upstream}/`, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(readyTimeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      return { reachable: true, status: response.status };
    } catch {
      return { reachable: false };
    }
  }

  /** The upstream check, shared by every call within `readyCacheMs` (a running one included). */
  function upstreamCheck(): Promise<UpstreamCheck> {
    const now = performance.now();
    if (lastCheck === undefined || now - lastCheck.at >= readyCacheMs) {
      lastCheck = { at: now, result: checkUpstream() };
    }
    return lastCheck.result;
  }

  /** Ready or not for anyone; labels, states and load only for a caller with an API key. */
  async function readiness(
    details: boolean,
  ): Promise<{ ready: boolean; body: Record<string, unknown> }> {
    const check = await upstreamCheck();
    const ready = check.reachable && (pool === undefined || pool.usable);
    const status = ready ? 'ready' : 'not_ready';
    if (!details) return { ready, body: { status } };
    return {
      ready,
      body: {
        status,
        upstream: check,
        ...(pool === undefined
          ? { auth: 'passthrough' }
          : { auth: 'server', tokens: pool.status() }),
      },
    };
  }
  const apiKeys = pool === undefined ? [] : (options.apiKeys ?? []);

  const active = new Set<ServerResponse>();
  let closing = false;
  let idle: (() => void) | undefined;
  const defaultPrincipal = pool === undefined ? 'passthrough' : '-';

  /** The route template for logs (`/conversations/:id/ask`): the core's router says it. */
  function route(path: string): string {
    const template = handler.routeOf(path);
    return template === undefined ? '(unmatched)' : handler.options.prefix + template;
  }

  const server = createHttpServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 20_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      // How often Node looks for requests past those limits (its default is 30 s).
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      const started = performance.now();
      const note: RequestNote = { principal: defaultPrincipal };
      active.add(res);
      res.once('close', () => {
        active.delete(res);
        if (closing && active.size === 0) idle?.();
        logger.info(
          {
            method: req.method,
            route: note.route ?? '(unmatched)',
            status: res.statusCode,
            durationMs: Math.round(performance.now() - started),
            principal: note.principal,
            upstreamStatus: note.upstreamStatus ?? null,
            ...(res.writableFinished ? {} : { aborted: true }),
          },
          'request',
        );
      });
      if (closing) {
        note.route = '(shutting down)';
        writeRestError(res, new RestError('upstream_unavailable', SHUTDOWN_MESSAGE), {
          close: true,
        });
        return;
      }
      const target = checkRequestTarget(req.url);
      if ('refused' in target) {
        note.route = '(invalid target)';
        writeRestError(res, new RestError('invalid_request', target.refused), { close: true });
        return;
      }
      if (target.path === '/healthz') {
        note.route = '/healthz';
        sendJson(res, 200, { status: 'ok' });
        return;
      }
      if (target.path === '/readyz') {
        note.route = '/readyz';
        const details = hasApiKey(req, apiKeys);
        void readiness(details).then(({ ready, body }) => sendJson(res, ready ? 200 : 503, body));
        return;
      }
      if (
        target.path === PASS_THROUGH_PREFIX ||
        target.path.startsWith(`${PASS_THROUGH_PREFIX}/`)
      ) {
        if (passThrough === undefined) {
          note.route = `${PASS_THROUGH_PREFIX}/*`;
          writeRestError(res, new RestError('not_found', 'The pass-through is off.'), {
            close: false,
          });
          return;
        }
        passThrough.handle(req, res, target, note);
        return;
      }
      note.route = route(target.path);
      void notes.run(note, () =>
        serveNode(served, req, res, {
          bodyLimit: handler.options.limits.body,
          onError: (error) =>
            logger.error(
              { route: note.route, err: error instanceof Error ? error.name : 'unknown' },
              'request failed inside the server',
            ),
        }),
      );
    },
  );
  server.on('clientError', (error: Error & { code?: string }, socket) => {
    if (socket.writable) {
      // A request that took longer than headersTimeoutMs/requestTimeoutMs to arrive: 408.
      const late = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const message = late
        ? 'The request took too long to arrive.'
        : 'The request could not be parsed.';
      socket.end(rawRestError(new RestError('invalid_request', message), late ? 408 : 400));
    } else {
      socket.destroy();
    }
  });

  let closed: Promise<void> | undefined;
  async function shutdown(deadlineMs: number): Promise<void> {
    closing = true;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const drained = new Promise<void>((resolve) => {
      idle = resolve;
      if (active.size === 0) resolve();
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
    if (active.size > 0) {
      logger.warn({ open: active.size }, 'shutdown deadline reached: ending live streams');
      for (const stop of [...restStreams]) stop();
      passThrough?.stopStreams(SHUTDOWN_MESSAGE);
      // A stream gets a moment to write its error event; anything still open is cut.
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 1000);
      });
      await Promise.race([drained, grace]);
      clearTimeout(timer);
      for (const res of active) res.destroy();
    }
    server.closeAllConnections();
    passThrough?.close();
    await serverClosed;
  }

  return {
    server,
    pool,
    passThrough,
    async listen() {
      server.listen(options.port ?? 8000, options.host ?? '127.0.0.1');
      await once(server, 'listening');
      const address = server.address() as AddressInfo;
      const host = address.address.includes(':') ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    close(deadlineMs = 10_000) {
      closed ??= shutdown(deadlineMs);
      return closed;
    },
  };
}
