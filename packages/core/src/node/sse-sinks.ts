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
  // A promise, not an async frame held for the stream's life. A run that failed without its
  // error frame (a throw of the sink's) leaves the stream unfinished: cut it, never leave it open.
  return running
    .catch((error: unknown) => {
      res.destroy();
      throw error;
    })
    .finally(() => {
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

  abort(): void {
    this.#res.destroy();
  }

  buffered(): number {
    return heldFor(this.#res);
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
export function sseReadable(direct: DirectSse, res?: ServerResponse): Readable {
  return new SseReadable(direct, res);
}

/**
 * Bytes `res` holds for its client: its own buffer, plus what its socket's handle has queued for
 * the kernel. A write stays whole in the first until the last of it is written, so only the
 * second (Node's handle field, read if present) moves while a slow client takes a large frame.
 */
function heldFor(res: ServerResponse): number {
  const socket = res.socket as { _handle?: { writeQueueSize?: unknown } | null } | null;
  const queued = socket?._handle?.writeQueueSize;
  return res.writableLength + (typeof queued === 'number' ? queued : 0);
}

/** {@link sseReadable}'s stream: classes, not closures and a literal with a getter per stream. */
class SseReadable extends Readable {
  readonly #direct: DirectSse;
  readonly #sink: PushSink;
  #started = false;

  constructor(direct: DirectSse, res: ServerResponse | undefined) {
    super();
    this.#direct = direct;
    this.#sink = new PushSink(this, res);
  }

  override _read(): void {
    this.#sink.roomAgain();
    if (this.#started) return;
    this.#started = true;
    this.#direct.run(this.#sink).catch((error: unknown) => this.destroy(error as Error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#direct.cancel(error ?? undefined);
    this.#sink.wake();
    callback(error);
  }
}

/** Characters of one tick's frames past which a writer waits for them to be pushed. */
const PENDING_LIMIT = 64 * 1024;

/** The sink that pushes a tick's frames into an {@link SseReadable} as one chunk. */
class PushSink implements SseSink {
  readonly #stream: Readable;
  /** The response the stream is piped into, when known: a slow client's progress shows there. */
  readonly #res: ServerResponse | undefined;
  #pending = '';
  #full = false;
  #waiting: (() => void) | undefined;
  readonly #flush = (): void => {
    if (this.#pending === '') return;
    const chunk = this.#pending;
    this.#pending = '';
    if (!this.#stream.destroyed && !this.#stream.push(chunk)) this.#full = true;
    // A writer that waited for the tick's frames to leave goes on (see `write`).
    else this.wake();
  };

  constructor(stream: Readable, res: ServerResponse | undefined) {
    this.#stream = stream;
    this.#res = res;
  }

  write(frame: string): boolean {
    if (this.#pending === '') process.nextTick(this.#flush);
    this.#pending += frame;
    // Frames that come without a tick between them (many events in one upstream read) wait
    // once a tick holds PENDING_LIMIT: the tick's chunk has a cap as a socket's buffer has.
    return !this.#full && this.#pending.length < PENDING_LIMIT;
  }

  ready(): Promise<void> {
    if (this.#stream.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiting = resolve;
    });
  }

  get closed(): boolean {
    return this.#stream.destroyed;
  }

  end(): void {
    this.#flush();
    if (!this.#stream.destroyed) this.#stream.push(null);
  }

  buffered(): number {
    const held = this.#res === undefined ? 0 : heldFor(this.#res);
    return held + this.#stream.readableLength + this.#pending.length;
  }

  abort(): void {
    // With an error: the framework piping the stream then cuts the response too (see `piped`).
    this.#stream.destroy(new Error('The client stopped reading the event stream.'));
  }

  /** The reader wants more: the buffer has room, and a writer waiting for it goes on. */
  roomAgain(): void {
    this.#full = false;
    this.wake();
  }

  /** Lets a writer waiting in `ready` go on (the stream has room, or is gone). */
  wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }
}
