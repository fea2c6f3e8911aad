import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { headerPairs } from '../http/record-headers.js';
import { directSse } from '../http/sse-response.js';
import { unreadContent } from '../http/whole-response.js';
import {
  bridgeRequest,
  failureResponse,
  type ServeNodeOptions,
  type WebHandler,
} from './node-listener.js';
import { sseReadable } from './sse-sinks.js';

/**
 * The handler's answer, shaped for a framework to send through its own response path (Fastify's
 * `reply.send`, Koa's `ctx.body`), so the host's hooks and middleware see and may change it.
 */
export interface FrameworkResponse {
  status: number;
  /**
   * Every header, `set-cookie` once per cookie (append those, set the rest); `connection: close`
   * when unread request bytes are left in the socket (a 413, a half-read body).
   */
  headers: [name: string, value: string][];
  /**
   * None; a small body of known length, whole (one socket write, and what `onSend`-style hooks
   * handle best); or a Node stream (SSE, large bodies) that flushes the response head as soon as
   * it is piped into `res`, so a client sees the headers before the first event. Piping gives
   * back-pressure; destroying the stream (a client gone) cancels the body and with it the upstream.
   */
  body: Buffer | Readable | undefined;
}

/** Bodies of known length up to this size are sent whole (as by `writeWebResponse`). */
const WHOLE_BODY_LIMIT = 64 * 1024;

/**
 * Serves one Node request with `handler` as {@link serveNode} does, but hands the answer back
 * instead of writing it. Never rejects: failures become the spec's JSON errors. The request's
 * signal still fires when the client leaves (`res` closing unfinished), whoever writes `res`.
 */
export async function frameworkResponse(
  handler: WebHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: ServeNodeOptions = {},
): Promise<FrameworkResponse> {
  let response: Response;
  let body: FrameworkResponse['body'];
  try {
    response = await bridgeRequest(handler, req, res, options).answer();
    body = await nodeBody(response, res);
  } catch (error) {
    response = failureResponse(error, options.onError);
    body = await nodeBody(response, res);
  }
  const headers = headerPairs(response.headers);
  // Unread request bytes are still in the socket: rather than reading (maybe endless) bytes to
  // reach the next request, close it; a 413 means we refuse to read them.
  const unread = !req.readableEnded && (req.readableDidRead || response.status === 413);
  if (unread) headers.push(['connection', 'close']);
  return { status: response.status, headers, body };
}

async function nodeBody(
  response: Response,
  res: ServerResponse,
): Promise<Buffer | Readable | undefined> {
  // A body already whole in memory (our JSON answers, whatever their size) is sent whole.
  const whole = unreadContent(response);
  if (whole !== undefined) return Buffer.from(whole);
  // Our own event streams become a Node stream directly; their web body is never made.
  const direct = directSse(response);
  if (direct !== undefined) return piped(sseReadable(direct, res), res);
  if (response.body === null) return undefined;
  const length = Number(response.headers.get('content-length') ?? NaN);
  if (length <= WHOLE_BODY_LIMIT) return Buffer.from(await response.arrayBuffer());
  return piped(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res);
}

/** `stream`, to be piped into `res` by the framework: headers at the pipe, cut together. */
function piped(stream: Readable, res: ServerResponse): Readable {
  res.once('pipe', () => res.flushHeaders());
  // Once `res` closes nobody reads on: cancel the body (a client gone, or a host that sent
  // something else), whether or not the framework destroys what it pipes.
  res.once('close', () => stream.destroy());
  // Ending would tell the client a broken body is complete; an abrupt close tells the truth
  // (Koa 2 pipes without it). The framework logs the error as it logs its own.
  stream.once('error', () => res.destroy());
  return stream;
}
