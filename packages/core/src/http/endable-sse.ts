/**
 * Event streams a host can end between two events (a server shutting down), on whichever path
 * reads them: the direct writer of Node mounts or the web body of fetch-style hosts.
 */
import { directSse, withDirectSse, type DirectSse, type SseSink } from './sse-response.js';
import { LazyBodyResponse } from './whole-response.js';

/** Ends a stream: writes `frame` (a whole SSE frame), ends it, cancels it with `reason`. */
export type EndStream = (frame: string, reason: unknown) => void;

/**
 * Called when the stream starts being read, with the function that ends it; returns the
 * function that forgets it (called once the stream is over, however it ended).
 */
export type RegisterEnd = (end: EndStream) => () => void;

/**
 * `response` (an event stream) that can be ended from outside once it is being read: the host
 * is handed an {@link EndStream} through `register`. The frame goes after a complete event, the
 * stream ends, and cancelling it aborts the upstream request. A stream of ours keeps its direct
 * writer, so Node mounts still write it straight to `res`.
 */
export function endableSse(response: Response, register: RegisterEnd): Response {
  // Taken before anything asks for the web body, which would claim the stream for the web.
  const direct = directSse(response);
  const init = {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  };
  if (direct === undefined) {
    const body = response.body;
    return body === null ? response : new Response(endableBody(body, register), init);
  }
  // Ours: the web wrapper is made only if a fetch-style host asks for the body.
  const web = new LazyBodyResponse(() => {
    const body = response.body;
    return body === null ? null : endableBody(body, register);
  }, init);
  return withDirectSse(web, endableDirect(direct, register));
}

/**
 * Registers `end` with the host. The returned forget is idempotent, and an end forgets first, so
 * a host may end the stream from inside `register` itself (it is already shutting down).
 */
function registration(register: RegisterEnd, end: EndStream): () => void {
  // An object, not two lets: `register` may call back before it returns.
  const state: { forgotten: boolean; unregister?: () => void } = { forgotten: false };
  const forget = (): void => {
    if (state.forgotten) return;
    state.forgotten = true;
    state.unregister?.();
  };
  const unregister = register((frame, reason) => {
    forget();
    end(frame, reason);
  });
  if (state.forgotten) unregister();
  else state.unregister = unregister;
  return forget;
}

/**
 * A sink shut once its stream was ended from outside: frames the stream still writes after
 * that (the error of its own abort) are dropped. A class, not an object literal with a getter:
 * one such literal per open stream took a dictionary of its own.
 */
class EndableSink implements SseSink {
  ended = false;
  readonly #sink: SseSink;

  constructor(sink: SseSink) {
    this.#sink = sink;
  }

  write(frame: string): boolean {
    return this.ended || this.#sink.write(frame);
  }

  ready(): Promise<void> {
    return this.#sink.ready();
  }

  get closed(): boolean {
    return this.ended || this.#sink.closed;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.#sink.end();
  }

  abort(): void {
    this.#sink.abort?.();
  }

  buffered(): number | undefined {
    return this.#sink.buffered?.();
  }
}

/** The direct writer, its sink shut once the stream was ended from outside. */
function endableDirect(direct: DirectSse, register: RegisterEnd): DirectSse {
  return {
    run(sink) {
      const guarded = new EndableSink(sink);
      const forget = registration(register, (frame, reason) => {
        if (guarded.ended || sink.closed) return;
        // Between two `write` calls the sink is at a frame boundary.
        sink.write(frame);
        guarded.end();
        direct.cancel(reason);
      });
      // Ended from inside `register` (the host was already stopping): nothing to run. A stream
      // already being read throws; the executor makes that a rejection, so `forget` still runs.
      const running = guarded.ended
        ? Promise.resolve()
        : new Promise<void>((resolve) => resolve(direct.run(guarded)));
      // A promise, not an async frame held for the stream's life.
      return running.finally(() => {
        // Over, however it ended: a late end changes nothing.
        guarded.ended = true;
        forget();
      });
    },
    cancel: (reason) => direct.cancel(reason),
  };
}

const ENDED = Symbol('ended');

/** The web body, read one chunk at a time against the end signal. */
function endableBody(body: ReadableStream<Uint8Array>, register: RegisterEnd) {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let forget: () => void = () => undefined;
  let ending: { frame: string; reason: unknown } | undefined;
  let reading = false;
  let wake: (value: typeof ENDED) => void = () => undefined;
  const ended = new Promise<typeof ENDED>((resolve) => {
    wake = resolve;
  });
  const open = (): ReadableStreamDefaultReader<Uint8Array> => {
    if (reader !== undefined) return reader;
    // First the reader: a body someone else locked throws before anything is registered.
    const source = body.getReader();
    reader = source;
    forget = registration(register, (frame, reason) => {
      ending ??= { frame, reason };
      wake(ENDED);
      // No read waits for the wake-up: stop the source now, the next pull sends the frame.
      if (!reading) source.cancel(reason).catch(() => undefined);
    });
    return source;
  };
  const close = async (
    controller: ReadableStreamDefaultController<Uint8Array>,
    source: ReadableStreamDefaultReader<Uint8Array>,
  ): Promise<void> => {
    controller.enqueue(new TextEncoder().encode(ending?.frame ?? ''));
    controller.close();
    await source.cancel(ending?.reason);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const source = open();
        if (ending !== undefined) return close(controller, source);
        reading = true;
        try {
          const result = await Promise.race([source.read(), ended]);
          if (result === ENDED) return await close(controller, source);
          if (result.done) {
            forget();
            controller.close();
            return undefined;
          }
          controller.enqueue(result.value);
        } catch (error) {
          forget();
          controller.error(error);
        } finally {
          reading = false;
        }
        return undefined;
      },
      async cancel(reason) {
        forget();
        await (reader ?? body).cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
