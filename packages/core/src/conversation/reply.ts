import type { BackendAuthor, BackendMessage } from '../backend/types.js';
import { isObject } from '../backend/json.js';

/** The reply object of the REST API (the seed's nine fields, plus `title` on a new conversation). */
export interface Reply {
  author: { role: BackendAuthor['role']; name: string | null; metadata: Record<string, unknown> };
  /** The whole text of the message. */
  message: string;
  conversation_id: string;
  /** The id of this message: pass it as `parent_id` to continue after it. */
  parent_id: string;
  model: string | null;
  /** The upstream's `finish_details.type`: `stop`, `max_tokens`, `interrupted`, or null. */
  finish_details: string | null;
  end_turn: boolean | null;
  recipient: string;
  citations: unknown[];
  /** Only on `/conversations/new`. */
  title?: string;
}

/** One entry of `GET /conversations/{id}/messages`: a {@link Reply} plus its ISO creation time. */
export interface ThreadMessage extends Reply {
  create_time: string | null;
}

/** The visible text of a message: its string parts, joined. */
export function messageText(message: BackendMessage): string {
  const parts = message.content.parts ?? [];
  let text = '';
  for (const part of parts) if (typeof part === 'string') text += part;
  return text;
}

/**
 * The role a message names, from `author.role` or the earliest streams' top-level `role`;
 * undefined when it names none. Any JSON message may be asked (streams are read unchecked).
 */
export function authorRole(message: { author?: unknown; role?: unknown }): string | undefined {
  const { author, role } = message;
  const named =
    typeof author === 'object' && author !== null ? (author as { role?: unknown }).role : undefined;
  if (typeof named === 'string') return named;
  return typeof role === 'string' ? role : undefined;
}

/** The role of a message; a message that names none is the assistant's (the oldest streams). */
export function messageRole(message: BackendMessage): string {
  return authorRole(message) ?? 'assistant';
}

/**
 * True for a message addressed to everyone on the final channel and not hidden: what a person
 * could see, whatever its role and content. The one visibility rule of trees and streams.
 */
export function isForEveryone(message: {
  recipient?: unknown;
  channel?: unknown;
  metadata?: unknown;
}): boolean {
  const { recipient, channel, metadata } = message;
  const hidden =
    typeof metadata === 'object' &&
    metadata !== null &&
    (metadata as { is_visually_hidden_from_conversation?: unknown })
      .is_visually_hidden_from_conversation === true;
  return (recipient ?? 'all') === 'all' && (channel == null || channel === 'final') && !hidden;
}

/**
 * Builds the REST reply object of a backend message. Streams are read unchecked, so each field
 * is taken only when of the type the REST contract gives it (else its empty value).
 */
export function toReply(message: BackendMessage, conversationId: string, text?: string): Reply {
  const role = messageRole(message);
  const isUser = role === 'user';
  const metadata: Record<string, unknown> = isObject(message.metadata) ? message.metadata : {};
  // The earliest streams had no `author`, only a top-level `role`.
  const author: Record<string, unknown> = isObject(message.author) ? message.author : {};
  const finish = metadata.finish_details;
  return {
    author: {
      role,
      name: stringOrNull(author.name),
      metadata: isObject(author.metadata) ? author.metadata : {},
    },
    message: text ?? messageText(message),
    conversation_id: conversationId,
    parent_id: message.id,
    model: isUser ? null : stringOrNull(metadata.model_slug),
    finish_details: isUser || !isObject(finish) ? null : stringOrNull(finish.type),
    end_turn: isUser || typeof message.end_turn !== 'boolean' ? null : message.end_turn,
    recipient: typeof message.recipient === 'string' ? message.recipient : 'all',
    citations: Array.isArray(metadata.citations) ? (metadata.citations as unknown[]) : [],
  };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
