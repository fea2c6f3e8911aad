/**
 * Which upstream conversation an OpenAI-style history continues. Chat clients send the whole
 * history on every call; when its prefix is a branch this server answered for the same principal,
 * the next message goes to that conversation, after that reply, instead of re-sending the
 * history. Keys are hashes of (principal, messages): no text and no token is kept.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ChatMessage } from './chat-request.js';

/** Where a history ends upstream: the conversation and the message to answer after. */
export interface ThreadEnd {
  conversationId: string;
  messageId: string;
}

function keyOf(principal: string, messages: readonly ChatMessage[]): string {
  const hash = createHash('sha256').update(principal).update('\0');
  for (const { role, text } of messages) hash.update(role).update('\0').update(text).update('\0');
  return hash.digest('base64url');
}

/** A bounded index from histories to where they end upstream. */
export class ThreadIndex {
  readonly #lru: LRUCache<string, ThreadEnd>;

  constructor(max: number, ttl: number) {
    this.#lru = new LRUCache({ max, ttl });
  }

  /** Where `messages` (a whole history, the last reply included) ends, if this server made it. */
  find(principal: string, messages: readonly ChatMessage[]): ThreadEnd | undefined {
    return this.#lru.get(keyOf(principal, messages));
  }

  /** Remembers that `messages` ends at `end`. */
  remember(principal: string, messages: readonly ChatMessage[], end: ThreadEnd): void {
    this.#lru.set(keyOf(principal, messages), end);
  }

  /** Forgets every history of a conversation that no longer exists upstream. */
  forget(principal: string, messages: readonly ChatMessage[]): void {
    this.#lru.delete(keyOf(principal, messages));
  }
}
