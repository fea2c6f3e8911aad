/** Held-token state on Redis: leases, caps and evictions, the conversation→account map. */
import type { Redis } from 'ioredis';
import type { AccountsView, SlotOptions, TokenStore } from '@chatgpt-rest/core';
import type { Keys } from './keys.js';
import type { RedisLeases } from './leases.js';
import type { ResolvedRedisOptions } from './options.js';

/** The {@link TokenStore} of a Redis store: every instance sees what any of them learnt. */
export class RedisTokens implements TokenStore {
  readonly #client: Redis;
  readonly #keys: Keys;
  readonly #leases: RedisLeases;
  readonly #options: ResolvedRedisOptions;
  readonly #onError: (what: string) => void;

  constructor(
    client: Redis,
    keys: Keys,
    leases: RedisLeases,
    options: ResolvedRedisOptions,
    onError: (what: string) => void,
  ) {
    this.#client = client;
    this.#keys = keys;
    this.#leases = leases;
    this.#options = options;
    this.#onError = onError;
  }

  acquireSlot(account: string, options: SlotOptions): Promise<() => void> {
    return this.#leases.acquire(account, options);
  }

  queued(account: string): number {
    return this.#leases.queued(account);
  }

  async markCapped(account: string, until: number): Promise<void> {
    const ttl = Math.max(1, Math.round(until - Date.now()));
    await this.#client.set(this.#keys.cap(account), String(until), 'PX', ttl);
  }

  async markEvicted(account: string, reason: string): Promise<void> {
    const ttl = this.#options.evictedTtlMs;
    await this.#client.set(this.#keys.evicted(account), reason, 'PX', ttl, 'NX');
  }

  /** One MGET: each account's cap, eviction and lease, and the conversation's account. */
  async view(accounts: readonly string[], conversationId?: string): Promise<AccountsView> {
    const keys = accounts.flatMap((account) => [
      this.#keys.cap(account),
      this.#keys.evicted(account),
      this.#keys.lease(account),
    ]);
    if (conversationId !== undefined) keys.push(this.#keys.sticky(conversationId));
    const values = await this.#client.mget(keys).catch((error: unknown) => {
      this.#onError('tokens');
      throw error;
    });
    const states = accounts.map((_, index) => {
      const [cap, evicted, lease] = values.slice(index * 3, index * 3 + 3);
      const cappedUntil = Number(cap ?? 0);
      return {
        cappedUntil: Number.isFinite(cappedUntil) ? cappedUntil : 0,
        evicted: typeof evicted === 'string' && evicted !== '' ? evicted.slice(0, 64) : undefined,
        busy: lease !== null && lease !== undefined,
      };
    });
    const sticky = conversationId === undefined ? undefined : values[accounts.length * 3];
    if (typeof sticky === 'string' && conversationId !== undefined) {
      // Used again: remembered for another full TTL (fire and forget).
      this.#client
        .pexpire(this.#keys.sticky(conversationId), this.#options.stickyTtlMs)
        .catch(() => undefined);
    }
    return { states, sticky: typeof sticky === 'string' ? sticky : undefined };
  }

  async remember(conversationId: string, account: string): Promise<void> {
    await this.#client.set(
      this.#keys.sticky(conversationId),
      account,
      'PX',
      this.#options.stickyTtlMs,
    );
  }

  /**
   * Nothing to drop: every key (caps, evictions, leases, sticky conversations) is shared with
   * the other instances, some of which may still hold the token, and each expires by its TTL.
   * This process keeps nothing of its own per account.
   */
  forget(): void {
    // Shared state is left to its TTLs.
  }
}
