/**
 * Reading event streams in tests with the project's own readers, so a test never parses
 * differently from the code it checks: a stream arriving chunk by chunk goes through the core's
 * `readSse` (what the product reads upstream streams with); a whole stream text goes through the
 * emulator's `parseSse` (what it compares captures with). Both follow the standard's line rules
 * (LF, CRLF, CR; comments; multi-line data).
 */
import { parseSse } from '@chatgpt-rest/emulator';
import { readSse } from '../../packages/core/src/stream/sse-reader.js';
import type { Json } from './http.js';

/** One event: its name (`message` when the stream named none) and its data, JSON-parsed when it parses. */
export interface SseEvent {
  event: string;
  data: Json;
}

function parsed(data: string): Json {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/**
 * The events of a live response, one by one as they arrive. With `comments: true`, a comment
 * line (`: ping`) is yielded as `{event: 'comment', data: <its text>}`.
 */
export async function* readEvents(
  response: Response,
  options: { comments?: boolean } = {},
): AsyncGenerator<SseEvent> {
  if (response.body === null) return;
  for await (const item of readSse(response.body, { maxBufferSize: 64 * 1024 * 1024 })) {
    if (item.type === 'message') yield { event: item.event ?? 'message', data: parsed(item.data) };
    else if (item.type === 'comment' && options.comments === true) {
      yield { event: 'comment', data: item.text };
    }
  }
}

/** Every event of a live response (see {@link readEvents}). */
export async function allEvents(
  response: Response,
  options: { comments?: boolean } = {},
): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readEvents(response, options)) events.push(event);
  return events;
}

/** The events of a whole stream text that carry data (comment-only blocks left out). */
export function sseEvents(text: string): SseEvent[] {
  return parseSse(text).flatMap((block) =>
    block.data === undefined ? [] : [{ event: block.event ?? 'message', data: parsed(block.data) }],
  );
}

/**
 * The `data` of every event of a backend stream text, JSON-parsed where it parses, else as sent
 * (`[DONE]`, a heartbeat's timestamp).
 */
export function dataPayloads(text: string): Json[] {
  return sseEvents(text).map((event): Json => event.data as unknown);
}

/** The JSON `data` of a backend stream text: `[DONE]`, empty and unparsable payloads left out. */
export function dataEvents(text: string): Json[] {
  return parseSse(text).flatMap((block): Json[] => {
    if (block.data === undefined || block.data === '[DONE]' || block.data === '') return [];
    try {
      return [JSON.parse(block.data)];
    } catch {
      return [];
    }
  });
}
