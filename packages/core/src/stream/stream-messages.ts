/** Reading backend messages as a stream carries them (unchecked JSON): text, visibility, shape. */
import { isObject, type Json } from '../backend/json.js';
import type { BackendMessage } from '../backend/types.js';
import { authorRole, isForEveryone } from '../conversation/reply.js';

/** Content types a person sees as the answer; thoughts, code, recaps and contexts are machinery. */
const VISIBLE_CONTENT_TYPES = new Set(['text', 'multimodal_text']);

export function contentOf(message: Json): Json | undefined {
  return isObject(message.content) ? message.content : undefined;
}

export function textOf(message: Json): string {
  const parts = contentOf(message)?.parts;
  const first: unknown = Array.isArray(parts) ? parts[0] : undefined;
  return typeof first === 'string' ? first : '';
}

export function hasVisibleContent(message: Json): boolean {
  const type = contentOf(message)?.content_type;
  return typeof type === 'string' && VISIBLE_CONTENT_TYPES.has(type);
}

/** True for the answer a person sees: an assistant message to everyone on the final channel. */
export function isVisibleReply(message: Json): boolean {
  return (
    authorRole(message) === 'assistant' && isForEveryone(message) && hasVisibleContent(message)
  );
}

/** The message in the shared shape: the earliest streams' `role` becomes `author.role`. */
export function normalize(message: Json): BackendMessage {
  if (isObject(message.author) || typeof message.role !== 'string') {
    return message as BackendMessage;
  }
  return { ...message, author: { role: message.role } } as BackendMessage;
}

/**
 * True when `text` starts with `prefix`. As a memory compare of a slice: V8's `startsWith` walks
 * both strings char by char, which over a reply's whole text on every event is quadratic.
 */
export function startsWithText(text: string, prefix: string): boolean {
  return text.length >= prefix.length && text.slice(0, prefix.length) === prefix;
}
