/**
 * The sidecar: wiring (upstream transport, held tokens, the core's handler, the pass-through),
 * the request listener (request log, dispatch), and listen/close. Readiness and shutdown live
 * in readiness.ts and shutdown.ts.
 */
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import {
  RestError,
  createAuthenticator,
  createKeyCheck,
  createHandler,
  createNodeFetch,
  forwardingFetch,
  MemoryStore,
  nodeRequestId,
  rawRestError,
  resolveDialect,
  serveNode,
  tokenPoolOf,
  writeRestError,
  type AuthOptions,
  type ChatGptHandler,
  type Logger,
  type SharedStore,
  type TokenPool,
  type UpstreamFetchInit,
  type WebHandler,
} from '@chatgpt-rest/core';
import { coreLogger, createJsonLogger } from './logger.js';
import { createMetricsEndpoint, type MetricsEndpoint } from './metrics-endpoint.js';
import {
  DEFAULT_PASS_THROUGH_ALLOW,
  PASS_THROUGH_PREFIX,
  createPassThrough,
  type PassThrough,
  type RequestNote,
} from './pass-through.js';
import { createReadiness, type Readiness, type ReadinessOptions } from './readiness.js';
import { replaceSecrets } from './reload.js';
import { checkRequestTarget } from './request-target.js';
import type { Sidecar, SidecarOptions } from './sidecar-options.js';
import { ActiveResponses, SHUTDOWN_MESSAGE, StreamStoppers, shutdown } from './shutdown.js';
import { stoppable } from './stoppable-handler.js';
import { sidecarPages, type WebPages } from './web-pages.js';

export { SHUTDOWN_MESSAGE } from './shutdown.js';
export type { Sidecar, SidecarOptions } from './sidecar-options.js';

/** The upstream transport: the one given, else the core's node:http transport with the core's limits. */
function upstreamFetch(options: SidecarOptions): typeof fetch {
  const { timeouts, limits } = options.core ?? {};
  return (
    options.fetch ??
    createNodeFetch({
      connectTimeout: timeouts?.connect ?? 10_000,
      ...(timeouts?.idle === undefined ? {} : { idleTimeout: timeouts.idle }),
      ...(limits?.upstreamBody === undefined ? {} : { maxBodyBytes: limits.upstreamBody }),
    })
  );
}

/** The auth mode and its pool: one pool for the REST API and the pass-through (same load). */
function sidecarAuth(
  options: SidecarOptions,
  logger: Logger,
  store: SharedStore,
): { auth: AuthOptions; pool: TokenPool | undefined } {
  const tokens = options.tokens ?? [];
  if (tokens.length === 0) return { auth: { mode: 'passthrough' }, pool: undefined };
  const held: AuthOptions = {
    mode: 'server',
    tokens,
    apiKeys: options.apiKeys ?? [],
    allowOpen: options.allowOpen ?? false,
    queue: { size: options.queueSize, waitMs: options.queueWait },
  };
  const pool = tokenPoolOf(held, logger, store.tokens);
  return { auth: { ...held, pool }, pool };
}

/**
 * The innermost fetch: tells the request log which token label and upstream status it saw. The
 * log entry comes as the call's `tag` (the Node bridge hands it through the core), not from an
 * AsyncLocalStorage, which on Node 20 and 22 hooks every promise of the process.
 */
function observingFetch(
  inner: typeof fetch,
): (input: Parameters<typeof fetch>[0], init?: UpstreamFetchInit) => Promise<Response> {
  return async (input, init) => {
    const note = init?.tag as RequestNote | undefined;
    if (note !== undefined && init?.label !== undefined) note.principal = init.label;
    const response = await inner(input, init);
    if (note !== undefined) note.upstreamStatus = response.status;
    return response;
  };
}

/** A request Node could not parse, or that took too long to arrive: 400 or 408, then close. */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // A request that took longer than headersTimeoutMs/requestTimeoutMs to arrive: 408.
  const late = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const message = late
    ? 'The request took too long to arrive.'
    : 'The request could not be parsed.';
  socket.end(rawRestError(new RestError('invalid_request', message), late ? 408 : 400));
}

/** What the request listener serves with. */
interface Parts {
  handler: ChatGptHandler;
  served: WebHandler;
  passThrough: PassThrough | undefined;
  /** Swagger UI and the static folder, where no route answers. */
  pages: WebPages;
  readiness: Readiness;
  logger: Logger;
  active: ActiveResponses;
  closing: () => boolean;
  /** The principal logged before (or without) an upstream call. */
  principal: string;
}

/** Writes the request log line once `res` closes. */
function logWhenClosed(
  parts: Parts,
  req: IncomingMessage,
  res: ServerResponse,
  note: RequestNote,
): void {
  const started = performance.now();
  res.once('close', () => {
    parts.logger.info(
      {
        requestId: note.requestId,
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
}

/** Serves one request: shutdown refusal, target check, health, pass-through, else the REST API. */
function dispatch(
  parts: Parts,
  req: IncomingMessage,
  res: ServerResponse,
  note: RequestNote,
): void {
  if (parts.closing()) {
    note.route = '(shutting down)';
    writeRestError(res, new RestError('upstream_unavailable', SHUTDOWN_MESSAGE), { close: true });
    return;
  }
  const target = checkRequestTarget(req.url);
  if ('refused' in target) {
    note.route = '(invalid target)';
    writeRestError(res, new RestError('invalid_request', target.refused), { close: true });
    return;
  }
  if (target.path === '/healthz' || target.path === '/readyz') {
    note.route = target.path;
    if (target.path === '/healthz') parts.readiness.health(res);
    else parts.readiness.ready(req, res);
    return;
  }
  if (target.path === PASS_THROUGH_PREFIX || target.path.startsWith(`${PASS_THROUGH_PREFIX}/`)) {
    if (parts.passThrough !== undefined) {
      parts.passThrough.handle(req, res, target, note);
      return;
    }
    note.route = `${PASS_THROUGH_PREFIX}/*`;
    writeRestError(res, new RestError('not_found', 'The pass-through is off.'), { close: false });
    return;
  }
  const { handler, logger } = parts;
  // The route template for logs (`/conversations/:id/ask`): the core's router says it.
  const template = handler.routeOf(target.path);
  if (template === undefined && parts.pages(req, res, target.path)) {
    note.route = '(page)';
    return;
  }
  note.route = template === undefined ? '(unmatched)' : handler.options.prefix + template;
  void serveNode(parts.served, req, res, {
    bodyLimit: handler.options.limits.body,
    requestId: note.requestId,
    tag: note,
    onError: (error) =>
      logger.error(
        {
          requestId: note.requestId,
          route: note.route,
          err: error instanceof Error ? error.name : 'unknown',
        },
        'request failed inside the server',
      ),
  });
}

/**
 * The request listener: gives the request its id (the client's valid `X-Request-Id`, else a new
 * one; on every answer, and the one the core uses), counts the response, logs it once closed,
 * dispatches it.
 */
function requestListener(parts: Parts): RequestListener {
  return (req, res) => {
    const note: RequestNote = { principal: parts.principal, requestId: nodeRequestId(req, res) };
    parts.active.add(res);
    logWhenClosed(parts, req, res, note);
    dispatch(parts, req, res, note);
  };
}

/** The node:http server, with the slow-client limits and the answer to unparsable requests. */
function httpServer(options: SidecarOptions, listener: RequestListener): Server {
  const server = createHttpServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 20_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      // How often Node looks for requests past those limits (its default is 30 s).
      connectionsCheckingInterval: 1000,
    },
    listener,
  );
  server.on('clientError', answerClientError);
  return server;
}

/** `/healthz` and `/readyz` of the sidecar's upstream, pool and store. */
function sidecarReadiness(
  options: SidecarOptions,
  parts: Pick<ReadinessOptions, 'upstream' | 'fetch' | 'pool' | 'store'>,
): Readiness {
  return createReadiness({
    ...parts,
    apiKeys: parts.pool === undefined ? [] : (options.apiKeys ?? []),
    timeoutMs: options.readyTimeoutMs ?? 2000,
    cacheMs: options.readyCacheMs ?? 5000,
  });
}

/** Creates the sidecar (not yet listening): see {@link SidecarOptions}. */
export function createServer(options: SidecarOptions): Sidecar {
  const logger = options.logger ?? createJsonLogger();
  const upstream = options.upstream.replace(/\/+$/, '');
  const baseFetch = upstreamFetch(options);
  const store = options.store ?? new MemoryStore();
  const own = { ...options, apiKeys: [...(options.apiKeys ?? [])] }; // keys a reload replaces
  const { auth, pool } = sidecarAuth(own, logger, store);
  const metrics =
    options.metrics === undefined ? undefined : createMetricsEndpoint(options.metrics);
  const handler = createHandler({
    ...options.core,
    ...(metrics === undefined ? {} : { metrics: { registry: metrics.registry } }),
    upstream,
    dialect: resolveDialect(options.dialect ?? 'auto', upstream),
    auth,
    store,
    fetch: forwardingFetch(baseFetch, observingFetch(baseFetch)),
    logger: coreLogger(logger),
  });
  const allow = options.passThroughAllow ?? DEFAULT_PASS_THROUGH_ALLOW;
  const passThrough =
    allow.length === 0
      ? undefined
      : createPassThrough({
          upstream,
          authenticate: createAuthenticator(auth, pool),
          checkKey: createKeyCheck(auth),
          pool,
          allow,
          bodyLimit: handler.options.limits.body,
          timeoutMs: handler.options.timeouts.idle,
          heldTokens: () => pool?.heldTokens() ?? [],
          errorBodyLimit: options.passThroughErrorBodyLimit,
          logger,
        });
  const readiness = sidecarReadiness(own, { upstream, fetch: baseFetch, pool, store });
  const restStreams = new StreamStoppers();
  const active = new ActiveResponses();
  let closing = false;
  const listener = requestListener({
    handler,
    served: stoppable(handler, restStreams),
    passThrough,
    pages: sidecarPages(options, handler.options.prefix),
    readiness,
    logger,
    active,
    closing: () => closing,
    principal: pool === undefined ? 'passthrough' : '-',
  });
  const server = httpServer(options, listener);
  let closed: Promise<void> | undefined;
  return {
    server,
    pool,
    passThrough,
    metrics,
    listen: () => listen(server, options, metrics),
    replaceSecrets: (next) => replaceSecrets(pool, own.apiKeys, next, options.allowOpen ?? false),
    close(deadlineMs = 10_000) {
      closing = true;
      const stopped = shutdown({ server, active, restStreams, passThrough, logger }, deadlineMs);
      closed ??= stopped.then(() => metrics?.close());
      return closed;
    },
  };
}

/**
 * Starts listening, the metrics port first (a refused API port then leaves nothing bound
 * behind); resolves with the base URL.
 */
async function listen(
  server: Server,
  options: SidecarOptions,
  metrics: MetricsEndpoint | undefined,
): Promise<string> {
  await metrics?.listen();
  try {
    server.listen(options.port ?? 8000, options.host ?? '127.0.0.1');
    await once(server, 'listening');
  } catch (error) {
    await metrics?.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
