/**
 * The state machine of one reply stream: SSE messages in (legacy snapshots or `v1` patches, the
 * encoding detected per event), reply events out. `readReply` (reply-reader.ts) feeds it bytes.
 */
import type { BackendMessage } from '../backend/types.js';
import { RestError } from '../errors.js';
import type { SseMessage } from './sse-reader.js';
import { detailError, inStreamError, moderationError } from './stream-errors.js';
import {
  applyV1Delta,
  INITIAL_V1_CURSOR,
  V1Work,
  type V1Cursor,
  type V1Operation,
} from './v1-patch.js';
import { isObject, type Json } from '../backend/json.js';
import { LegacySnapshots } from './legacy-snapshots.js';
import { ReplyLimits } from './reply-limits.js';
import { authorRole } from '../conversation/reply.js';
import type { ReplyCompleteEvent, ReplyEvent, StreamEncoding } from './reply-events.js';
import {
  contentOf,
  hasVisibleContent,
  isVisibleReply,
  normalize,
  startsWithText,
  textOf,
} from './stream-messages.js';

const TEXT_PATH = '/message/content/parts/0';
/** `2023-02-21 07:00:21.653311`: the heartbeat lines of the 2023 backend. */
const HEARTBEAT = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?$/;

function isTextAppend(op: V1Operation): op is V1Operation & { v: string } {
  return op.o === 'append' && op.p === TEXT_PATH && typeof op.v === 'string';
}

/** True when an operation may change the message's identity or text other than by appending. */
function mayRewriteText(op: V1Operation): boolean {
  return op.p === '' || op.p === '/message' || op.p.startsWith('/message/content');
}

interface Tracked {
  message: Json;
  /** This message's text as already sent (deltas or rewrites); held, compared only when needed. */
  sent: string;
  visible: boolean;
  /** The size of its last legacy snapshot, which the reply holds. */
  snapshotChars: number;
}

/** True when an operation replaces the whole state (a new message starts). */
function replacesRoot(op: V1Operation): boolean {
  return op.p === '' || op.p === '/';
}

/** A conversation id as the backend makes them (UUIDs), with room for other URL-safe ids. */
const CONVERSATION_ID = /^[\w.:~-]{1,256}$/;

/**
 * The pure state machine behind `readReply`: feed it SSE messages, get reply events.
 * It detects the encoding per event, so legacy and `v1` streams (and a mix) need no setting.
 */
export class ReplyAssembler {
  /** True once `[DONE]` was read; {@link ReplyAssembler.complete} may then be called. */
  done = false;
  private encoding: StreamEncoding | undefined;
  private state: unknown = {};
  private cursor: V1Cursor = INITIAL_V1_CURSOR;
  /** The stream's array shifts, bounded (see `MAX_V1_SHIFTED`). */
  private readonly work = new V1Work();
  private conversationId = '';
  private title: string | undefined;
  private skippedLines = 0;
  private readonly messages = new Map<string, Tracked>();
  /** Ids of visible replies, in the order they became visible. */
  private readonly visibleIds: string[] = [];
  private lastOtherId: string | undefined;
  private readonly echoed = new Set<string>();
  /** The id of the `v1` message being patched, to follow a `replace` of its id. */
  private currentId: string | undefined;
  private readonly limits: ReplyLimits;
  private readonly snapshots = new LegacySnapshots();

  /** `maxReplyChars`: characters of message data the reply may make it hold (default 16 MiB). */
  constructor(maxReplyChars?: number) {
    this.limits = new ReplyLimits(maxReplyChars);
  }

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
      value = this.snapshots.parse(trimmed);
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
    this.learnConversationId(data.conversation_id);
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
      this.currentId = undefined;
      const tracked = this.sync(undefined, events);
      if (tracked !== undefined) this.limits.holdSnapshot(tracked, raw.length);
    } else if (isDelta) {
      this.encoding ??= 'v1';
      const result = applyV1Delta(this.state, data, this.cursor, this.work);
      if (this.work.exceeded) throw this.limits.tooMuchShifting();
      this.state = result.state;
      this.cursor = result.cursor;
      this.limits.holdDelta(result.applied, raw);
      // An added root carries its own `error` field.
      const root = this.state;
      if (isObject(root)) {
        const rootFailure = inStreamError(root);
        if (rootFailure !== undefined) throw rootFailure;
        this.learnConversationId(root.conversation_id);
      }
      if (result.applied.some(replacesRoot)) this.currentId = undefined;
      this.sync(result.applied, events);
    }
  }

  /**
   * Keeps the first conversation id the stream names. It goes back to clients, into paths and
   * into a response header (the OpenAI route's): one that is no id (a control character made
   * Node refuse the header, leaving the response hanging) fails the stream as the upstream's.
   */
  private learnConversationId(id: unknown): void {
    if (typeof id !== 'string' || id === '' || this.conversationId !== '') return;
    if (!CONVERSATION_ID.test(id)) {
      throw new RestError(
        'upstream_error',
        'The upstream stream sent a malformed conversation id.',
        {
          upstreamStatus: 200,
        },
      );
    }
    this.conversationId = id;
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
      authorRole(message) !== 'user' ||
      typeof message.id !== 'string' ||
      this.echoed.has(message.id) ||
      !hasVisibleContent(message)
    ) {
      return;
    }
    this.limits.admit(this.echoed.size, 'user messages');
    this.limits.hold(message.id.length);
    this.echoed.add(message.id);
    events.push({ type: 'user_message', message: normalize(message) });
  }

  /**
   * Records the current message after a state change and emits its new visible text. For `v1`
   * appends the appended strings are the delta; otherwise (legacy snapshots, odd patches) the
   * text is compared with what was sent: its new end is the delta, and a text that no longer
   * starts with what was sent is a rewrite. Returns the message's entry, if it has an id.
   */
  private sync(applied: V1Operation[] | undefined, events: ReplyEvent[]): Tracked | undefined {
    const root = this.state;
    if (!isObject(root) || !isObject(root.message) || typeof root.message.id !== 'string') return;
    const message = root.message;
    const id = root.message.id;
    if (applied !== undefined) this.follow(id);
    const role = authorRole(message);
    if (role === 'user') this.echoUser(message, events);
    else if (role === 'assistant' || role === 'tool') this.lastOtherId = id;

    let tracked = this.messages.get(id);
    if (tracked === undefined) {
      this.limits.admit(this.messages.size, 'messages');
      tracked = { message, sent: '', visible: false, snapshotChars: 0 };
      this.messages.set(id, tracked);
    } else tracked.message = message;
    // A message once visible stays part of the reply: if it turns odd, its text is what it shows.
    if (!tracked.visible && !isVisibleReply(message)) return tracked;
    if (!tracked.visible) {
      tracked.visible = true;
      this.visibleIds.push(id);
    }
    const delta = this.newText(tracked, textOf(message), applied);
    if (delta === undefined) this.rewrite(events);
    else if (delta !== '') events.push({ type: 'delta', text: delta, messageId: id });
    return tracked;
  }

  /**
   * The text to send after `sent`: the appended strings when the operations only appended (no
   * comparison), else the end of `text` past `sent`; undefined when `text` rewrote `sent`.
   */
  private newText(
    tracked: Tracked,
    text: string,
    applied: V1Operation[] | undefined,
  ): string | undefined {
    const { sent } = tracked;
    tracked.sent = text;
    if (applied !== undefined && applied.every((op) => isTextAppend(op) || !mayRewriteText(op))) {
      const appended = applied.filter(isTextAppend).map((op) => op.v);
      const length = appended.reduce((sum, part) => sum + part.length, 0);
      if (sent.length + length === text.length) return appended.join('');
    }
    if (startsWithText(text, sent)) return text.slice(sent.length);
    return undefined;
  }

  /** Emits the whole reply text so far, within the stream's budget of rewrite characters. */
  private rewrite(events: ReplyEvent[]): void {
    const text = this.visibleText();
    this.limits.rewrite(text.length);
    events.push({ type: 'rewrite', text });
  }

  /**
   * Follows the `v1` message being patched: a `replace` of its `/message/id` renames it rather
   * than starting another message (whose text would repeat it).
   */
  private follow(id: string): void {
    const previous = this.currentId;
    this.currentId = id;
    if (previous === undefined || previous === id || this.messages.has(id)) return;
    const tracked = this.messages.get(previous);
    if (tracked === undefined) return;
    this.messages.delete(previous);
    this.messages.set(id, tracked);
    const index = this.visibleIds.indexOf(previous);
    if (index >= 0) this.visibleIds[index] = id;
    if (this.lastOtherId === previous) this.lastOtherId = id;
  }

  /** The visible assistant messages' texts, concatenated: the reply text so far. */
  private visibleText(): string {
    return this.visibleIds.map((id) => textOf(this.messages.get(id)?.message ?? {})).join('');
  }

  /** The final event; throws `upstream_error` when the stream carried no reply message at all. */
  complete(): ReplyCompleteEvent {
    const visible = this.visibleIds.map((id) => this.messages.get(id)?.message ?? {});
    const text = this.visibleText();
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
