/**
 * A `Response` whose body is already whole in memory (a JSON answer we made, a short upstream
 * body the transport read) and whose web body is built only if someone asks for it. Building a
 * web `ReadableStream` costs more than the rest of a small JSON call in Node 20, so the core's
 * own readers and writers take the content directly ({@link unreadContent}); everyone else sees
 * an ordinary `Response` (`body`, `text()`, `json()`, `clone()`... work as usual, on a real one
 * made at first use).
 *
 * Only the core and its Node writers ever hold one: a fetch runtime (Deno, Bun, workerd) reads
 * a `Response`'s internal slots rather than its getters, so the web face of the handler hands
 * out {@link genuineResponse}s.
 */

import { webOfChunks, type ByteChunks } from './byte-chunks.js';
import { RecordHeaders } from './record-headers.js';

/** The content of a whole body: text (our answers) or bytes (what the transport read). */
export type WholeContent = string | Uint8Array;

/** What a `Response` accepts as body (the DOM's `BodyInit`, which Node's globals do not name). */
type ResponseBody = ConstructorParameters<typeof Response>[0];

/**
 * A `Response` whose web body is made by `make` at first need (see the module comment): until
 * then the core's Node writers may send it their own way (its whole content, its direct SSE
 * writer).
 */
export class LazyBodyResponse extends Response {
  readonly #make: () => ResponseBody;
  #real: Response | undefined;
  /** Its headers when given as {@link RecordHeaders} (the `headers` getter's answer then). */
  readonly recordHeaders: RecordHeaders | undefined;

  constructor(make: () => ResponseBody, init: ResponseInit) {
    const own = init.headers instanceof RecordHeaders ? init.headers : undefined;
    super(null, own === undefined ? init : { status: init.status, statusText: init.statusText });
    this.#make = make;
    this.recordHeaders = own;
  }

  /** True once the web body was made for someone (who may have read or locked it). */
  get bodyMade(): boolean {
    return this.#real !== undefined;
  }

  /** A real `Response` with the same status, headers and body: made once, at first need. */
  get real(): Response {
    this.#real ??= new Response(this.#make(), {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    return this.#real;
  }
}

/** A {@link LazyBodyResponse} of a body whole in memory. */
export class WholeResponse extends LazyBodyResponse {
  readonly #content: WholeContent;

  constructor(content: WholeContent, init: ResponseInit) {
    super(() => content, init);
    this.#content = content;
  }

  /** The content, unless a web body was made for someone (who may have read or locked it). */
  get unread(): WholeContent | undefined {
    return this.bodyMade ? undefined : this.#content;
  }
}

/**
 * A {@link LazyBodyResponse} of a streamed body (an upstream event stream): the core's readers
 * take its chunks ({@link takeChunks}); anyone else gets a web body over them.
 */
export class ChunksResponse extends LazyBodyResponse {
  readonly #source: { chunks: ByteChunks | undefined };

  constructor(chunks: ByteChunks, init: ResponseInit) {
    const source: { chunks: ByteChunks | undefined } = { chunks };
    super(() => {
      if (source.chunks === undefined) throw new TypeError('Body is unusable: it was read');
      return webOfChunks(source.chunks);
    }, init);
    this.#source = source;
  }

  /** True once the chunks were taken by a reader. */
  get taken(): boolean {
    return this.#source.chunks === undefined;
  }

  /** The chunks, once, unless a web body was made over them. */
  take(): ByteChunks | undefined {
    if (this.bodyMade) return undefined;
    const { chunks } = this.#source;
    this.#source.chunks = undefined;
    return chunks;
  }
}

/** The chunks of `response` when it is a {@link ChunksResponse} nobody has read; taken once. */
export function takeChunks(response: Response): ByteChunks | undefined {
  return response instanceof ChunksResponse ? response.take() : undefined;
}

// Every body accessor and reader of `Response` (`body`, `bodyUsed`, `text()`, `json()`, `bytes()`
// where Node has it, `clone()`...) is answered by the real one; TypeScript's `Response` type
// declares them as properties, so they are defined here rather than overridden in the class.
for (const [name, descriptor] of Object.entries(
  Object.getOwnPropertyDescriptors(Response.prototype),
)) {
  if (name === 'constructor') continue;
  if (typeof descriptor.value === 'function') {
    Object.defineProperty(LazyBodyResponse.prototype, name, {
      configurable: true,
      writable: true,
      value(this: LazyBodyResponse, ...args: unknown[]): unknown {
        const real = this.real;
        return (real[name as keyof Response] as (...a: unknown[]) => unknown).apply(real, args);
      },
    });
  }
}
Object.defineProperties(LazyBodyResponse.prototype, {
  headers: {
    configurable: true,
    get(this: LazyBodyResponse) {
      return this.recordHeaders ?? Reflect.get(Response.prototype, 'headers', this);
    },
  },
  body: {
    configurable: true,
    get(this: LazyBodyResponse) {
      return this.real.body;
    },
  },
  bodyUsed: {
    configurable: true,
    get(this: LazyBodyResponse) {
      return this.bodyMade && this.real.bodyUsed;
    },
  },
});

/** The whole content of `response` when it is a {@link WholeResponse} nobody has read. */
export function unreadContent(response: Response): WholeContent | undefined {
  return response instanceof WholeResponse ? response.unread : undefined;
}

/** `content` as text, as `Response.text()` decodes it (UTF-8, a leading BOM dropped). */
export function contentText(content: WholeContent): string {
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  return typeof content !== 'string' && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** `response` as a genuine `Response` (what a fetch runtime can send): a lazy one made real. */
export function genuineResponse(response: Response): Response {
  return response instanceof LazyBodyResponse ? response.real : response;
}

/** True when the web body of `response` may have been read or locked by someone. */
export function bodyTaken(response: Response): boolean {
  if (response instanceof ChunksResponse && response.taken) return true;
  if (response instanceof LazyBodyResponse) return response.bodyMade;
  return response.bodyUsed || response.body?.locked === true;
}
