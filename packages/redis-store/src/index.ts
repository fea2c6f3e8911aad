/**
 * @chatgpt-rest/redis-store: the shared state of many chatgpt-rest instances on Redis: message
 * leases per account, caps and evictions, the conversation→token map and the conversation
 * cache. Give it to the core as `store: createRedisStore({ url })`.
 */
export { RedisStore, createRedisStore } from './store.js';
export { COMPACT_AFTER } from './cache.js';
export { hashOf } from './keys.js';
export { redactRedisUrl, type RedisStoreOptions } from './options.js';
