/**
 * The Node bridge's request view: what the core reads of a `Request` (method, url, headers,
 * signal, the body), taken from a Node request without building a web `Request`. The body is
 * read straight from `req` into text when the core asks (`readBodyText`); a web stream is made
 * only if something asks for `body`. Given only to a handler's Node face (see `node-face.ts`):
 * a host's own handler may pass its request to `fetch` or `new Request`, which need the real one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tooLarge, type DirectBody } from '../http/request-body.js';
import { contentText } from '../http/whole-response.js';
import {
  DEFAULT_BODY_LIMIT,
  UNREAD,
  nodeBodyStream,
  requestParts,
  toBytes,
  type RequestParts,
  type ToWebRequestOptions,
} from './incoming-request.js';

class NodeRequestView implements DirectBody {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly signal: AbortSignal;
  readonly #req: IncomingMessage;
  readonly #limit: number;
  readonly #source: RequestParts['body'];
  #body: ReadableStream<Uint8Array> | null | undefined;

  constructor(req: IncomingMessage, parts: RequestParts, limit: number) {
    this.method = parts.method;
    this.url = parts.url;
    this.headers = parts.headers;
    this.signal = parts.signal;
    this.#req = req;
    this.#limit = limit;
    this.#source = parts.body;
  }

  /** The body as a web stream, made at first use (the core reads `readBodyText` instead). */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === undefined) {
      const source = this.#source;
      this.#body =
        source === UNREAD
          ? nodeBodyStream(this.#req, this.#limit)
          : source === null
            ? null
            : new Response(source).body;
    }
    return this.#body;
  }

  /** The whole body as text, within `limit` bytes (past it: `payload_too_large`). */
  async readBodyText(limit: number): Promise<string> {
    const source = this.#source;
    if (source === UNREAD) return readNodeText(this.#req, Math.min(limit, this.#limit));
    const text =
      source === null
        ? ''
        : typeof source === 'string'
          ? source
          : source instanceof URLSearchParams
            ? source.toString()
            : contentText(source);
    if (Buffer.byteLength(text) > limit) throw tooLarge(limit);
    return text;
  }
}

/** `req`'s body as text, read from the socket within `limit` bytes, `req` left usable past it. */
async function readNodeText(req: IncomingMessage, limit: number): Promise<string> {
  if (Number(req.headers['content-length']) > limit) throw tooLarge(limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Not destroying `req` on an early return: that would destroy the socket and with it the 413.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    const bytes = toBytes(chunk);
    size += bytes.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(bytes);
  }
  return contentText(Buffer.concat(chunks));
}

/**
 * A Node request as the core's handler reads it (see the module comment): checked as
 * `toWebRequest` checks it, throwing the same `RestError`s. Typed as a `Request` for the
 * handler's signature; only what the core uses is there.
 */
export function nodeRequestView(
  req: IncomingMessage,
  res: ServerResponse,
  options: ToWebRequestOptions = {},
): Request {
  const parts = requestParts(req, res, options);
  const view = new NodeRequestView(req, parts, options.bodyLimit ?? DEFAULT_BODY_LIMIT);
  return view as unknown as Request;
}
