import { LRUCache } from 'lru-cache';
import type { BackendConversation, BackendMessage } from '../backend/types.js';
import { addMessage, jsonLength, setTitle } from './message-tree.js';

/** A cached conversation tree; `complete` when it came from the upstream, not rebuilt from a stream. */
export interface CachedConversation {
  conversation: BackendConversation;
  complete: boolean;
}

/** A message to add to a cached tree, under `parentId`. */
export interface PlacedMessage {
  message: BackendMessage;
  parentId: string;
}

/** A cache's figures as metrics read them (`stats()`). */
export interface CacheStats {
  entries: number;
  /** The cached trees' size (their JSON length), as the size bound counts it. */
  bytes: number;
  /** Trees dropped so far: for room (count or size bound), or past their TTL. */
  evictions: { capacity: number; expired: number };
}

/** Cache bounds: entry count, approximate bytes, and time to live in milliseconds. */
export interface CacheBounds {
  max: number;
  maxSize: number;
  ttl: number;
}

/** What the LRU holds: an entry and the JSON length of its tree, kept up to date by each change. */
interface Stored {
  entry: CachedConversation;
  bytes: number;
}

/**
 * The conversation-tree cache, keyed by (principal, conversation id). The key is the JSON of that
 * pair, so no principal/id pair can collide with another; a principal is a label or a hash,
 * never an access token.
 *
 * A tree given to {@link set} belongs to the cache from then on: {@link addMessages} changes it in
 * place, so that a turn costs the same in a long conversation as in a new one. Whoever gets a
 * tree (from {@link set}'s caller or {@link get}) only reads it, and reads it before it awaits
 * anything; every change goes through this class, which keeps the entry's size exact. The size of
 * an entry is the length of its tree's JSON (as the LRU's `sizeCalculation` once measured it on
 * every set), measured once when a tree is stored and then grown by what each change adds.
 */
export class ConversationCache {
  readonly #lru: LRUCache<string, Stored> | undefined;
  readonly #evictions = { capacity: 0, expired: 0 };

  constructor(bounds: CacheBounds | false) {
    this.#lru =
      bounds === false
        ? undefined
        : new LRUCache<string, Stored>({
            max: bounds.max,
            maxSize: bounds.maxSize,
            ttl: bounds.ttl,
            // Counted for metrics; a replaced or deleted tree is no eviction.
            dispose: (_value, _key, reason) => {
              if (reason === 'evict') this.#evictions.capacity++;
              else if (reason === 'expire') this.#evictions.expired++;
            },
          });
  }

  static #key(principal: string, id: string): string {
    return JSON.stringify([principal, id]);
  }

  /** The cached tree of a conversation, if fresh. Read it, never change it. */
  get(principal: string, id: string): CachedConversation | undefined {
    return this.#lru?.get(ConversationCache.#key(principal, id))?.entry;
  }

  /**
   * Stores a tree, which the cache owns from then on (a tree larger than the whole cache is
   * silently not kept). Measures the tree once: call it with a tree read or built whole, not
   * on every change.
   */
  set(principal: string, id: string, entry: CachedConversation): void {
    this.#store(ConversationCache.#key(principal, id), entry, jsonLength(entry.conversation));
  }

  /**
   * Adds messages to a cached tree in place, each under its parent, the last one becoming the
   * current node, then sets the title if given. The work is that of the messages added, not of
   * the tree. False when the conversation is not cached (nothing is stored then).
   */
  addMessages(
    principal: string,
    id: string,
    messages: readonly PlacedMessage[],
    title?: string,
  ): boolean {
    const key = ConversationCache.#key(principal, id);
    const stored = this.#lru?.get(key);
    if (stored === undefined) return false;
    const { conversation } = stored.entry;
    let bytes = stored.bytes;
    for (const { message, parentId } of messages)
      bytes += addMessage(conversation, message, parentId);
    if (title !== undefined) bytes += setTitle(conversation, title);
    // Grown past the whole cache, the tree is dropped, as a tree that large is never stored.
    this.#store(key, stored.entry, bytes);
    return true;
  }

  #store(key: string, entry: CachedConversation, bytes: number): void {
    // Always a new `Stored`: the LRU takes a new size only with a value other than the one held.
    this.#lru?.set(key, { entry, bytes }, { size: Math.max(1, bytes) });
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

  /** The size of every cached tree together (JSON length, as `maxSize` counts it). */
  get bytes(): number {
    return this.#lru?.calculatedSize ?? 0;
  }

  /** The figures metrics read: entries, bytes, evictions so far. */
  stats(): CacheStats {
    return { entries: this.size, bytes: this.bytes, evictions: { ...this.#evictions } };
  }

  /** The size the cache counts for one conversation's tree, if cached (for tests and metrics). */
  sizeOf(principal: string, id: string): number | undefined {
    return this.#lru?.peek(ConversationCache.#key(principal, id))?.bytes;
  }
}
