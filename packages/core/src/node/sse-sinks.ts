import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { DirectSse, SseSink } from '../http/sse-response.js';

/**
 * Writes an event stream straight to `res` (its head already sent): back-pressure from
 * `res.write`, the frames of one tick in one socket write ({@link ResponseSink}). A client that leaves, or `signal` aborting (a shutdown),
 * cancels the stream, which aborts the upstream.
 */
export function writeSse(
  res: ServerResponse,
  direct: DirectSse,
  signal: AbortSignal | undefined,
): Promise<void> {
  const sink = new ResponseSink(res);
  const onClose = (): void => {
    if (!res.writableFinished) direct.cancel();
  };
  const onAbort = (): void => {
    direct.cancel(signal?.reason);
    res.destroy();
  };
  // Started before the listeners go on: a stream already being read throws here, leaving none.
  const running = direct.run(sink);
  res.once('close', onClose);
  signal?.addEventListener('abort', onAbort, { once: true });
  // A promise, not an async frame held for the stream's life.
  return running.finally(() => {
    res.off('close', onClose);
    signal?.removeEventListener('abort', onAbort);
  });
}

/**
 * `res` as a stream's sink: the frames of one tick corked into one socket write, uncorked on the
 * next tick so a lone frame leaves at once. A class, not an object literal with a getter: one
 * such literal per open stream took a dictionary of its own (~450 bytes).
 */
class ResponseSink implements SseSink {
  readonly #res: ServerResponse;
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.#res.uncork();
  };

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  write(frame: string): boolean {
    if (!this.#corked) {
      this.#corked = true;
      this.#res.cork();
      process.nextTick(this.#uncork);
    }
    return this.#res.write(frame);
  }

  ready(): Promise<void> {
    return drained(this.#res);
  }

  get closed(): boolean {
    return this.#res.destroyed;
  }

  end(): void {
    this.#res.end();
  }
}

/** Resolves when `res` can take more data, or when it is closed and never will. */
export function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * An event stream as a Node stream for a framework to pipe (Fastify's `reply.send`, Koa's
 * `ctx.body`): it starts when first read, the frames of one tick are pushed as one chunk (one
 * write when piped), and it waits while the framework's buffer is full. Destroying it (the
 * client left) cancels the stream, which aborts the upstream.
 */
export function sseReadable(direct: DirectSse): Readable {
  let started = false;
  let pending = '';
  let full = false;
  let wake: (() => void) | undefined;
  const flush = (): void => {
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    if (!stream.destroyed && !stream.push(chunk)) full = true;
  };
  const resume = (): void => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  const sink: SseSink = {
    write(frame) {
      if (pending === '') process.nextTick(flush);
      pending += frame;
      return !full;
    },
    ready: () =>
      stream.destroyed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            wake = resolve;
          }),
    get closed() {
      return stream.destroyed;
    },
    end() {
      flush();
      if (!stream.destroyed) stream.push(null);
    },
  };
  const stream: Readable = new Readable({
    read() {
      full = false;
      resume();
      if (started) return;
      started = true;
      direct.run(sink).catch((error: unknown) => stream.destroy(error as Error));
    },
    destroy(error, callback) {
      direct.cancel(error ?? undefined);
      resume();
      callback(error);
    },
  });
  return stream;
}
