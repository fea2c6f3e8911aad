/** Key names: a prefix, a kind, and a hash; never a token, principal or id in clear. */
import { createHash } from 'node:crypto';

/** A SHA-256 hash (hex, 32 chars) of `value`: what keys name principals and conversations by. */
export function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

/** The store's key names under one prefix. */
export class Keys {
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** The account's message lease: the holder's id, with a TTL. */
  lease(account: string): string {
    return `${this.#prefix}lease:${account}`;
  }

  /** Waiters for the account's lease: holder → enqueue time (a sorted set). */
  queue(account: string): string {
    return `${this.#prefix}queue:${account}`;
  }

  /** Waiters' last polls: holder → time (a hash); a waiter that stops polling is dropped. */
  beats(account: string): string {
    return `${this.#prefix}beats:${account}`;
  }

  /** The account's usage cap: until when (epoch ms), expiring then. */
  cap(account: string): string {
    return `${this.#prefix}cap:${account}`;
  }

  /** The account's eviction: the error code of the 401. */
  evicted(account: string): string {
    return `${this.#prefix}evicted:${account}`;
  }

  /** The account a conversation sticks to. */
  sticky(conversationId: string): string {
    return `${this.#prefix}sticky:${hashOf(conversationId)}`;
  }

  /** A cached conversation tree (a hash: generation, op count, tree, ops). */
  conversation(principal: string, id: string): string {
    return `${this.#prefix}conv:${hashOf(principal)}:${hashOf(id)}`;
  }

  /** The cached conversations of one principal (a set of keys), for delete-all. */
  principal(principal: string): string {
    return `${this.#prefix}principal:${hashOf(principal)}`;
  }

  /**
   * Every cached conversation's key, scored by its last write or append (a sorted set): the
   * oldest are dropped beyond `maxCachedConversations`.
   */
  get cacheIndex(): string {
    return `${this.#prefix}convs`;
  }

  /** The key prefix (the cache index's trim names principals' sets from it). */
  get prefix(): string {
    return this.#prefix;
  }

  /** The pub/sub channel that wakes waiters when a lease is freed. */
  get wake(): string {
    return `${this.#prefix}wake`;
  }
}
