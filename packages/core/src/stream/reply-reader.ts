/**
 * Reads a backend reply stream into reply events ({@link readReply}) or into the whole reply
 * ({@link collectReply}), feeding its SSE messages to a {@link ReplyAssembler}.
 */
import { RestError } from '../errors.js';
import { ReplyAssembler } from './reply-assembler.js';
import { readSseBatches, type ByteSource } from './sse-reader.js';
import { bareBodyError } from './stream-errors.js';
import type { CollectedReply, ReadReplyOptions, ReplyEvent } from './reply-events.js';

export * from './reply-events.js';
export { ReplyAssembler } from './reply-assembler.js';
export { MAX_REPLY_CHARS, MAX_REPLY_MESSAGES, MAX_REWRITE_CHARS } from './reply-limits.js';

/** Characters of non-SSE lines kept to explain a stream that sent no event at all. */
const MAX_BARE_BODY = 64 * 1024;

/**
 * Collects the lines that are not SSE until the first event: when a 200 event-stream ends without
 * any event, they are the body, e.g. the bare JSON of a 401 sent instead of `data:` lines.
 */
function bareBodyCollector(): {
  add: (line: string) => void;
  stop: () => void;
  error: () => RestError | undefined;
} {
  let lines: string[] | undefined = [];
  let size = 0;
  return {
    add: (line) => {
      if (lines === undefined) return;
      size += line.length + 1;
      if (size > MAX_BARE_BODY) lines = undefined;
      else lines.push(line);
    },
    stop: () => {
      lines = undefined;
    },
    error: () =>
      lines === undefined || lines.length === 0 ? undefined : bareBodyError(lines.join('\n')),
  };
}

/**
 * The events of one network chunk without the deltas and rewrites a later rewrite of the same
 * chunk replaces (it carries the whole text), so a burst of rewrites costs one.
 */
function withoutSupersededText(events: ReplyEvent[]): ReplyEvent[] {
  const last = events.findLastIndex((event) => event.type === 'rewrite');
  if (last <= 0) return events;
  return events.filter(
    (event, index) => index >= last || (event.type !== 'delta' && event.type !== 'rewrite'),
  );
}

/**
 * Reads a backend reply stream (legacy or `v1`) into reply events, ending with `complete` at
 * `[DONE]`. Throws a `RestError`: `upstream_error` for a stream without `[DONE]`, an in-stream
 * error, a blocked moderation or an over-long line; the mapped code for a `detail` error body.
 */
export async function* readReply(
  body: ByteSource,
  options: ReadReplyOptions = {},
): AsyncGenerator<ReplyEvent, void, undefined> {
  const assembler = new ReplyAssembler(options.maxReplyChars);
  const bare = bareBodyCollector();
  for await (const batch of readSseBatches(body, { ...options, onUnknownLine: bare.add })) {
    const events: ReplyEvent[] = [];
    try {
      for (const item of batch) {
        if (item.type === 'comment') events.push({ type: 'comment', text: item.text });
        else if (item.type === 'message') {
          bare.stop();
          for (const event of assembler.push(item)) events.push(event);
          if (assembler.done) break;
        }
      }
    } finally {
      // What came before a failure is still delivered, then the failure is thrown.
      yield* withoutSupersededText(events);
    }
    if (assembler.done) {
      // Returning here cancels the rest of the body: nothing after `[DONE]` matters.
      yield assembler.complete();
      return;
    }
  }
  throw (
    bare.error() ??
    new RestError('upstream_error', 'The upstream stream ended before [DONE].', {
      upstreamStatus: 200,
    })
  );
}

/** Drains {@link readReply} into the whole reply: the JSON mode is the stream mode collected. */
export async function collectReply(
  body: ByteSource,
  options: ReadReplyOptions = {},
): Promise<CollectedReply> {
  for await (const event of readReply(body, options)) {
    if (event.type === 'complete') {
      return {
        text: event.text,
        message: event.message,
        conversationId: event.conversationId,
        ...(event.title === undefined ? {} : { title: event.title }),
      };
    }
  }
  // readReply either yields `complete` or throws; this line is only reached if that changes.
  throw new RestError('upstream_error', 'The upstream stream ended before [DONE].');
}
