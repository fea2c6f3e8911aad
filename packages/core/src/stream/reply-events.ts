/** The events the stream reader yields, and what a collected reply holds. */
import type { BackendMessage } from '../backend/types.js';
import type { SseReaderOptions } from './sse-reader.js';

/** How the backend encoded the stream: the whole message per event, or `v1` deltas. */
export type StreamEncoding = 'legacy' | 'v1';

/** New text of the visible reply, in order; the concatenation of all deltas is the reply text. */
export interface ReplyDeltaEvent {
  type: 'delta';
  text: string;
  messageId: string;
}

/**
 * The upstream changed text already sent as deltas other than by appending (a `v1` replace or
 * truncate, a legacy snapshot that no longer starts with it): `text` is the whole reply text so
 * far, which replaces everything the deltas gave; later deltas append to it.
 */
export interface ReplyRewriteEvent {
  type: 'rewrite';
  text: string;
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
  | ReplyRewriteEvent
  | ReplyTitleEvent
  | ReplyCommentEvent
  | ReplyUserMessageEvent
  | ReplyCompleteEvent;

/** Options of {@link readReply}: the SSE reader's buffer limit and abort signal, and a cap. */
export interface ReadReplyOptions extends SseReaderOptions {
  /**
   * Characters of message data one reply may make the reader hold before it fails with
   * `upstream_error`. Default `MAX_REPLY_CHARS` (16 MiB); the core passes
   * `limits.upstreamBody`, the cap of every other upstream answer.
   */
  maxReplyChars?: number;
}

/** A reply read to its end: what the JSON response mode needs. */
export interface CollectedReply {
  text: string;
  message: BackendMessage;
  conversationId: string;
  title?: string;
}
