/**
 * The hardened `/backend-api/*` reverse proxy: http-proxy-3 plus the checks and header rules it
 * lacks. The request side is in pass-through-rules.ts, the answer side in pass-through-relay.ts.
 */
import { Agent as HttpAgent, ServerResponse, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import {
  RestError,
  isRestError,
  isMessagePost,
  requestLogger,
  silentLogger,
  writeRestError,
  type Authenticator,
  type Logger,
  type TokenPool,
} from '@chatgpt-rest/core';
import { endToEndHeaders } from './hop-headers.js';
import {
  Buffering,
  refuse,
  respond,
  type Flight,
  type RelayContext,
  type RequestNote,
} from './pass-through-relay.js';
import {
  DEFAULT_PASS_THROUGH_ALLOW,
  callerSecret,
  clientGone,
  compileAllowlist,
  conversationIdOf,
  dropRequestHeader,
  errorForProxyFailure,
  leaseFor,
  matchRule,
  readBody,
  webHeaders,
  type AllowRule,
} from './pass-through-rules.js';
import { secretBytes } from './redact.js';
import type { RequestTarget } from './request-target.js';

export {
  DEFAULT_PASS_THROUGH_ALLOW,
  compileAllowlist,
  wwwAuthenticate,
} from './pass-through-rules.js';
export type { RequestNote } from './pass-through-relay.js';

/** Where the pass-through is mounted on the sidecar. */
export const PASS_THROUGH_PREFIX = '/backend-api';

/** Options of {@link createPassThrough}. */
export interface PassThroughOptions {
  /** The upstream base URL, ending in `/backend-api`; every request goes to its host. */
  upstream: string;
  /** Resolves the upstream token of a request (the core's, so both halves agree). */
  authenticate: Authenticator;
  /**
   * Refuses a request by its headers alone (the core's `createKeyCheck`: a missing or unknown
   * API key), before its body is read. Default: none.
   */
  checkKey?: (headers: Headers) => void;
  /** The held tokens' pool (server-held mode): load, message queue, 401s and caps. */
  pool?: TokenPool;
  /**
   * Forwarded calls as `METHOD /path` below the base URL, `:id` standing for one id segment.
   * @default DEFAULT_PASS_THROUGH_ALLOW
   */
  allow?: readonly string[];
  /**
   * Largest request body, in bytes.
   * @default 1048576
   */
  bodyLimit?: number;
  /**
   * Longest silence on the upstream connection (waiting for headers or mid-stream), in ms.
   * @default 60000
   */
  timeoutMs?: number;
  /**
   * Server-held mode: the held access tokens, redacted (with the caller's API key) from every
   * body relayed to a client; a function when they may change (a reload), read per request.
   */
  heldTokens?: readonly string[] | (() => readonly string[]);
  /**
   * Largest upstream error body (non-2xx, server-held mode) read whole to learn from a 401/429
   * and to redact secrets, in bytes (after decompression); a larger one is answered 502.
   * @default 65536
   */
  errorBodyLimit?: number;
  /** Where the pool's lines about a request (401s, caps) go, with its request id. @default silent */
  logger?: Logger;
}

/** Upstream body bytes the pass-through holds in memory: now and the most ever. */
export interface BufferedBytes {
  readonly current: number;
  readonly peak: number;
}

/** The hardened `/backend-api/*` reverse proxy. */
export interface PassThrough {
  /** Serves one request whose target was already checked and starts with the prefix. */
  handle(req: IncomingMessage, res: ServerResponse, target: RequestTarget, note: RequestNote): void;
  /** Ends every live stream with an `error` event and aborts its upstream request. */
  stopStreams(message: string): void;
  /** Live pass-through responses. */
  readonly active: number;
  /** Upstream body bytes held in memory for sniffing and redaction. */
  readonly buffered: BufferedBytes;
  /** Drops the keep-alive connections to the upstream. */
  close(): void;
}

/** What a request of the pass-through is served with. */
interface Served {
  proxy: ProxyServer;
  rules: AllowRule[];
  bodyLimit: number;
  heldTokens: () => readonly string[];
  pool: TokenPool | undefined;
  logger: Logger;
  authenticate: Authenticator;
  checkKey: (headers: Headers) => void;
  flights: WeakMap<IncomingMessage, Flight>;
  live: Set<Flight>;
}

/** The proxy, with its events wired to the flights of `flights`. */
function createProxy(
  upstream: URL,
  agent: HttpAgent,
  timeoutMs: number,
  ctx: RelayContext,
  flights: WeakMap<IncomingMessage, Flight>,
): ProxyServer {
  const proxy = createProxyServer({
    target: upstream.href,
    agent,
    changeOrigin: true,
    xfwd: false,
    // Responses are written here: header filtering, cut streams and shutdown need the control.
    selfHandleResponse: true,
  });
  // Without a listener an upstream failure would be thrown and end the process.
  proxy.on('error', (error, req, res) => {
    if (res instanceof ServerResponse) {
      writeRestError(res, errorForProxyFailure(error, flights.get(req)?.timedOut === true));
    }
  });
  proxy.on('proxyReq', (proxyReq, req, res) => {
    const flight = flights.get(req);
    if (flight === undefined) return;
    flight.proxyReq = proxyReq;
    proxyReq.setTimeout(timeoutMs, () => {
      flight.timedOut = true;
      proxyReq.destroy();
    });
    // A 101 would otherwise leave the request hanging: nothing here speaks another protocol.
    proxyReq.on('upgrade', (upgraded: IncomingMessage, socket: Socket) => {
      socket.destroy();
      flight.note.upstreamStatus = upgraded.statusCode;
      refuse(upgraded, res, upgraded.statusCode ?? 101);
    });
  });
  proxy.on('proxyRes', (proxyRes, req, res) => {
    const flight = flights.get(req);
    if (flight !== undefined) respond(ctx, flight, proxyRes, res);
  });
  return proxy;
}

/** Checks, authenticates and forwards one request. */
async function serve(
  served: Served,
  req: IncomingMessage,
  res: ServerResponse,
  target: RequestTarget,
  note: RequestNote,
): Promise<void> {
  const path = target.path.slice(PASS_THROUGH_PREFIX.length) || '/';
  const method = (req.method ?? 'GET').toUpperCase();
  note.route = `${PASS_THROUGH_PREFIX}/*`;
  const rule = matchRule(served.rules, method, path);
  note.route = `${PASS_THROUGH_PREFIX}${rule.template}`;
  const headers = webHeaders(req);
  // A client without a valid key is refused before a byte of its body is held.
  served.checkKey(headers);
  const read = await readBody(req, served.bodyLimit);
  // A GET or HEAD body means nothing to the upstream: it is read (framing) and dropped.
  const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : read;
  const credentials = await served.authenticate(headers, conversationIdOf(path, body));
  note.principal = credentials.label;
  // Each await may outlast the client: its `close` has fired then, and nothing after would.
  if (clientGone(res)) {
    credentials.unreserve?.();
    return;
  }
  const { pool, live } = served;
  // What the pool learns from this request is logged with its id.
  const log =
    note.requestId === undefined ? undefined : requestLogger(served.logger, note.requestId);
  const lease =
    pool?.labelOf(credentials.token) === undefined
      ? undefined
      : await leaseFor(pool, credentials, isMessagePost(method, path), res, log);
  if (clientGone(res)) {
    lease?.release();
    return;
  }
  const held = lease !== undefined;
  let finished = false;
  const flight: Flight = {
    lease,
    note,
    timedOut: false,
    proxyReq: undefined,
    stop: undefined,
    secrets: held
      ? secretBytes([...served.heldTokens(), credentials.token, callerSecret(req)])
      : [],
    finish: () => {
      if (finished) return;
      finished = true;
      live.delete(flight);
      lease?.release();
    },
  };
  served.flights.set(req, flight);
  live.add(flight);
  res.once('close', flight.finish);
  const forwarded = endToEndHeaders(req.headers, dropRequestHeader);
  forwarded.authorization = `Bearer ${credentials.token}`;
  // Server-held mode scans relayed bodies for secrets: they must come uncompressed.
  if (held) forwarded['accept-encoding'] = 'identity';
  if (method !== 'GET' && method !== 'HEAD') forwarded['content-length'] = String(body.length);
  // http-proxy-3 copies `req.headers` and `req.url`: hand it the checked versions only.
  req.headers = forwarded as IncomingMessage['headers'];
  req.url = path + target.query;
  served.proxy.web(req, res, { buffer: Readable.from(body.length > 0 ? [body] : []) });
}

/** The held tokens as a function: a reload of the sidecar's tokens may change them. */
function heldTokensOf(held: PassThroughOptions['heldTokens']): () => readonly string[] {
  return typeof held === 'function' ? held : () => held ?? [];
}

/** Creates the pass-through: http-proxy-3 plus the checks and header rules it lacks. */
export function createPassThrough(options: PassThroughOptions): PassThrough {
  const upstream = new URL(options.upstream.replace(/\/+$/, ''));
  const ctx: RelayContext = {
    buffering: new Buffering(),
    errorBodyLimit: options.errorBodyLimit ?? 64 * 1024,
  };
  const agent =
    upstream.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true })
      : new HttpAgent({ keepAlive: true });
  const flights = new WeakMap<IncomingMessage, Flight>();
  const live = new Set<Flight>();
  const served: Served = {
    proxy: createProxy(upstream, agent, options.timeoutMs ?? 60_000, ctx, flights),
    rules: compileAllowlist(options.allow ?? DEFAULT_PASS_THROUGH_ALLOW),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    heldTokens: heldTokensOf(options.heldTokens),
    pool: options.pool,
    logger: options.logger ?? silentLogger,
    authenticate: options.authenticate,
    checkKey: options.checkKey ?? (() => undefined),
    flights,
    live,
  };
  return {
    handle(req, res, target, note) {
      serve(served, req, res, target, note).catch((error: unknown) => {
        writeRestError(
          res,
          isRestError(error)
            ? error
            : new RestError('internal_error', 'The pass-through failed unexpectedly.'),
        );
      });
    },
    stopStreams(message) {
      for (const flight of live) {
        if (flight.stop !== undefined) flight.stop(message);
        else flight.proxyReq?.destroy();
      }
    },
    get active() {
      return live.size;
    },
    get buffered() {
      return { current: ctx.buffering.current, peak: ctx.buffering.peak };
    },
    close() {
      agent.destroy();
    },
  };
}
