import {
  Agent as HttpAgent,
  ServerResponse,
  type ClientRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { RestError, isRestError, type Authenticator, type TokenPool } from '@chatgpt-rest/core';
import { endToEndHeaders } from './hop-headers.js';
import type { RequestTarget } from './request-target.js';

/** The backend calls forwarded by default: the endpoints of docs/spec/backend-protocol.md §1–§5. */
export const DEFAULT_PASS_THROUGH_ALLOW: readonly string[] = [
  'GET /conversations',
  'PATCH /conversations',
  'GET /conversation/:id',
  'PATCH /conversation/:id',
  'POST /conversation',
  'POST /conversation/gen_title/:id',
  'POST /sentinel/chat-requirements',
  'POST /f/conversation/prepare',
  'POST /f/conversation',
];

/** Where the pass-through is mounted on the sidecar. */
export const PASS_THROUGH_PREFIX = '/backend-api';

/** What one request tells the request log (labels and statuses only, never a secret). */
export interface RequestNote {
  route?: string;
  principal?: string;
  upstreamStatus?: number;
}

/** Options of {@link createPassThrough}. */
export interface PassThroughOptions {
  /** The upstream base URL, ending in `/backend-api`; every request goes to its host. */
  upstream: string;
  /** Resolves the upstream token of a request (the core's, so both halves agree). */
  authenticate: Authenticator;
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
}

/** The hardened `/backend-api/*` reverse proxy. */
export interface PassThrough {
  /** Serves one request whose target was already checked and starts with the prefix. */
  handle(req: IncomingMessage, res: ServerResponse, target: RequestTarget, note: RequestNote): void;
  /** Ends every live stream with an `error` event and aborts its upstream request. */
  stopStreams(message: string): void;
  /** Live pass-through responses. */
  readonly active: number;
  /** Drops the keep-alive connections to the upstream. */
  close(): void;
}

interface AllowRule {
  method: string;
  template: string;
  pattern: RegExp;
}

/** Per-request state the proxy's events need. */
interface Flight {
  label: string | undefined;
  message: boolean;
  finish: () => void;
  note: RequestNote;
  timedOut: boolean;
  proxyReq: ClientRequest | undefined;
  stop: ((message: string) => void) | undefined;
}

const ID_SEGMENT = '[A-Za-z0-9_-]+';
const RULE = /^(GET|POST|PATCH|PUT|DELETE) (\/[A-Za-z0-9_\-/:]*)$/;
const CONVERSATION_ID = /"conversation_id"\s*:\s*"([0-9a-fA-F-]{36})"/;
const SNIFF_LIMIT = 64 * 1024;
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Parses allowlist entries (`METHOD /path/:id`); throws a TypeError naming a bad one. */
export function compileAllowlist(entries: readonly string[]): AllowRule[] {
  return entries.map((entry) => {
    const match = RULE.exec(entry.trim());
    if (match === null) {
      throw new TypeError(
        `pass-through allowlist entry "${entry}" must look like "POST /conversation/:id"`,
      );
    }
    const [, method = '', template = ''] = match;
    const source = template
      .split('/')
      .map((segment) => (segment === ':id' ? ID_SEGMENT : segment.replace(/[-]/g, '\\-')))
      .join('/');
    return { method, template, pattern: new RegExp(`^${source}$`) };
  });
}

/** Request headers never forwarded as given: credentials, the client's forwarding claims, framing. */
function dropRequestHeader(name: string): boolean {
  return (
    name === 'authorization' ||
    name === 'x-api-key' ||
    name === 'forwarded' ||
    name === 'x-real-ip' ||
    name.startsWith('x-forwarded-') ||
    name === 'host' ||
    name === 'content-length' ||
    name === 'expect'
  );
}

function sendError(res: ServerResponse, error: RestError): void {
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  if (error.allow !== undefined) headers.allow = error.allow.join(', ');
  // Unread request bytes would be taken for the next request on this connection.
  if (!res.req.readableEnded) headers.connection = 'close';
  res.writeHead(error.status, headers);
  res.end(JSON.stringify(error.toJSON()));
}

function webHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const name of ['authorization', 'x-api-key']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers.set(name, value);
  }
  return headers;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = (): RestError =>
    new RestError('payload_too_large', `The request body is larger than ${limit} bytes.`);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function conversationIdOf(path: string, body: Buffer): string | undefined {
  const inPath = /^\/conversation\/(?:gen_title\/)?([A-Za-z0-9_-]+)$/.exec(path);
  if (inPath?.[1] !== undefined) return inPath[1];
  if (body.length === 0) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { conversation_id?: unknown };
    return typeof parsed.conversation_id === 'string' ? parsed.conversation_id : undefined;
  } catch {
    return undefined;
  }
}

function errorForProxyFailure(error: unknown, flight: Flight | undefined): RestError {
  if (flight?.timedOut === true) {
    return new RestError('upstream_timeout', 'The upstream did not answer in time.');
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) {
    return new RestError('upstream_unavailable', 'The upstream could not be reached.');
  }
  return new RestError('upstream_error', 'The upstream connection failed.');
}

/** Creates the pass-through: http-proxy-3 plus the checks and header rules it lacks. */
export function createPassThrough(options: PassThroughOptions): PassThrough {
  const upstream = new URL(options.upstream.replace(/\/+$/, ''));
  const rules = compileAllowlist(options.allow ?? DEFAULT_PASS_THROUGH_ALLOW);
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const { pool, authenticate } = options;
  const agent =
    upstream.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true })
      : new HttpAgent({ keepAlive: true });
  const proxy = createProxyServer({
    target: upstream.href,
    agent,
    changeOrigin: true,
    xfwd: false,
    // Responses are written here: header filtering, cut streams and shutdown need the control.
    selfHandleResponse: true,
  });
  const flights = new WeakMap<IncomingMessage, Flight>();
  const live = new Set<Flight>();

  // Without a listener an upstream failure would be thrown and end the process.
  proxy.on('error', (error, req, res) => {
    if (res instanceof ServerResponse)
      sendError(res, errorForProxyFailure(error, flights.get(req)));
  });

  proxy.on('proxyReq', (proxyReq, req) => {
    const flight = flights.get(req);
    if (flight === undefined) return;
    flight.proxyReq = proxyReq;
    proxyReq.setTimeout(timeoutMs, () => {
      flight.timedOut = true;
      proxyReq.destroy();
    });
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const flight = flights.get(req);
    if (flight === undefined) return;
    respond(flight, proxyRes, res);
  });

  function respond(flight: Flight, proxyRes: IncomingMessage, res: ServerResponse): void {
    const status = proxyRes.statusCode ?? 502;
    flight.note.upstreamStatus = status;
    // A listener is a must: an unheard 'error' on the upstream response would crash the process.
    proxyRes.on('error', () => undefined);
    const headers = endToEndHeaders(proxyRes.headers);
    if (flight.label !== undefined && (status === 401 || status === 429)) {
      // Small error bodies: read whole so the pool can learn from them, then pass them on.
      const chunks: Buffer[] = [];
      proxyRes.on('data', (chunk: Buffer) => chunks.push(chunk));
      proxyRes.on('end', () => {
        const body = Buffer.concat(chunks);
        pool?.observe(flight.label as string, status, body.toString('utf8'));
        res.writeHead(status, headers);
        res.end(body);
      });
      proxyRes.on('close', () => {
        if (!proxyRes.complete) res.destroy();
      });
      return;
    }
    res.writeHead(status, headers);
    const stream = (proxyRes.headers['content-type'] ?? '').startsWith('text/event-stream');
    if (stream) res.flushHeaders();
    let stopped = false;
    let tail = '\n\n';
    let sniffed = flight.message && flight.label !== undefined ? 0 : SNIFF_LIMIT;
    let sniffText = '';
    proxyRes.on('data', (chunk: Buffer) => {
      if (stopped) return;
      if (sniffed < SNIFF_LIMIT) {
        sniffed += chunk.length;
        sniffText += chunk.toString('utf8');
        const found = CONVERSATION_ID.exec(sniffText);
        if (found?.[1] !== undefined) {
          pool?.remember(found[1], flight.label as string);
          sniffed = SNIFF_LIMIT;
          sniffText = '';
        }
      }
      if (stream) tail = (tail + chunk.toString('latin1')).slice(-2);
      if (!res.write(chunk)) proxyRes.pause();
    });
    res.on('drain', () => proxyRes.resume());
    proxyRes.on('end', () => {
      if (!stopped) res.end();
    });
    proxyRes.on('close', () => {
      // Ending cleanly would tell the client the reply is complete; a cut upstream cuts it too.
      if (!stopped && !proxyRes.complete) res.destroy();
    });
    if (stream) {
      flight.stop = (message) => {
        if (stopped || res.writableEnded) return;
        stopped = true;
        proxyRes.pause();
        const frame = `event: error\ndata: ${JSON.stringify({ message: null, error: message, code: 'upstream_unavailable' })}\n\n`;
        // Finish a half-written event first so the error is an event of its own.
        res.end(tail === '\n\n' ? frame : `\n\n${frame}`);
        flight.proxyReq?.destroy();
        proxyRes.destroy();
      };
    }
  }

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    target: RequestTarget,
    note: RequestNote,
  ): Promise<void> {
    const path = target.path.slice(PASS_THROUGH_PREFIX.length) || '/';
    const method = (req.method ?? 'GET').toUpperCase();
    const matching = rules.filter((rule) => rule.pattern.test(path));
    const rule = matching.find((candidate) => candidate.method === method);
    note.route = `${PASS_THROUGH_PREFIX}${rule?.template ?? '/*'}`;
    if (rule === undefined) {
      if (matching.length === 0) {
        throw new RestError('not_found', 'The pass-through does not forward this backend path.');
      }
      const allow = [...new Set(matching.map((candidate) => candidate.method))];
      throw new RestError('method_not_allowed', `Use ${allow.join(' or ')} on this path.`, {
        allow,
      });
    }
    const body = await readBody(req, bodyLimit);
    const credentials = authenticate(webHeaders(req), conversationIdOf(path, body));
    note.principal = credentials.label;
    const held = pool?.labelOf(credentials.token) === undefined ? undefined : credentials.label;
    const message = method === 'POST' && (path === '/conversation' || path === '/f/conversation');
    const end = held === undefined ? () => undefined : (pool as TokenPool).begin(held);
    let release = (): void => undefined;
    if (held !== undefined && message) {
      const gone = new AbortController();
      const onClose = (): void => gone.abort(new RestError('upstream_error', 'client left'));
      res.once('close', onClose);
      try {
        release = await (pool as TokenPool).acquireMessageSlot(held, gone.signal);
      } catch (error) {
        end();
        throw error;
      } finally {
        res.off('close', onClose);
      }
      if (res.destroyed) {
        release();
        end();
        return;
      }
    }
    let finished = false;
    const flight: Flight = {
      label: held,
      message,
      note,
      timedOut: false,
      proxyReq: undefined,
      stop: undefined,
      finish: () => {
        if (finished) return;
        finished = true;
        live.delete(flight);
        release();
        end();
      },
    };
    flights.set(req, flight);
    live.add(flight);
    res.once('close', flight.finish);
    const forwarded = endToEndHeaders(req.headers, dropRequestHeader);
    forwarded.authorization = `Bearer ${credentials.token}`;
    if (body.length > 0 || (method !== 'GET' && method !== 'HEAD')) {
      forwarded['content-length'] = String(body.length);
    }
    // http-proxy-3 copies `req.headers` and `req.url`: hand it the checked versions only.
    req.headers = forwarded as IncomingMessage['headers'];
    req.url = path + target.query;
    proxy.web(req, res, { buffer: Readable.from(body.length > 0 ? [body] : []) });
  }

  return {
    handle(req, res, target, note) {
      serve(req, res, target, note).catch((error: unknown) => {
        sendError(
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
    close() {
      agent.destroy();
    },
  };
}
