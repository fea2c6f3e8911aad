import type { BackendAuthor, BackendMessage } from '../backend/types.js';

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

/** The role of a message, from `author.role` or the earliest streams' top-level `role`. */
export function messageRole(message: BackendMessage): string {
  const author = message.author as BackendAuthor | undefined;
  const legacyRole = (message as { role?: unknown }).role;
  return author?.role ?? (typeof legacyRole === 'string' ? legacyRole : 'assistant');
}

/** Builds the REST reply object of a backend message. */
export function toReply(message: BackendMessage, conversationId: string, text?: string): Reply {
  const role = messageRole(message);
  const isUser = role === 'user';
  const metadata = message.metadata ?? {};
  // The earliest streams had no `author`, only a top-level `role`.
  const author = message.author as BackendAuthor | undefined;
  return {
    author: {
      role,
      name: author?.name ?? null,
      metadata: author?.metadata ?? {},
    },
    message: text ?? messageText(message),
    conversation_id: conversationId,
    parent_id: message.id,
    model: isUser ? null : (metadata.model_slug ?? null),
    finish_details: isUser ? null : (metadata.finish_details?.type ?? null),
    end_turn: isUser ? null : (message.end_turn ?? null),
    recipient: message.recipient ?? 'all',
    citations: Array.isArray(metadata.citations) ? metadata.citations : [],
  };
}
