import type { BackendMessage } from '../backend/types.js';
import { RestError } from '../errors.js';
import {
  readSseBatches,
  type ByteSource,
  type SseMessage,
  type SseReaderOptions,
} from './sse-reader.js';
import { bareBodyError, detailError, inStreamError, moderationError } from './stream-errors.js';
import { applyV1Delta, INITIAL_V1_CURSOR, type V1Cursor, type V1Operation } from './v1-patch.js';

/** How the backend encoded the stream: the whole message per event, or `v1` deltas. */
export type StreamEncoding = 'legacy' | 'v1';

/** New text of the visible reply, in order; the concatenation of all deltas is the reply text. */
export interface ReplyDeltaEvent {
  type: 'delta';
  text: string;
  messageId: string;
}

/** A title the backend generated; it may come twice, and the last one wins. */
export interface ReplyTitleEvent {
  type: 'title';
  title: string;
}

/** An SSE comment of the upstream (`: ping - …`), for callers that forward keep-alives. */
export interface ReplyCommentEvent {
  type: 'comment';
  text: string;
}

/** The echo of the user's message, which carries the id the backend stored it under. */
export interface ReplyUserMessageEvent {
  type: 'user_message';
  message: BackendMessage;
}

/** The end of a reply, at `[DONE]`. */
export interface ReplyCompleteEvent {
  type: 'complete';
  /**
   * The last visible assistant message with `content.parts[0]` set to the whole reply text; when
   * the stream had no visible text (a tool call, an image job), the last assistant or tool message.
   */
  message: BackendMessage;
  conversationId: string;
  /** The reply text: the visible assistant messages' texts, concatenated. */
  text: string;
  /** The last generated title, when one came. */
  title?: string;
  /** The encoding seen, when the stream showed one. */
  encoding?: StreamEncoding;
  /** Data lines that were not JSON and were skipped. */
  skippedLines: number;
}

/** What {@link readReply} yields. */
export type ReplyEvent =
  | ReplyDeltaEvent
  | ReplyTitleEvent
  | ReplyCommentEvent
  | ReplyUserMessageEvent
  | ReplyCompleteEvent;

/** Options of {@link readReply}: the SSE reader's buffer limit and abort signal. */
export type ReadReplyOptions = SseReaderOptions;

/** A reply read to its end: what the JSON response mode needs. */
export interface CollectedReply {
  text: string;
  message: BackendMessage;
  conversationId: string;
  title?: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Content types a person sees as the answer; thoughts, code, recaps and contexts are machinery. */
const VISIBLE_CONTENT_TYPES = new Set(['text', 'multimodal_text']);
const TEXT_PATH = '/message/content/parts/0';
/** `2023-02-21 07:00:21.653311`: the heartbeat lines of the 2023 backend. */
const HEARTBEAT = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?$/;

/** The role of a message: `author.role`, or the top-level `role` of the earliest streams. */
function roleOf(message: Json): unknown {
  return isObject(message.author) ? message.author.role : message.role;
}

function contentOf(message: Json): Json | undefined {
  return isObject(message.content) ? message.content : undefined;
}

function textOf(message: Json): string {
  const parts = contentOf(message)?.parts;
  const first: unknown = Array.isArray(parts) ? parts[0] : undefined;
  return typeof first === 'string' ? first : '';
}

function isHidden(message: Json): boolean {
  const metadata = message.metadata;
  return isObject(metadata) && metadata.is_visually_hidden_from_conversation === true;
}

function hasVisibleContent(message: Json): boolean {
  const type = contentOf(message)?.content_type;
  return typeof type === 'string' && VISIBLE_CONTENT_TYPES.has(type) && !isHidden(message);
}

/** True for the answer a person sees: an assistant message to everyone on the final channel. */
function isVisibleReply(message: Json): boolean {
  const { recipient, channel } = message;
  return (
    roleOf(message) === 'assistant' &&
    (recipient === undefined || recipient === null || recipient === 'all') &&
    (channel === undefined || channel === null || channel === 'final') &&
    hasVisibleContent(message)
  );
}

/** The message in the shared shape: the earliest streams' `role` becomes `author.role`. */
function normalize(message: Json): BackendMessage {
  if (isObject(message.author) || typeof message.role !== 'string') {
    return message as BackendMessage;
  }
  return { ...message, author: { role: message.role } } as BackendMessage;
}

function isTextAppend(op: V1Operation): op is V1Operation & { v: string } {
  return op.o === 'append' && op.p === TEXT_PATH && typeof op.v === 'string';
}

/** True when an operation may change the message's identity or text other than by appending. */
function mayRewriteText(op: V1Operation): boolean {
  return op.p === '' || op.p === '/message' || op.p.startsWith('/message/content');
}

interface Tracked {
  message: Json;
  /** Length of this message's text already sent as deltas: lengths, never whole strings, compare. */
  emitted: number;
  visible: boolean;
}

/**
 * The pure state machine behind {@link readReply}: feed it SSE messages, get reply events.
 * It detects the encoding per event, so legacy and `v1` streams (and a mix) need no setting.
 */
export class ReplyAssembler {
  /** True once `[DONE]` was read; {@link ReplyAssembler.complete} may then be called. */
  done = false;
  private encoding: StreamEncoding | undefined;
  private state: unknown = {};
  private cursor: V1Cursor = INITIAL_V1_CURSOR;
  private conversationId = '';
  private title: string | undefined;
  private skippedLines = 0;
  private readonly messages = new Map<string, Tracked>();
  /** Ids of visible replies, in the order they became visible. */
  private readonly visibleIds: string[] = [];
  private lastOtherId: string | undefined;
  private readonly echoed = new Set<string>();

  /** Handles one SSE message and returns the reply events it produced; throws a `RestError`. */
  push(message: SseMessage): ReplyEvent[] {
    if (this.done || message.event === 'ping') return [];
    if (message.event === 'delta_encoding') {
      this.encoding = 'v1';
      return [];
    }
    const events: ReplyEvent[] = [];
    this.handleData(message.data, events);
    return events;
  }

  private handleData(data: string, events: ReplyEvent[]): void {
    const trimmed = data.trim();
    if (trimmed === '' || HEARTBEAT.test(trimmed)) return;
    if (trimmed === '[DONE]') {
      this.done = true;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      // Some proxies end events with one newline, so several `data:` lines reach us as one
      // event; the backend's JSON never holds a raw newline, so each line is an event.
      if (trimmed.includes('\n')) {
        for (const line of trimmed.split('\n')) {
          if (this.done) return;
          this.handleData(line.replace(/\r$/, ''), events);
        }
      } else this.skippedLines += 1;
      return;
    }
    if (value === 'v1') this.encoding = 'v1';
    else if (isObject(value)) this.handleObject(value, trimmed, events);
  }

  private handleObject(data: Json, raw: string, events: ReplyEvent[]): void {
    const failure = this.errorOf(data, raw);
    if (failure !== undefined) throw failure;
    if (typeof data.conversation_id === 'string' && this.conversationId === '') {
      this.conversationId = data.conversation_id;
    }
    if (typeof data.type === 'string') {
      this.handleSideEvent(data, events);
      return;
    }
    const isDelta = 'v' in data || 'o' in data;
    if (!isDelta && 'message' in data) {
      // A legacy event is the whole root: the same as a `v1` add at "".
      this.encoding ??= 'legacy';
      this.state = data;
      this.cursor = INITIAL_V1_CURSOR;
      this.sync(undefined, events);
    } else if (isDelta) {
      this.encoding ??= 'v1';
      const result = applyV1Delta(this.state, data, this.cursor);
      this.state = result.state;
      this.cursor = result.cursor;
      // An added root carries its own `error` field.
      const root = this.state;
      if (isObject(root)) {
        const rootFailure = inStreamError(root);
        if (rootFailure !== undefined) throw rootFailure;
        if (typeof root.conversation_id === 'string' && this.conversationId === '') {
          this.conversationId = root.conversation_id;
        }
      }
      this.sync(result.applied, events);
    }
  }

  private errorOf(data: Json, raw: string): RestError | undefined {
    if ('detail' in data && data.detail != null && !('message' in data) && !('v' in data)) {
      return detailError(data, raw);
    }
    return moderationError(data) ?? inStreamError(data);
  }

  private handleSideEvent(data: Json, events: ReplyEvent[]): void {
    if (data.type === 'title_generation' && typeof data.title === 'string') {
      this.title = data.title;
      events.push({ type: 'title', title: data.title });
    } else if (data.type === 'input_message' && isObject(data.input_message)) {
      this.echoUser(data.input_message, events);
    }
    // Every other typed event (markers, metadata, tokens, async status, unknown ones) is ignored.
  }

  private echoUser(message: Json, events: ReplyEvent[]): void {
    if (
      roleOf(message) !== 'user' ||
      typeof message.id !== 'string' ||
      this.echoed.has(message.id) ||
      !hasVisibleContent(message)
    ) {
      return;
    }
    this.echoed.add(message.id);
    events.push({ type: 'user_message', message: normalize(message) });
  }

  /**
   * Records the current message after a state change and emits its new visible text. For `v1`
   * appends the appended strings are the delta; otherwise (legacy snapshots, odd patches) the
   * text past the length already sent is, so no event re-reads the whole text.
   */
  private sync(applied: V1Operation[] | undefined, events: ReplyEvent[]): void {
    const root = this.state;
    if (!isObject(root) || !isObject(root.message) || typeof root.message.id !== 'string') return;
    const message = root.message;
    const id = root.message.id;
    const role = roleOf(message);
    if (role === 'user') this.echoUser(message, events);
    else if (role === 'assistant' || role === 'tool') this.lastOtherId = id;

    let tracked = this.messages.get(id);
    if (tracked === undefined) {
      tracked = { message, emitted: 0, visible: false };
      this.messages.set(id, tracked);
    } else tracked.message = message;
    if (!isVisibleReply(message)) return;
    if (!tracked.visible) {
      tracked.visible = true;
      this.visibleIds.push(id);
    }

    const text = textOf(message);
    if (text.length <= tracked.emitted) return;
    let delta: string | undefined;
    if (applied !== undefined && applied.every((op) => isTextAppend(op) || !mayRewriteText(op))) {
      const appended = applied.filter(isTextAppend).map((op) => op.v);
      const length = appended.reduce((sum, part) => sum + part.length, 0);
      if (tracked.emitted + length === text.length) delta = appended.join('');
    }
    delta ??= text.slice(tracked.emitted);
    tracked.emitted = text.length;
    events.push({ type: 'delta', text: delta, messageId: id });
  }

  /** The final event; throws `upstream_error` when the stream carried no reply message at all. */
  complete(): ReplyCompleteEvent {
    const visible = this.visibleIds.map((id) => this.messages.get(id)?.message ?? {});
    const text = visible.map(textOf).join('');
    const last = visible.at(-1);
    let message: BackendMessage;
    if (last !== undefined) {
      const content = contentOf(last) ?? {};
      const parts: unknown[] = Array.isArray(content.parts) ? (content.parts as unknown[]) : [];
      message = normalize({ ...last, content: { ...content, parts: [text, ...parts.slice(1)] } });
    } else {
      const other =
        this.lastOtherId === undefined ? undefined : this.messages.get(this.lastOtherId);
      if (other === undefined) {
        throw new RestError('upstream_error', 'The upstream stream finished without a reply.', {
          upstreamStatus: 200,
        });
      }
      message = normalize(other.message);
    }
    return {
      type: 'complete',
      message,
      conversationId: this.conversationId,
      text,
      ...(this.title === undefined ? {} : { title: this.title }),
      ...(this.encoding === undefined ? {} : { encoding: this.encoding }),
      skippedLines: this.skippedLines,
    };
  }
}

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
 * Reads a backend reply stream (legacy or `v1`) into reply events, ending with `complete` at
 * `[DONE]`. Throws a `RestError`: `upstream_error` for a stream without `[DONE]`, an in-stream
 * error, a blocked moderation or an over-long line; the mapped code for a `detail` error body.
 */
export async function* readReply(
  body: ByteSource,
  options: ReadReplyOptions = {},
): AsyncGenerator<ReplyEvent, void, undefined> {
  const assembler = new ReplyAssembler();
  const bare = bareBodyCollector();
  for await (const batch of readSseBatches(body, { ...options, onUnknownLine: bare.add })) {
    for (const item of batch) {
      if (item.type === 'comment') {
        yield { type: 'comment', text: item.text };
      } else if (item.type === 'message') {
        bare.stop();
        yield* assembler.push(item);
        if (assembler.done) {
          // Returning here cancels the rest of the body: nothing after `[DONE]` matters.
          yield assembler.complete();
          return;
        }
      }
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
