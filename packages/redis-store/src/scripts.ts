/**
 * The Lua scripts that make each lease step atomic on the Redis server: take the lease (or
 * queue for it, first come first served), renew it while a stream lives, free it, leave the
 * queue. Times are the Redis server's (`TIME`), so the instances' clocks never disagree.
 */

/** Milliseconds on the Redis server's clock. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: lease, queue (zset holder → enqueue time), beats (hash holder → last poll).
 * ARGV: holder, lease ttl ms, queue size, stale ms, queue ttl ms.
 * Returns 1 (taken), 0 (queued, waiting) or -1 (queue full).
 */
export const ACQUIRE = `${NOW}
local holder = ARGV[1]
for _, waiter in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local beat = tonumber(redis.call('HGET', KEYS[3], waiter) or '0')
  if now - beat > tonumber(ARGV[4]) then
    redis.call('ZREM', KEYS[2], waiter)
    redis.call('HDEL', KEYS[3], waiter)
  end
end
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if redis.call('EXISTS', KEYS[1]) == 0 and (head == nil or head == holder) then
  redis.call('SET', KEYS[1], holder, 'PX', ARGV[2])
  redis.call('ZREM', KEYS[2], holder)
  redis.call('HDEL', KEYS[3], holder)
  return 1
end
if not redis.call('ZSCORE', KEYS[2], holder) then
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return -1 end
  redis.call('ZADD', KEYS[2], now, holder)
end
redis.call('HSET', KEYS[3], holder, now)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 0`;

/** KEYS: lease. ARGV: holder, ttl ms. 1 when still held and renewed, 0 when lost. */
export const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** KEYS: lease. ARGV: holder, wake channel, account. Frees a lease still held and wakes waiters. */
export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0`;

/** KEYS: queue, beats. ARGV: holder, wake channel, account. Leaves the queue; wakes the next. */
export const LEAVE = `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

/**
 * The Redis-wide bound of the conversation cache, shared by the scripts that write a cached
 * conversation: `index(key, idx, ttl, max, prefix)` puts `key` at the newest end of the index
 * (a sorted set scored by Redis's clock in µs), pushes the index's TTL back, and when the index
 * holds more than `max` keys pops the oldest (at most 1000 per call, so a lowered bound never
 * makes one long script) and deletes their hashes and their principal's set member.
 * The principal's set is named from the key (`…conv:<principal>:<conversation>`, 32-char hashes).
 */
const INDEX = `local function index(key, idx, ttl, max, prefix)
  local t = redis.call('TIME')
  local now = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  redis.call('ZADD', idx, now, key)
  redis.call('PEXPIRE', idx, ttl)
  local over = redis.call('ZCARD', idx) - tonumber(max)
  if over <= 0 then return end
  local old = redis.call('ZPOPMIN', idx, math.min(over, 1000))
  for i = 1, #old, 2 do
    redis.call('DEL', old[i])
    redis.call('SREM', prefix .. 'principal:' .. string.sub(old[i], -65, -34), old[i])
  end
end`;

/**
 * KEYS: a cached conversation, its principal's set, the cache index.
 * ARGV: generation, tree (JSON), complete ('1'/'0'), ttl ms, max entries, key prefix.
 * Writes the conversation whole under a new generation, indexed and bounded (see INDEX).
 */
export const WRITE = `${INDEX}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'g', ARGV[1], 'n', 0, 't', ARGV[2], 'c', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
index(KEYS[1], KEYS[3], ARGV[4], ARGV[5], ARGV[6])
return 1`;

/**
 * KEYS: a cached conversation (hash g, n, t, o1…on), its principal's set, the cache index.
 * ARGV: the turn's operation (JSON), ttl ms, max entries, key prefix.
 * Appends the operation when the conversation is cached, renewing the TTL of the hash, of its
 * principal's set (so that a conversation kept alive by appends alone is still found by a
 * delete-all) and of the index, and refreshing its place in the index; returns
 * { generation, n } or nil.
 */
export const APPEND = `${INDEX}
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'o' .. n, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local generation = redis.call('HGET', KEYS[1], 'g')
index(KEYS[1], KEYS[3], ARGV[2], ARGV[3], ARGV[4])
return { generation, n }`;
