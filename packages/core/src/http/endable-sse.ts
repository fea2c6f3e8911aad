/**
 * Event streams a host can end between two events (a server shutting down), on whichever path
 * reads them: the direct writer of Node mounts or the web body of fetch-style hosts.
 */
import { directSse, withDirectSse, type DirectSse, type SseSink } from './sse-response.js';

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
  const body = response.body;
  if (body === null) return response;
  // Taken before the web wrapper exists: it locks the body only once something reads it.
  const direct = directSse(response);
  const web = new Response(endableBody(body, register), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  return direct === undefined ? web : withDirectSse(web, endableDirect(direct, register));
}

/** The direct writer, its sink shut once the stream was ended from outside. */
function endableDirect(direct: DirectSse, register: RegisterEnd): DirectSse {
  return {
    async run(sink) {
      let ended = false;
      // Frames the stream still writes after its end (the error of its own abort) are dropped.
      const guarded: SseSink = {
        write: (frame) => ended || sink.write(frame),
        ready: () => sink.ready(),
        get closed() {
          return ended || sink.closed;
        },
        end: () => {
          if (!ended) sink.end();
        },
      };
      let forgotten = false;
      const forget = (): void => {
        if (!forgotten) unregister();
        forgotten = true;
      };
      const unregister = register((frame, reason) => {
        if (ended) return;
        // Between two `write` calls the sink is at a frame boundary.
        sink.write(frame);
        ended = true;
        forget();
        sink.end();
        direct.cancel(reason);
      });
      try {
        await direct.run(guarded);
      } finally {
        // Over, however it ended: a late end changes nothing.
        ended = true;
        forget();
      }
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
  let wake: (value: typeof ENDED) => void = () => undefined;
  const ended = new Promise<typeof ENDED>((resolve) => {
    wake = resolve;
  });
  const open = (): ReadableStreamDefaultReader<Uint8Array> => {
    if (reader !== undefined) return reader;
    forget = register((frame, reason) => {
      ending ??= { frame, reason };
      wake(ENDED);
    });
    return (reader = body.getReader());
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const source = open();
        try {
          const result = await Promise.race([source.read(), ended]);
          if (result === ENDED) {
            forget();
            controller.enqueue(new TextEncoder().encode(ending?.frame ?? ''));
            controller.close();
            await source.cancel(ending?.reason);
            return;
          }
          if (result.done) {
            forget();
            controller.close();
            return;
          }
          controller.enqueue(result.value);
        } catch (error) {
          forget();
          controller.error(error);
        }
      },
      async cancel(reason) {
        forget();
        await (reader ?? body).cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
