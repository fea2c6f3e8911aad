import { createParser, type ParseError } from 'eventsource-parser';
import { RestError } from '../errors.js';
import { chunksOfWeb, type ByteChunks } from '../http/byte-chunks.js';
import { Utf8Text } from '../http/utf8-text.js';

/** The default cap on one buffered SSE line or event, in characters (4 MiB). */
export const DEFAULT_MAX_BUFFER_SIZE = 4 * 1024 * 1024;

/** One SSE message: its `data` lines joined by `\n`, plus the `event` and `id` fields when sent. */
export interface SseMessage {
  type: 'message';
  event: string | undefined;
  id: string | undefined;
  data: string;
}

/** An SSE comment line (`: ping`), without the leading colon and its one optional space. */
export interface SseComment {
  type: 'comment';
  text: string;
}

/** The end of the input: nothing follows it. */
export interface SseEnd {
  type: 'end';
}

/** What {@link readSse} yields. */
export type SseItem = SseMessage | SseComment | SseEnd;

/** A body to read: a web stream (a `fetch` body) or any async iterable of byte chunks. */
export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Options of {@link readSse}. */
export interface SseReaderOptions {
  /** Largest line or unfinished event, in characters, before the read fails. Default 4 MiB. */
  maxBufferSize?: number;
  /** Stops the read; the generator then throws the signal's reason. */
  signal?: AbortSignal;
  /**
   * Sees each line that is not SSE (no known field, not a comment), which the standard says to
   * ignore: a backend that answers a 200 event-stream with a bare JSON error body sends only these.
   */
  onUnknownLine?: (line: string) => void;
}

/**
 * Cancels a body nobody is reading (nor will): a web stream, the transport's chunks, or any async
 * iterator (returned). Never throws; a web stream already locked by a reader is left to it.
 */
export function cancelByteSource(body: ByteSource, reason?: unknown): void {
  if (isReadableStream(body)) {
    if (!body.locked) body.cancel(reason).catch(() => undefined);
    return;
  }
  const { cancel } = body as Partial<ByteChunks>;
  if (typeof cancel === 'function') cancel.call(body, reason);
  else {
    const iterator = (body as Partial<AsyncIterator<Uint8Array>>).return;
    if (typeof iterator === 'function') {
      Promise.resolve(iterator.call(body)).catch(() => undefined);
    }
  }
}

function isReadableStream(body: ByteSource): body is ReadableStream<Uint8Array> {
  return typeof (body as { getReader?: unknown }).getReader === 'function';
}

/**
 * Cancels `chunks` with the signal's reason when it fires, when they can be cancelled (a web
 * stream's, the transport's), so an upstream body is never left half-read and holding its
 * connection; returns the undo.
 */
function cancelOnAbort(chunks: AsyncIterable<Uint8Array>, signal?: AbortSignal): () => void {
  const { cancel } = chunks as Partial<ByteChunks>;
  if (signal === undefined || typeof cancel !== 'function') return () => undefined;
  const onAbort = (): void => cancel.call(chunks, signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/**
 * Reads Server-Sent Events from a byte body: UTF-8 decoded across chunk boundaries, LF, CRLF and
 * CR line endings, comments surfaced, and a final `{type: 'end'}` once the input is exhausted.
 * A line or event longer than `maxBufferSize` throws a `RestError('upstream_error')`.
 */
export async function* readSse(
  body: ByteSource,
  options: SseReaderOptions = {},
): AsyncGenerator<SseItem, void, undefined> {
  for await (const batch of readSseBatches(body, options)) yield* batch;
}

/**
 * {@link readSse} in batches: the items of each input chunk as one array, so a consumer pays one
 * asynchronous step per network chunk instead of one per event. Empty batches are not yielded.
 */
export async function* readSseBatches(
  body: ByteSource,
  options: SseReaderOptions = {},
): AsyncGenerator<SseItem[], void, undefined> {
  const { maxBufferSize = DEFAULT_MAX_BUFFER_SIZE, signal, onUnknownLine } = options;
  if (signal?.aborted === true) {
    // Never read, so cancelled here: an unread body holds its connection (and a token's lease).
    cancelByteSource(body, signal.reason);
    signal.throwIfAborted();
  }

  let queue: SseItem[] = [];
  let overflow: ParseError | undefined;
  const parser = createParser({
    maxBufferSize,
    onEvent: (event) =>
      queue.push({ type: 'message', event: event.event, id: event.id, data: event.data }),
    onComment: (text) => queue.push({ type: 'comment', text }),
    // Unknown fields and bad `retry` values are ignored, as the SSE standard says; only the
    // buffer limit ends the read.
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflow = error;
      else if (error.type === 'unknown-field' && error.line !== undefined) {
        onUnknownLine?.(error.line);
      }
    },
  });
  const decoder = new Utf8Text();

  const feed = (text: string): void => {
    if (text === '') return;
    parser.feed(text);
    if (overflow !== undefined) {
      throw new RestError(
        'upstream_error',
        `The upstream stream sent a line longer than the limit of ${maxBufferSize} characters.`,
        { cause: overflow },
      );
    }
  };
  const take = (): SseItem[] => {
    const batch = queue;
    queue = [];
    return batch;
  };

  // A consumer that stops early ends the loop, which returns (cancels) the chunks.
  const chunks = isReadableStream(body) ? chunksOfWeb(body) : body;
  const undo = cancelOnAbort(chunks, signal);
  try {
    for await (const chunk of chunks) {
      signal?.throwIfAborted();
      feed(decoder.write(chunk));
      if (queue.length > 0) yield take();
    }
  } catch (error) {
    // An abort that broke the source off (the transport destroys the request) is the abort.
    signal?.throwIfAborted();
    throw error;
  } finally {
    undo();
  }
  signal?.throwIfAborted();
  // Real captures end with `data: [DONE]` and no blank line, so the last event is dispatched
  // rather than dropped; "\n\n" also completes a trailing CR into one line ending.
  feed(decoder.end());
  feed('\n\n');
  queue.push({ type: 'end' });
  yield take();
}
