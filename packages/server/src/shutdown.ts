/**
 * Graceful shutdown: stop accepting, let running requests finish until a deadline, then end live
 * streams with an `error` event (aborting their upstream requests) and close every connection.
 */
import type { Server, ServerResponse } from 'node:http';
import { RestError, sseErrorFrame, type Logger } from '@chatgpt-rest/core';
import type { PassThrough } from './pass-through.js';

/** The message of the `error` event that ends streams at shutdown. */
export const SHUTDOWN_MESSAGE = 'server shutting down';

/** The frame that ends a stream at shutdown, naming the request's id when known. */
export function shutdownFrame(requestId: string | undefined): string {
  return sseErrorFrame(new RestError('upstream_unavailable', SHUTDOWN_MESSAGE), 'rest', requestId);
}

/**
 * The stoppers of live REST event streams. Once `stopAll` ran (shutdown's deadline), a stream
 * that starts late is stopped as it registers, so none goes out without the shutdown frame.
 */
export class StreamStoppers {
  readonly #stops = new Set<() => void>();
  #stopping = false;

  /** Keeps `stop` until the returned function forgets it; stops at once when already stopping. */
  add(stop: () => void): () => void {
    this.#stops.add(stop);
    const forget = (): void => {
      this.#stops.delete(stop);
    };
    if (this.#stopping) stop();
    return forget;
  }

  stopAll(): void {
    this.#stopping = true;
    for (const stop of [...this.#stops]) stop();
  }

  get size(): number {
    return this.#stops.size;
  }
}

/** Resolves after `ms`, or at once when `done` settles first; the timer never outlives it. */
async function within(done: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([done, deadline]);
  clearTimeout(timer);
}

/** The responses of a server, to know when it is idle and to cut what is left at the end. */
export class ActiveResponses {
  readonly #open = new Set<ServerResponse>();
  #idle: (() => void) | undefined;

  /** Counts `res` until it closes. */
  add(res: ServerResponse): void {
    this.#open.add(res);
    res.once('close', () => {
      this.#open.delete(res);
      if (this.#open.size === 0) this.#idle?.();
    });
  }

  get size(): number {
    return this.#open.size;
  }

  /** Resolves once no response is open. */
  drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#idle = resolve;
      if (this.#open.size === 0) resolve();
    });
  }

  /** Cuts every open response. */
  destroyAll(): void {
    for (const res of this.#open) res.destroy();
  }
}

/** What {@link shutdown} stops. */
export interface ShutdownParts {
  server: Server;
  active: ActiveResponses;
  /** Stoppers of live REST event streams (the core's `endableSse`). */
  restStreams: StreamStoppers;
  passThrough: PassThrough | undefined;
  logger: Logger;
}

/** Closes the server: running requests get until `deadlineMs`, live streams then end with an error. */
export async function shutdown(parts: ShutdownParts, deadlineMs: number): Promise<void> {
  const { server, active, passThrough } = parts;
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const drained = active.drained();
  await within(drained, deadlineMs);
  if (active.size > 0) {
    parts.logger.warn({ open: active.size }, 'shutdown deadline reached: ending live streams');
    parts.restStreams.stopAll();
    passThrough?.stopStreams(SHUTDOWN_MESSAGE);
    // A stream gets a moment to write its error event; anything still open is cut.
    await within(drained, 1000);
    active.destroyAll();
  }
  server.closeAllConnections();
  passThrough?.close();
  await serverClosed;
}
