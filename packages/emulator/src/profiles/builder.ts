/**
 * The frame builder of `v1` streams. Rule of the encoding: the first message of a stream is added
 * with `"p": "", "o": "add"`, later ones as bare `{"v": {...}, "c": n}` (a bare delta repeats the
 * previous operation).
 */
import type { BackendMessage } from '@chatgpt-rest/core/backend';
import { hiddenSystemMessage } from '../conversation-store.js';
import type { EncodeContext } from '../frames.js';
import { dataFrame, moderationFrame } from '../frames.js';
import type { Frame } from '../sse-channel.js';
import type { Turn } from '../turns.js';

/** Per-stream ids shared by several events, as the captures repeat them. */
export interface StreamIds {
  requestId: string;
  turnExchangeId: string;
  turnTraceId: string;
}

/** A stream being built: its frames, the count of messages added and the envelope of one. */
export interface Builder {
  frames: Frame[];
  count: number;
  turn: Turn;
  ids: StreamIds;
  envelope: (message: unknown) => Record<string, unknown>;
}

/** Adds a message (the first with its path and `add`, later ones bare). */
export function add(builder: Builder, message: unknown, textEnd?: number): void {
  const first = builder.count === 0;
  const value = builder.envelope(message);
  builder.frames.push({
    ...dataFrame(
      first ? { p: '', o: 'add', v: value, c: builder.count } : { v: value, c: builder.count },
      textEnd,
    ),
    event: 'delta',
  });
  builder.count += 1;
}

/** A delta event. */
export function delta(builder: Builder, value: unknown, textEnd?: number): void {
  builder.frames.push({ ...dataFrame(value, textEnd), event: 'delta' });
}

/** A side event (`data:` only). */
export function side(builder: Builder, value: Record<string, unknown>): void {
  builder.frames.push(dataFrame({ ...value }));
}

/** Text appends: the first names its path, the next ones are bare. `textEnd` tracks delivery. */
export function appends(
  builder: Builder,
  chunks: string[],
  offset: number,
  firstHasPath: boolean,
): number {
  let end = offset;
  chunks.forEach((chunk, index) => {
    end += chunk.length;
    delta(
      builder,
      index === 0 && firstHasPath
        ? { p: '/message/content/parts/0', o: 'append', v: chunk }
        : { v: chunk },
      end,
    );
  });
  return end;
}

/** A blocked moderation ends the stream after the assistant's start: true when it did. */
export function blocked(builder: Builder, context: EncodeContext): boolean {
  if (context.moderation?.blocked !== true) return false;
  builder.frames.push(moderationFrame(builder.turn, context.moderation));
  return true;
}

/** A message as streams carry it: the stored one's fields, with `overrides`. */
export function message(
  base: BackendMessage,
  overrides: Partial<BackendMessage> & { metadata?: Record<string, unknown> },
): BackendMessage {
  return {
    id: base.id,
    author: { role: base.author.role, name: null, metadata: {} },
    create_time: base.create_time ?? null,
    update_time: null,
    content: base.content,
    status: base.status ?? 'finished_successfully',
    end_turn: base.end_turn ?? null,
    weight: base.weight ?? 1,
    metadata: base.metadata ?? {},
    recipient: 'all',
    channel: null,
    ...overrides,
  };
}

/** A hidden system message with its own metadata. */
export function hidden(
  id: string,
  metadata: Record<string, unknown>,
  extra: Partial<BackendMessage> = {},
): BackendMessage {
  return { ...hiddenSystemMessage(id), metadata, ...extra };
}
