import { LRUCache } from 'lru-cache';
import type { BackendConversation } from '../backend/types.js';

/** A cached conversation tree; `complete` when it came from the upstream, not rebuilt from a stream. */
export interface CachedConversation {
  conversation: BackendConversation;
  complete: boolean;
}

/** Cache bounds: entry count, approximate bytes, and time to live in milliseconds. */
export interface CacheBounds {
  max: number;
  maxSize: number;
  ttl: number;
}

/**
 * The conversation-tree cache, keyed by (principal, conversation id). The key is the JSON of that
 * pair, so no principal/id pair can collide with another; a principal is a label or a hash,
 * never an access token.
 */
export class ConversationCache {
  readonly #lru: LRUCache<string, CachedConversation> | undefined;

  constructor(bounds: CacheBounds | false) {
    this.#lru =
      bounds === false
        ? undefined
        : new LRUCache<string, CachedConversation>({
            max: bounds.max,
            maxSize: bounds.maxSize,
            ttl: bounds.ttl,
            // JSON length approximates the bytes an entry holds; a tree larger than the whole
            // cache is simply not kept.
            sizeCalculation: (entry) => Math.max(1, JSON.stringify(entry.conversation).length),
          });
  }

  static #key(principal: string, id: string): string {
    return JSON.stringify([principal, id]);
  }

  /** The cached tree of a conversation, if fresh. */
  get(principal: string, id: string): CachedConversation | undefined {
    return this.#lru?.get(ConversationCache.#key(principal, id));
  }

  /** Stores a tree (too-large trees are silently not kept). */
  set(principal: string, id: string, entry: CachedConversation): void {
    this.#lru?.set(ConversationCache.#key(principal, id), entry);
  }

  /** Drops one conversation. */
  delete(principal: string, id: string): void {
    this.#lru?.delete(ConversationCache.#key(principal, id));
  }

  /** Drops every conversation of one principal, and only those. */
  deletePrincipal(principal: string): void {
    if (this.#lru === undefined) return;
    for (const key of [...this.#lru.keys()]) {
      const [owner] = JSON.parse(key) as [string, string];
      if (owner === principal) this.#lru.delete(key);
    }
  }

  /** Number of cached conversations. */
  get size(): number {
    return this.#lru?.size ?? 0;
  }
}
