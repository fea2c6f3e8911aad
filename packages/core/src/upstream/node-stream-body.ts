import type { IncomingMessage } from 'node:http';
import { DONE, type ByteChunks } from '../http/byte-chunks.js';

/**
 * How the transport guards an event-stream body, with its failures in the caller's terms: the
 * core's upstream client passes one (its idle timeout and its errors), so it needs no second
 * wrapper around the body. Other `fetch` implementations ignore it.
 */
export interface StreamGuard {
  /** Longest silence while a read is waiting, in ms; then the request is destroyed. */
  idleMs: number;
  /** The error the body fails with after such a silence. */
  idleError: () => unknown;
  /** The error the body fails with when the connection breaks mid-body (`error`: Node's). */
  brokenError: (error: unknown) => unknown;
}

/** Marks a response whose body the transport guards as a {@link StreamGuard} asked. */
const GUARDED = Symbol('chatgpt-rest.guarded-body');

/** True when the transport already guards `response`'s body (idle timeout, broken connection). */
export function isGuardedBody(response: Response): boolean {
  return (response as Response & { [GUARDED]?: true })[GUARDED] === true;
}

/** Marks `response` as guarded by the transport. */
export function markGuarded(response: Response): Response {
  Object.defineProperty(response, GUARDED, { value: true });
  return response;
}

/** Bodies whose reader is done with them: only their own limits may cut them now. */
const released = new WeakSet<IncomingMessage>();

/** True once the reader of `res`'s body stopped and the rest is only drained (see `release`). */
export function isReleased(res: IncomingMessage): boolean {
  return released.has(res);
}

/** What may still come after a reader stopped: the chunked terminator, hardly more. */
const DRAIN_BYTES = 16 * 1024;
const DRAIN_MS = 1000;

/**
 * Gives `res`'s connection back to the agent's pool: at once when the body is all in, else once
 * the rest of it (within {@link DRAIN_BYTES} and {@link DRAIN_MS}) has been read and dropped;
 * past either, `res` is destroyed with its connection. Destroying a body not yet at its end
 * closes the socket: every message would then open a new connection (a TLS handshake).
 */
function release(res: IncomingMessage): void {
  released.add(res);
  if (res.complete) {
    res.resume();
    return;
  }
  let left = DRAIN_BYTES;
  const timer = setTimeout(() => res.destroy(), DRAIN_MS).unref();
  res.on('data', (chunk: Buffer) => {
    left -= chunk.byteLength;
    if (left < 0) res.destroy();
  });
  res.once('close', () => clearTimeout(timer));
  res.resume();
}

function terminated(): Error {
  return Object.assign(new Error('terminated'), { code: 'ECONNRESET' });
}

/**
 * The body of an event stream read straight from Node's response as byte chunks, with no web
 * stream: each `next()` takes what Node has buffered (back-pressure: nothing is read ahead of the
 * consumer beyond Node's own buffer), a silence longer than `guard.idleMs` while a read waits
 * destroys the response, and cancelling with a reason destroys it (and with it the request);
 * stopping without one releases it (see `release`). There is no limit on total duration.
 */
export function nodeBodyChunks(res: IncomingMessage, guard: StreamGuard | undefined): ByteChunks {
  return new NodeBodyChunks(res, guard);
}

type Waiter = {
  resolve: (result: IteratorResult<Uint8Array, undefined>) => void;
  reject: (error: unknown) => void;
};

class NodeBodyChunks implements ByteChunks {
  readonly #res: IncomingMessage;
  readonly #guard: StreamGuard | undefined;
  #waiter: Waiter | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  #failure: { error: unknown } | undefined;
  readonly #onReadable = (): void => {
    if (this.#waiter === undefined) return;
    const chunk = this.#res.read() as Buffer | null;
    if (chunk !== null) this.#wake({ done: false, value: chunk });
  };

  readonly #onIdle = (): void => {
    if (this.#waiter !== undefined && this.#guard !== undefined)
      this.#fail(this.#guard.idleError());
  };

  constructor(res: IncomingMessage, guard: StreamGuard | undefined) {
    this.#res = res;
    this.#guard = guard;
    res.on('readable', this.#onReadable);
    res.once('end', () => {
      if (this.#failure !== undefined) return;
      this.#ended = true;
      this.#settle();
      this.#wake(DONE);
    });
    const broken = (error: unknown): void => this.#fail(guard?.brokenError(error) ?? error);
    res.on('error', broken);
    // `close` before `end`: the connection broke mid-body.
    res.once('close', () => {
      if (!this.#ended) broken(terminated());
    });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array, undefined>> {
    // The guard's error (or Node's): the caller's RestError in the core.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error);
    const chunk = this.#ended ? null : (this.#res.read() as Buffer | null);
    if (chunk !== null) return Promise.resolve({ done: false, value: chunk });
    if (this.#ended) return Promise.resolve(DONE);
    if (this.#guard !== undefined) {
      if (this.#timer === undefined) this.#timer = setTimeout(this.#onIdle, this.#guard.idleMs);
      else this.#timer.refresh();
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Uint8Array, undefined>> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  cancel(reason?: unknown): void {
    const over = this.#ended || this.#failure !== undefined;
    this.#ended = true;
    this.#settle();
    this.#wake(DONE);
    if (over) return;
    // A reason (the client left, a shutdown) must stop the upstream now; a reader that only
    // stopped early (after `[DONE]`) leaves the connection for the next call if it can.
    if (reason === undefined) release(this.#res);
    else this.#res.destroy();
  }

  #wake(result: IteratorResult<Uint8Array, undefined> | { error: unknown }): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    if ('error' in result) waiter.reject(result.error);
    else waiter.resolve(result);
  }

  #fail(error: unknown): void {
    if (this.#ended || this.#failure !== undefined) return;
    this.#failure = { error };
    this.#settle();
    this.#res.destroy();
    this.#wake(this.#failure);
  }

  #settle(): void {
    clearTimeout(this.#timer);
    this.#res.off('readable', this.#onReadable);
  }
}
