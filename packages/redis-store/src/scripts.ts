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
 * KEYS: a cached conversation (hash g, n, t, o1…on). ARGV: the turn's operation (JSON), ttl ms.
 * Appends the operation when the conversation is cached; returns { generation, n } or nil.
 */
export const APPEND = `if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'o' .. n, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return { redis.call('HGET', KEYS[1], 'g'), n }`;
