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

/** The content of a whole body: text (our answers) or bytes (what the transport read). */
export type WholeContent = string | Uint8Array;

export class WholeResponse extends Response {
  readonly #content: WholeContent;
  #real: Response | undefined;

  constructor(content: WholeContent, init: ResponseInit) {
    super(null, init);
    this.#content = content;
  }

  /** The content, unless a web body was made for someone (who may have read or locked it). */
  get unread(): WholeContent | undefined {
    return this.#real === undefined ? this.#content : undefined;
  }

  /** A real `Response` with the same status, headers and content: made once, at first need. */
  get real(): Response {
    this.#real ??= new Response(this.#content, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    return this.#real;
  }
}

// Every body accessor and reader of `Response` (`body`, `bodyUsed`, `text()`, `json()`, `bytes()`
// where Node has it, `clone()`...) is answered by the real one; TypeScript's `Response` type
// declares them as properties, so they are defined here rather than overridden in the class.
for (const [name, descriptor] of Object.entries(
  Object.getOwnPropertyDescriptors(Response.prototype),
)) {
  if (name === 'constructor') continue;
  if (typeof descriptor.value === 'function') {
    Object.defineProperty(WholeResponse.prototype, name, {
      configurable: true,
      writable: true,
      value(this: WholeResponse, ...args: unknown[]): unknown {
        const real = this.real;
        return (real[name as keyof Response] as (...a: unknown[]) => unknown).apply(real, args);
      },
    });
  }
}
Object.defineProperties(WholeResponse.prototype, {
  body: {
    configurable: true,
    get(this: WholeResponse) {
      return this.real.body;
    },
  },
  bodyUsed: {
    configurable: true,
    get(this: WholeResponse) {
      return this.unread === undefined && this.real.bodyUsed;
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

/** `response` as a genuine `Response` (what a fetch runtime can send): a whole one made real. */
export function genuineResponse(response: Response): Response {
  return response instanceof WholeResponse ? response.real : response;
}
