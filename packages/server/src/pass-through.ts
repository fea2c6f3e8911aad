import {
  Agent as HttpAgent,
  ServerResponse,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { createProxyServer } from 'http-proxy-3';
import {
  RestError,
  isRestError,
  type Authenticator,
  type Lease,
  type TokenPool,
  bearerToken,
  conversationIdSniffer,
  isMessagePost,
  sseErrorFrame,
  writeRestError,
} from '@chatgpt-rest/core';
import { endToEndHeaders } from './hop-headers.js';
import { StreamRedactor, redactAll, secretBytes } from './redact.js';
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
  /**
   * Server-held mode: the held access tokens, redacted (with the caller's API key) from every
   * body relayed to a client.
   */
  heldTokens?: readonly string[];
  /**
   * Largest upstream error body (non-2xx, server-held mode) read whole to learn from a 401/429
   * and to redact secrets, in bytes (after decompression); a larger one is answered 502.
   * @default 65536
   */
  errorBodyLimit?: number;
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

interface AllowRule {
  method: string;
  template: string;
  pattern: RegExp;
}

/** Per-request state the proxy's events need. */
interface Flight {
  /** The held token's lease (server-held mode). */
  lease: Lease | undefined;
  finish: () => void;
  note: RequestNote;
  timedOut: boolean;
  proxyReq: ClientRequest | undefined;
  stop: ((message: string) => void) | undefined;
  /** Byte strings never relayed to the client (server-held mode), longest first. */
  secrets: Buffer[];
}

const ID_SEGMENT = '[A-Za-z0-9_-]+';
const RULE = /^(GET|POST|PATCH|PUT|DELETE) (\/[A-Za-z0-9_\-/:]*)$/;
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

/**
 * `WWW-Authenticate` of a 401 (RFC 9110 §11.6.1) by its error code: `invalid_token` unless no
 * credential was given at all (`missing_token`).
 */
export function wwwAuthenticate(code: unknown): string {
  return code === 'missing_token'
    ? 'Bearer realm="chatgpt-rest"'
    : 'Bearer realm="chatgpt-rest", error="invalid_token"';
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

/** An error body decoded as the upstream encoded it (capped), or undefined if it cannot be. */
function decoded(
  body: Buffer,
  encoding: OutgoingHttpHeaders[string],
  limit: number,
): Buffer | undefined {
  const name = (typeof encoding === 'string' ? encoding : '').trim().toLowerCase();
  const options = { maxOutputLength: Math.max(1, limit) };
  try {
    if (name === '' || name === 'identity') return body;
    if (name === 'gzip' || name === 'x-gzip') return gunzipSync(body, options);
    if (name === 'deflate') return inflateSync(body, options);
    if (name === 'br') return brotliDecompressSync(body, options);
  } catch {
    return undefined;
  }
  return undefined;
}

/** The API key (or token) the caller authenticated with, as the core's authenticator reads it. */
function callerSecret(req: IncomingMessage): string | undefined {
  const key = req.headers['x-api-key'];
  if (typeof key === 'string' && key.trim() !== '') return key.trim();
  return bearerToken(req.headers.authorization);
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

/** The held token's lease; a message waits for its slot until the client leaves. */
async function leaseFor(
  pool: TokenPool,
  label: string,
  message: boolean,
  res: ServerResponse,
): Promise<Lease> {
  if (!message) return pool.lease(label, { message });
  const gone = new AbortController();
  const onClose = (): void => gone.abort(new RestError('upstream_error', 'client left'));
  res.once('close', onClose);
  try {
    return await pool.lease(label, { message, signal: gone.signal });
  } finally {
    res.off('close', onClose);
  }
}

/** Creates the pass-through: http-proxy-3 plus the checks and header rules it lacks. */
export function createPassThrough(options: PassThroughOptions): PassThrough {
  const upstream = new URL(options.upstream.replace(/\/+$/, ''));
  const rules = compileAllowlist(options.allow ?? DEFAULT_PASS_THROUGH_ALLOW);
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const errorBodyLimit = options.errorBodyLimit ?? 64 * 1024;
  const heldTokens = options.heldTokens ?? [];
  const buffering = {
    current: 0,
    peak: 0,
    hold(bytes: number) {
      this.current += bytes;
      this.peak = Math.max(this.peak, this.current);
    },
    release(bytes: number) {
      this.current -= bytes;
    },
  };
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
      writeRestError(res, errorForProxyFailure(error, flights.get(req)));
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
    if (flight === undefined) return;
    respond(flight, proxyRes, res);
  });

  function respond(flight: Flight, proxyRes: IncomingMessage, res: ServerResponse): void {
    const status = proxyRes.statusCode ?? 0;
    flight.note.upstreamStatus = status;
    // A listener is a must: an unheard 'error' on the upstream response would crash the process.
    proxyRes.on('error', () => undefined);
    // Node would throw on writeHead(99) and send 1xx or 600+ as if they were final answers.
    if (status < 200 || status > 599) {
      refuse(proxyRes, res, status);
      return;
    }
    const headers = endToEndHeaders(proxyRes.headers);
    // A 401 relayed to the client is ours to answer too: it gets a challenge if it had none.
    if (status === 401 && headers['www-authenticate'] === undefined) {
      headers['www-authenticate'] = wwwAuthenticate('invalid_token');
    }
    if (status === 204 || status === 304) {
      // Bodyless by definition: a length would make clients wait for bytes that never come.
      delete headers['content-length'];
      res.writeHead(status, headers);
      res.end();
      proxyRes.resume();
      return;
    }
    // 205 must be empty; error bodies are sniffed (401/429) and redacted in server-held mode.
    if (status === 205 || (flight.secrets.length > 0 && status >= 300)) {
      buffered(flight, proxyRes, res, headers);
      return;
    }
    relay(flight, proxyRes, res, headers);
  }

  /** The upstream answer cannot be relayed: 502 to the client, the upstream connection dropped. */
  function refuse(
    proxyRes: IncomingMessage,
    res: ServerResponse,
    status: number,
    why?: string,
  ): void {
    proxyRes.destroy();
    writeRestError(
      res,
      new RestError(
        'upstream_error',
        why ?? `The upstream answered with status ${status}, which cannot be relayed.`,
      ),
    );
  }

  /** Reads a small body whole (capped), lets the pool learn from it, redacts it, sends it. */
  function buffered(
    flight: Flight,
    proxyRes: IncomingMessage,
    res: ServerResponse,
    headers: OutgoingHttpHeaders,
  ): void {
    const status = proxyRes.statusCode ?? 0;
    const limit = status === 205 ? 0 : errorBodyLimit;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (): void => {
      settled = true;
      buffering.release(size);
    };
    proxyRes.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      buffering.hold(chunk.length);
      chunks.push(chunk);
      if (size <= limit) return;
      settle();
      // The pool still learns from the start of an oversized 401/429 (JSON error fields come first).
      observe(flight, status, Buffer.concat(chunks).subarray(0, limit));
      const why =
        status === 205
          ? 'The upstream answered 205 with a body.'
          : `The upstream error body is larger than ${limit} bytes.`;
      refuse(proxyRes, res, status, why);
    });
    proxyRes.on('end', () => {
      if (settled) return;
      settle();
      sendBuffered(flight, res, status, headers, Buffer.concat(chunks));
    });
    proxyRes.on('close', () => {
      if (settled) return;
      settle();
      if (!proxyRes.complete) res.destroy();
    });
  }

  function sendBuffered(
    flight: Flight,
    res: ServerResponse,
    status: number,
    headers: OutgoingHttpHeaders,
    raw: Buffer,
  ): void {
    const body = decoded(raw, headers['content-encoding'], errorBodyLimit);
    if (body === undefined) {
      writeRestError(
        res,
        new RestError('upstream_error', 'The upstream error body could not be read.'),
      );
      return;
    }
    observe(flight, status, body);
    const redacted = redactAll(body, flight.secrets);
    delete headers['content-encoding'];
    headers['content-length'] = String(redacted.length);
    res.writeHead(status, headers);
    res.end(redacted);
  }

  function observe(flight: Flight, status: number, body: Buffer): void {
    if (status === 401 || status === 429) flight.lease?.observe(status, body.toString('utf8'));
  }

  /** Streams the body as it comes (redacted on the fly in server-held mode). */
  function relay(
    flight: Flight,
    proxyRes: IncomingMessage,
    res: ServerResponse,
    headers: OutgoingHttpHeaders,
  ): void {
    const redactor = flight.secrets.length > 0 ? new StreamRedactor(flight.secrets) : undefined;
    // Redaction may change the length: the body goes chunked instead.
    if (redactor !== undefined) delete headers['content-length'];
    res.writeHead(proxyRes.statusCode ?? 200, headers);
    const stream = (proxyRes.headers['content-type'] ?? '').startsWith('text/event-stream');
    if (stream) res.flushHeaders();
    let stopped = false;
    let tail = '\n\n';
    const { lease } = flight;
    // A new message stream names its conversation: later requests of it go to the same token.
    const sniff =
      lease?.message === true ? conversationIdSniffer((id) => lease.remember(id)) : undefined;
    const send = (bytes: Buffer): void => {
      if (bytes.length === 0) return;
      if (stream) tail = (tail + bytes.toString('latin1')).slice(-2);
      if (!res.write(bytes)) proxyRes.pause();
    };
    proxyRes.on('data', (chunk: Buffer) => {
      if (stopped) return;
      sniff?.(chunk);
      send(redactor === undefined ? chunk : redactor.push(chunk));
    });
    res.on('drain', () => proxyRes.resume());
    proxyRes.on('end', () => {
      if (stopped) return;
      if (redactor !== undefined) send(redactor.flush());
      res.end();
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
        // The backend's own error event shape: clients of the pass-through speak its dialect.
        const frame = sseErrorFrame(new RestError('upstream_unavailable', message), 'backend');
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
    const read = await readBody(req, bodyLimit);
    // A GET or HEAD body means nothing to the upstream: it is read (framing) and dropped.
    const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : read;
    const credentials = authenticate(webHeaders(req), conversationIdOf(path, body));
    note.principal = credentials.label;
    const lease =
      pool?.labelOf(credentials.token) === undefined
        ? undefined
        : await leaseFor(pool, credentials.label, isMessagePost(method, path), res);
    if (lease?.message === true && res.destroyed) {
      lease.release();
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
      secrets: held ? secretBytes([...heldTokens, credentials.token, callerSecret(req)]) : [],
      finish: () => {
        if (finished) return;
        finished = true;
        live.delete(flight);
        lease?.release();
      },
    };
    flights.set(req, flight);
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
    proxy.web(req, res, { buffer: Readable.from(body.length > 0 ? [body] : []) });
  }

  return {
    handle(req, res, target, note) {
      serve(req, res, target, note).catch((error: unknown) => {
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
      return { current: buffering.current, peak: buffering.peak };
    },
    close() {
      agent.destroy();
    },
  };
}
