/** The Redis store's options, checked, and the URL as safe to print. */
import type { Redis } from 'ioredis';
import { MAX_TIMER_MS, silentLogger, type Logger } from '@chatgpt-rest/core';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…` (TLS). Required without `client`. */
  url?: string;
  /**
   * An ioredis client to use instead of `url` (the store duplicates it for pub/sub and never
   * closes it). Give it `enableOfflineQueue: false` to fail fast while Redis is down.
   */
  client?: Redis;
  /** Prefix of every key and channel. @default 'chatgpt-rest:' */
  prefix?: string;
  /**
   * Lifetime of a message lease, in ms: renewed every third of it while the message's stream
   * lives, so a crashed instance's lease frees its token after at most this long.
   * @default 30000
   */
  leaseTtlMs?: number;
  /** How often a waiting message polls its lease besides pub/sub wake-ups, in ms. @default 250 */
  pollMs?: number;
  /** Longest a Redis command may take before it counts as failed, in ms. @default 2000 */
  commandTimeoutMs?: number;
  /** How long a conversation's token is remembered after its last use, in ms. @default 7 days */
  stickyTtlMs?: number;
  /** How long a token the upstream refused (401) stays out of rotation, in ms. @default 24 h */
  evictedTtlMs?: number;
  /**
   * Most conversations cached in Redis at once, across every instance and principal: beyond it
   * the least recently written (or appended to) are dropped. About 8.5 KiB of Redis memory each
   * for a five-turn conversation (docs/deployment.md#sizing): 83 MiB at the default.
   * @default 10000
   */
  maxCachedConversations?: number;
  /** Told when Redis goes away or comes back (never the URL's password). @default silent */
  logger?: Logger;
}

/** The options with defaults applied. */
export interface ResolvedRedisOptions {
  prefix: string;
  leaseTtlMs: number;
  pollMs: number;
  commandTimeoutMs: number;
  stickyTtlMs: number;
  evictedTtlMs: number;
  maxCachedConversations: number;
  logger: Logger;
}

const DAY = 24 * 60 * 60 * 1000;

/** A duration option in ms; timers' at most MAX_TIMER_MS (a longer Node timer fires after 1 ms). */
function duration(name: string, value: number | undefined, fallback: number, max: number): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < 10 || resolved > max) {
    throw new TypeError(
      `chatgpt-rest: redis option ${name} must be an integer of ms from 10 to ${String(max)}`,
    );
  }
  return resolved;
}

function bound(value: number | undefined): number {
  const resolved = value ?? 10_000;
  if (!Number.isInteger(resolved) || resolved < 1 || resolved > 10_000_000) {
    throw new TypeError(
      'chatgpt-rest: redis option maxCachedConversations must be an integer from 1 to 10000000',
    );
  }
  return resolved;
}

/** Applies the defaults and checks every value. */
export function resolveRedisOptions(options: RedisStoreOptions): ResolvedRedisOptions {
  const prefix = options.prefix ?? 'chatgpt-rest:';
  if (!/^[A-Za-z0-9:_.-]{0,64}$/.test(prefix)) {
    throw new TypeError(
      'chatgpt-rest: redis option prefix must be up to 64 of A-Z a-z 0-9 : _ . -',
    );
  }
  return {
    prefix,
    leaseTtlMs: duration('leaseTtlMs', options.leaseTtlMs, 30_000, MAX_TIMER_MS),
    pollMs: duration('pollMs', options.pollMs, 250, MAX_TIMER_MS),
    commandTimeoutMs: duration('commandTimeoutMs', options.commandTimeoutMs, 2000, MAX_TIMER_MS),
    // Redis TTLs only (PEXPIRE), never timers: up to a year.
    stickyTtlMs: duration('stickyTtlMs', options.stickyTtlMs, 7 * DAY, 365 * DAY),
    evictedTtlMs: duration('evictedTtlMs', options.evictedTtlMs, DAY, 365 * DAY),
    maxCachedConversations: bound(options.maxCachedConversations),
    logger: options.logger ?? silentLogger,
  };
}

/**
 * Checks a Redis URL (`redis:` or `rediss:`, a host) without ever echoing it: a message could
 * otherwise print its password.
 */
export function checkRedisUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('chatgpt-rest: the Redis URL is not a URL (redis://[:password@]host:port)');
  }
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
    throw new TypeError('chatgpt-rest: the Redis URL must be redis://host:port or rediss://…');
  }
  return parsed;
}

/** The URL as safe to print or log: user and password replaced by `***`, no query. */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(invalid Redis URL)';
  }
  const auth = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
  return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}
