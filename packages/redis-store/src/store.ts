/**
 * The Redis store: the shared state of many chatgpt-rest instances in one Redis (or Valkey)
 * through ioredis. Leases fail closed: while Redis cannot be reached, a request that needs a
 * held token is answered 503 `upstream_unavailable` at once (no offline queue); the cache falls
 * back to the upstream; the client reconnects on its own and `/readyz` says so meanwhile.
 */
import { Redis } from 'ioredis';
import type { CacheBounds, CacheStore, SharedStore, StoreHealth } from '@chatgpt-rest/core';
import { RedisCache } from './cache.js';
import { Keys } from './keys.js';
import { RedisLeases, defineLeaseCommands } from './leases.js';
import {
  checkRedisUrl,
  resolveRedisOptions,
  type RedisStoreOptions,
  type ResolvedRedisOptions,
} from './options.js';
import { RedisTokens } from './tokens.js';

/** How often a failure of the same kind is logged at most, in ms. */
const WARN_EVERY_MS = 10_000;

function connect(options: RedisStoreOptions, resolved: ResolvedRedisOptions): Redis {
  if (options.client !== undefined) return options.client;
  if (options.url === undefined) {
    throw new TypeError('chatgpt-rest: the Redis store needs a url or a client');
  }
  checkRedisUrl(options.url);
  return new Redis(options.url, {
    // Fail fast while Redis is away: a command is refused at once, never queued.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: resolved.commandTimeoutMs,
    connectTimeout: Math.max(resolved.commandTimeoutMs, 1000),
    // Reconnects on its own, backing off up to 2 s between tries.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    lazyConnect: false,
  });
}

/** A {@link SharedStore} on Redis. */
export class RedisStore implements SharedStore {
  readonly tokens: RedisTokens;
  readonly client: Redis;
  readonly #subscriber: Redis;
  readonly #keys: Keys;
  readonly #leases: RedisLeases;
  readonly #options: ResolvedRedisOptions;
  readonly #ownsClient: boolean;
  #cache: RedisCache | undefined;
  #lastWarning = 0;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.#options = resolveRedisOptions(options);
    this.#ownsClient = options.client === undefined;
    this.client = connect(options, this.#options);
    this.#keys = new Keys(this.#options.prefix);
    defineLeaseCommands(this.client);
    const onError = (what: string): void => this.#warn(what);
    this.#leases = new RedisLeases(this.client, this.#keys, this.#options, onError);
    this.tokens = new RedisTokens(this.client, this.#keys, this.#leases, this.#options, onError);
    // Pub/sub takes a connection of its own; ioredis subscribes again after a reconnect.
    this.#subscriber = this.client.duplicate({ enableOfflineQueue: true });
    this.#subscriber.on('message', (_channel: string, account: string) =>
      this.#leases.wake(account),
    );
    this.#subscriber.subscribe(this.#keys.wake).catch(() => this.#warn('subscribe'));
    this.client.on('error', () => this.#warn('connection'));
    this.client.on('close', () => this.#warn('connection lost'));
    this.#subscriber.on('error', () => this.#warn('connection'));
    this.client.on('ready', () => {
      if (this.#lastWarning !== 0) this.#options.logger.info({ store: 'redis' }, 'Redis is back');
      this.#lastWarning = 0;
    });
  }

  /** Logs a failure at most once per 10 s; never the error's text (it may name the address). */
  #warn(what: string): void {
    const now = Date.now();
    if (this.#closed || now - this.#lastWarning < WARN_EVERY_MS) return;
    this.#lastWarning = now;
    this.#options.logger.warn(
      { store: 'redis', failed: what, state: this.client.status },
      'Redis is unreachable: held tokens wait for it (503), the cache asks the upstream',
    );
  }

  conversations(bounds: CacheBounds | false): CacheStore {
    this.#cache ??= new RedisCache(
      this.client,
      this.#keys,
      { bounds, maxEntries: this.#options.maxCachedConversations },
      () => this.#warn('cache'),
    );
    return this.#cache;
  }

  health(): StoreHealth {
    const state = this.client.status;
    return { kind: 'redis', ok: state === 'ready', state };
  }

  /** Resolves once connected, or rejects after `timeoutMs` (the client keeps trying). */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error('Redis did not answer in time'));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriber.disconnect();
    if (this.#ownsClient) {
      await this.client.quit().catch(() => this.client.disconnect());
    }
  }
}

/** Creates a Redis store: `createRedisStore({ url: 'redis://…' })` (connects in the background). */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}
