import type { IncomingMessage } from 'node:http';

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
 * The body of an event stream read straight from Node's response, one web stream and no
 * adapter: each read takes what Node has buffered (back-pressure: nothing is read ahead of the
 * consumer beyond Node's own buffer), a silence longer than `guard.idleMs` while a read waits
 * destroys the response, and cancelling it destroys the response (and with it the request).
 * There is no limit on total duration.
 */
export function nodeStreamBody(
  res: IncomingMessage,
  guard: StreamGuard | undefined,
): ReadableStream<Uint8Array> {
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const finish = (): void => {
    settled = true;
    clearTimeout(timer);
    res.off('readable', onReadable);
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const fail = (error: unknown): void => {
    if (settled) return;
    controller.error(error);
    finish();
    res.destroy();
  };
  const onReadable = (): void => {
    if (wake === undefined) return;
    const chunk = res.read() as Buffer | null;
    if (chunk === null) return;
    controller.enqueue(chunk);
    const resume = wake;
    wake = undefined;
    resume();
  };
  const onIdle = (): void => {
    if (wake !== undefined && guard !== undefined) fail(guard.idleError());
  };
  res.on('readable', onReadable);
  res.once('end', () => {
    if (settled) return;
    controller.close();
    finish();
  });
  const broken = (error: unknown): void => fail(guard?.brokenError(error) ?? error);
  res.on('error', broken);
  // `close` before `end`: the connection broke mid-body.
  res.once('close', () => {
    if (!settled) broken(terminated());
  });
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull(c) {
        const chunk = res.read() as Buffer | null;
        if (chunk !== null) {
          c.enqueue(chunk);
          return undefined;
        }
        if (settled) return undefined;
        if (guard !== undefined) {
          if (timer === undefined) timer = setTimeout(onIdle, guard.idleMs);
          else timer.refresh();
        }
        return new Promise<void>((resolve) => {
          wake = resolve;
        });
      },
      cancel(reason) {
        finish();
        // A reason (the client left, a shutdown) must stop the upstream now; a reader that only
        // stopped early (after `[DONE]`) leaves the connection for the next call if it can.
        if (reason === undefined) release(res);
        else res.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}
