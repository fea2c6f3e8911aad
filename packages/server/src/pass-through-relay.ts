/** The pass-through's answer side: statuses, error bodies (sniffed, redacted), streams relayed. */
import type {
  ClientRequest,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import {
  RestError,
  conversationIdSniffer,
  sseErrorFrame,
  writeRestError,
  type Lease,
} from '@chatgpt-rest/core';
import { endToEndHeaders } from './hop-headers.js';
import { wwwAuthenticate } from './pass-through-rules.js';
import { StreamRedactor, redactAll, redactHeaders } from './redact.js';

/** What one request tells the request log (labels and statuses only, never a secret). */
export interface RequestNote {
  /** The request's id (its `X-Request-Id`, on every answer). */
  requestId?: string;
  route?: string;
  principal?: string;
  upstreamStatus?: number;
}

/** Per-request state the proxy's events need. */
export interface Flight {
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

/** Upstream body bytes held in memory for sniffing and redaction: now and the most ever. */
export class Buffering {
  current = 0;
  peak = 0;

  hold(bytes: number): void {
    this.current += bytes;
    this.peak = Math.max(this.peak, this.current);
  }

  release(bytes: number): void {
    this.current -= bytes;
  }
}

/** What the answer side shares across requests. */
export interface RelayContext {
  buffering: Buffering;
  /** Largest error body read whole (server-held mode), in bytes. */
  errorBodyLimit: number;
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

export function respond(
  ctx: RelayContext,
  flight: Flight,
  proxyRes: IncomingMessage,
  res: ServerResponse,
): void {
  const status = proxyRes.statusCode ?? 0;
  flight.note.upstreamStatus = status;
  // A listener is a must: an unheard 'error' on the upstream response would crash the process.
  proxyRes.on('error', () => undefined);
  // Node would throw on writeHead(99) and send 1xx or 600+ as if they were final answers.
  if (status < 200 || status > 599) {
    refuse(proxyRes, res, status);
    return;
  }
  // The upstream's own request id is not ours: the one set on `res` (the sidecar's) stays.
  const headers = endToEndHeaders(proxyRes.headers, (name) => name === 'x-request-id');
  // Server-held mode: a secret the upstream echoes in a header is redacted as in a body.
  if (flight.secrets.length > 0) redactHeaders(headers, flight.secrets);
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
    buffered(ctx, flight, proxyRes, res, headers);
    return;
  }
  relay(flight, proxyRes, res, headers);
}

/** The upstream answer cannot be relayed: 502 to the client, the upstream connection dropped. */
export function refuse(
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
  ctx: RelayContext,
  flight: Flight,
  proxyRes: IncomingMessage,
  res: ServerResponse,
  headers: OutgoingHttpHeaders,
): void {
  const status = proxyRes.statusCode ?? 0;
  const limit = status === 205 ? 0 : ctx.errorBodyLimit;
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const settle = (): void => {
    settled = true;
    ctx.buffering.release(size);
  };
  proxyRes.on('data', (chunk: Buffer) => {
    if (settled) return;
    size += chunk.length;
    ctx.buffering.hold(chunk.length);
    chunks.push(chunk);
    if (size <= limit) return;
    settle();
    // The pool still learns from the start of an oversized 401/429 (JSON error fields come first).
    observe(flight, proxyRes, Buffer.concat(chunks).subarray(0, limit));
    const why =
      status === 205
        ? 'The upstream answered 205 with a body.'
        : `The upstream error body is larger than ${limit} bytes.`;
    refuse(proxyRes, res, status, why);
  });
  proxyRes.on('end', () => {
    if (settled) return;
    settle();
    sendBuffered(ctx, flight, res, proxyRes, headers, Buffer.concat(chunks));
  });
  proxyRes.on('close', () => {
    if (settled) return;
    settle();
    if (!proxyRes.complete) res.destroy();
  });
}

function sendBuffered(
  ctx: RelayContext,
  flight: Flight,
  res: ServerResponse,
  proxyRes: IncomingMessage,
  headers: OutgoingHttpHeaders,
  raw: Buffer,
): void {
  const status = proxyRes.statusCode ?? 0;
  const body = decoded(raw, headers['content-encoding'], ctx.errorBodyLimit);
  if (body === undefined) {
    writeRestError(
      res,
      new RestError('upstream_error', 'The upstream error body could not be read.'),
    );
    return;
  }
  observe(flight, proxyRes, body);
  const redacted = redactAll(body, flight.secrets);
  delete headers['content-encoding'];
  headers['content-length'] = String(redacted.length);
  res.writeHead(status, headers);
  res.end(redacted);
}

/**
 * The pool learns from a 401 or 429 what the core's calls teach it: the body's code and
 * `clears_in`, and the `Retry-After` header (a cap announced only there still parks the token).
 */
function observe(flight: Flight, proxyRes: IncomingMessage, body: Buffer): void {
  const status = proxyRes.statusCode ?? 0;
  if (status !== 401 && status !== 429) return;
  const headers = new Headers();
  const retryAfter = proxyRes.headers['retry-after'];
  if (typeof retryAfter === 'string') headers.set('retry-after', retryAfter);
  flight.lease?.observe(status, body.toString('utf8'), headers);
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
      const error = new RestError('upstream_unavailable', message);
      const frame = sseErrorFrame(error, 'backend', flight.note.requestId);
      // Finish a half-written event first so the error is an event of its own.
      res.end(tail === '\n\n' ? frame : `\n\n${frame}`);
      flight.proxyReq?.destroy();
      proxyRes.destroy();
    };
  }
}
