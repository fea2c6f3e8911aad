/**
 * A body read as an async iterator of byte chunks, the shape the core's own readers take: an
 * upstream event stream read straight from Node's response is one, with no web `ReadableStream`
 * in between (in Node 20 one costs ~15 us to build and every read passes its promise machinery).
 * Adapters turn a web stream into one and back, for `fetch`-style hosts and injected fetches.
 */
export interface ByteChunks extends AsyncIterableIterator<Uint8Array, undefined> {
  /**
   * Stops the read. A reason (the client left, a shutdown) stops the upstream at once; none (the
   * reader is done early, after `[DONE]`) lets the source keep its connection if it can.
   */
  cancel(reason?: unknown): void;
}

/** The result of a finished read. */
export const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** The chunks of a web stream, cancelled as {@link ByteChunks.cancel} says; its lock released at the end. */
export function chunksOfWeb(body: ReadableStream<Uint8Array>): ByteChunks {
  const reader = body.getReader();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      const { done, value } = await reader.read();
      if (!done) return { done: false, value };
      reader.releaseLock();
      return DONE;
    },
    // Stopped early: the stream is cancelled and its lock released (nobody can read it on).
    async return() {
      await reader.cancel().catch(() => undefined);
      reader.releaseLock();
      return DONE;
    },
    cancel(reason) {
      reader.cancel(reason).catch(() => undefined);
    },
  };
}

/** A web stream reading `chunks` only as fast as its reader pulls (for `fetch`-style readers). */
export function webOfChunks(chunks: ByteChunks): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await chunks.next();
        if (done === true) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        chunks.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * `chunks` passed through unchanged, calling `done` once when they end, fail or are cancelled,
 * and `see` with each chunk on the way.
 */
export function watchChunks(
  chunks: ByteChunks,
  done: () => void,
  see?: (chunk: Uint8Array) => void,
): ByteChunks {
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    done();
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        const result = await chunks.next();
        if (result.done === true) finish();
        else see?.(result.value);
        return result;
      } catch (error) {
        finish();
        throw error;
      }
    },
    async return() {
      finish();
      await chunks.return?.();
      return DONE;
    },
    cancel(reason) {
      finish();
      chunks.cancel(reason);
    },
  };
}
