/**
 * The `store` option, checked. The core never loads a Redis client itself: a Redis store is
 * made by `createRedisStore({ url })` or `createRedisStore({ client })` of
 * `@chatgpt-rest/redis-store` and handed over as a value, so the application owns its
 * connections (awaits `ready()`, calls `close()` at shutdown) and the core stays free of Redis
 * code for everyone else.
 */
import { MemoryStore } from './memory-store.js';
import type { SharedStore } from './store.js';

const HOW = 'store: createRedisStore({ url } or { client }) from @chatgpt-rest/redis-store';

function isStore(value: object): value is SharedStore {
  const store = value as Partial<Record<keyof SharedStore, unknown>>;
  return (
    typeof store.tokens === 'object' &&
    store.tokens !== null &&
    typeof store.conversations === 'function' &&
    typeof store.health === 'function' &&
    typeof store.close === 'function'
  );
}

/**
 * The store to use: the given one, or a new in-memory store. Anything else is a TypeError that
 * says how to make a Redis store; it never echoes the value (a Redis URL may hold a password).
 */
export function resolveStore(store: unknown): SharedStore {
  if (store === undefined) return new MemoryStore();
  if (typeof store === 'object' && store !== null) {
    if (isStore(store)) return store;
    if ('redis' in store || 'url' in store || 'client' in store) {
      throw new TypeError(`chatgpt-rest: option store takes a store, not its settings: ${HOW}`);
    }
  }
  throw new TypeError(`chatgpt-rest: option store must be a store (${HOW}) or left out`);
}
