/**
 * The conversation cache on Redis, with a near-cache in each process.
 *
 * In Redis a conversation is one hash: `g` (a generation, new at every whole write), `t` (the
 * tree's JSON, written whole only by `set`), and the turns added since as operations `o1…on`
 * (`n` counts them): a turn costs Redis the size of its messages, not of the tree. Every 32
 * operations the tree is written whole again, so a reader never replays many.
 *
 * Each process keeps the trees it read in a near-cache (an LRU with the core's cache bounds),
 * checked on every read with one `HMGET g n`: unchanged, it is used as is (no tree crosses the
 * network); grown by other instances' turns, only their operations are fetched and applied in
 * place; replaced or deleted (a rename, a delete, a delete-all through any instance), it is
 * dropped. So a deletion is seen by every instance at its next read, with no stale window.
 *
 * Redis-wide, the cache holds at most `maxEntries` conversations: every write and append puts
 * the conversation's key at the newest end of one sorted set (`convs`), in the same script, and
 * the oldest beyond the bound are deleted there and then (the near-caches of other instances see
 * it at their next read, as any delete).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import {
  addMessage,
  setTitle,
  type CacheBounds,
  type CacheStore,
  type CachedConversation,
  type PlacedMessage,
  type BackendConversation,
} from '@chatgpt-rest/core';
import type { Keys } from './keys.js';
import { APPEND, WRITE } from './scripts.js';

/** Operations after which the tree is written whole again. */
export const COMPACT_AFTER = 32;

/** Most operations fetched one by one on a read; beyond, the conversation is read whole. */
const MAX_GAP = 2 * COMPACT_AFTER;

interface Near {
  principal: string;
  entry: CachedConversation;
  generation: string;
  ops: number;
  bytes: number;
}

interface Operation {
  m: PlacedMessage[];
  t?: string;
}

interface CacheCommands {
  cacheAppend(
    key: string,
    principal: string,
    index: string,
    op: string,
    ttl: number,
    max: number,
    prefix: string,
  ): Promise<[string, number] | null>;
  cacheWrite(
    key: string,
    principal: string,
    index: string,
    generation: string,
    tree: string,
    complete: string,
    ttl: number,
    max: number,
    prefix: string,
  ): Promise<number>;
}

/** The cache's limits: the core's (per tree, per near-cache) and Redis-wide. */
export interface RedisCacheLimits {
  bounds: CacheBounds | false;
  /** Most conversations in Redis at once. */
  maxEntries: number;
}

/** Applies one stored operation to a tree in place; returns by how much its JSON grew. */
function apply(conversation: BackendConversation, raw: string): number {
  const op = JSON.parse(raw) as Operation;
  let grown = 0;
  for (const { message, parentId } of op.m) grown += addMessage(conversation, message, parentId);
  if (typeof op.t === 'string') grown += setTitle(conversation, op.t);
  return grown;
}

/** The cache of a Redis store; failures are misses (the upstream is asked), logged by `onError`. */
export class RedisCache implements CacheStore {
  readonly #client: Redis & CacheCommands;
  readonly #keys: Keys;
  readonly #bounds: CacheBounds | false;
  readonly #maxEntries: number;
  readonly #near: LRUCache<string, Near> | undefined;
  readonly #onError: () => void;

  constructor(client: Redis, keys: Keys, limits: RedisCacheLimits, onError: () => void) {
    client.defineCommand('cacheAppend', { numberOfKeys: 3, lua: APPEND });
    client.defineCommand('cacheWrite', { numberOfKeys: 3, lua: WRITE });
    this.#client = client as Redis & CacheCommands;
    this.#keys = keys;
    const { bounds, maxEntries } = limits;
    this.#bounds = bounds;
    this.#maxEntries = maxEntries;
    this.#onError = onError;
    this.#near =
      bounds === false
        ? undefined
        : new LRUCache<string, Near>({ max: bounds.max, maxSize: bounds.maxSize, ttl: bounds.ttl });
  }

  async #guard<T>(work: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await work();
    } catch {
      this.#onError();
      return fallback;
    }
  }

  get(principal: string, id: string): Promise<CachedConversation | undefined> {
    if (this.#near === undefined) return Promise.resolve(undefined);
    return this.#guard(() => this.#get(principal, id), undefined);
  }

  async #get(principal: string, id: string): Promise<CachedConversation | undefined> {
    const key = this.#keys.conversation(principal, id);
    const [generation, count] = await this.#client.hmget(key, 'g', 'n');
    const ops = Number(count ?? 0);
    if (generation === null || !Number.isInteger(ops) || ops < 0) {
      this.#near?.delete(key);
      return undefined;
    }
    const near = this.#near?.get(key);
    if (near !== undefined && near.generation === generation && near.ops <= ops) {
      if (near.ops === ops) return near.entry;
      // A writer compacts every COMPACT_AFTER operations, so a real gap is small: a larger `n`
      // (corrupt or foreign) must not size an allocation or a command. The whole read is bounded
      // by the fields that exist.
      if (ops - near.ops > MAX_GAP) return this.#load(key, principal);
      const fields = Array.from({ length: ops - near.ops }, (_, i) => `o${near.ops + i + 1}`);
      const missed = await this.#client.hmget(key, ...fields);
      if (missed.every((op): op is string => typeof op === 'string')) {
        for (const op of missed) near.bytes += apply(near.entry.conversation, op);
        this.#keep(key, { ...near, ops });
        return near.entry;
      }
    }
    return this.#load(key, principal);
  }

  /** Reads a conversation whole: its tree, then its operations in order. */
  async #load(key: string, principal: string): Promise<CachedConversation | undefined> {
    const fields = await this.#client.hgetall(key);
    const { g: generation, t: tree, c: complete } = fields;
    if (generation === undefined || tree === undefined) return undefined;
    const conversation = JSON.parse(tree) as BackendConversation;
    let bytes = tree.length;
    let ops = 0;
    for (let op = fields[`o${ops + 1}`]; op !== undefined; op = fields[`o${ops + 1}`]) {
      bytes += apply(conversation, op);
      ops += 1;
    }
    const entry = { conversation, complete: complete === '1' };
    this.#keep(key, { principal, entry, generation, ops, bytes });
    return entry;
  }

  #keep(key: string, near: Near): void {
    this.#near?.set(key, near, { size: Math.max(1, near.bytes) });
  }

  set(principal: string, id: string, entry: CachedConversation): Promise<void> {
    if (this.#bounds === false) return Promise.resolve();
    const key = this.#keys.conversation(principal, id);
    return this.#guard(() => this.#write(key, principal, entry), undefined);
  }

  /** Writes a tree whole under a new generation (a tree larger than the cache is dropped). */
  async #write(key: string, principal: string, entry: CachedConversation): Promise<void> {
    const bounds = this.#bounds as CacheBounds;
    const tree = JSON.stringify(entry.conversation);
    const index = this.#keys.principal(principal);
    if (tree.length > bounds.maxSize) {
      this.#near?.delete(key);
      await this.#forget(principal, [key]);
      return;
    }
    const generation = randomBytes(6).toString('base64url');
    await this.#client.cacheWrite(
      key,
      index,
      this.#keys.cacheIndex,
      generation,
      tree,
      entry.complete ? '1' : '0',
      bounds.ttl,
      this.#maxEntries,
      this.#keys.prefix,
    );
    this.#keep(key, { principal, entry, generation, ops: 0, bytes: tree.length });
  }

  addMessages(
    principal: string,
    id: string,
    messages: readonly PlacedMessage[],
    title?: string,
  ): Promise<boolean> {
    if (this.#bounds === false) return Promise.resolve(false);
    return this.#guard(() => this.#append(principal, id, messages, title), false);
  }

  async #append(
    principal: string,
    id: string,
    messages: readonly PlacedMessage[],
    title: string | undefined,
  ): Promise<boolean> {
    const bounds = this.#bounds as CacheBounds;
    const key = this.#keys.conversation(principal, id);
    const op: Operation =
      title === undefined ? { m: [...messages] } : { m: [...messages], t: title };
    const raw = JSON.stringify(op);
    const appended = await this.#client.cacheAppend(
      key,
      this.#keys.principal(principal),
      this.#keys.cacheIndex,
      raw,
      bounds.ttl,
      this.#maxEntries,
      this.#keys.prefix,
    );
    if (appended === null) {
      this.#near?.delete(key);
      return false;
    }
    const [generation, ops] = appended;
    const near = this.#near?.get(key);
    if (near?.generation !== generation || near.ops !== ops - 1) {
      // Another instance wrote in between: the next read fetches what is missing.
      this.#near?.delete(key);
      return true;
    }
    near.bytes += apply(near.entry.conversation, raw);
    if (ops >= COMPACT_AFTER || near.bytes > bounds.maxSize) {
      await this.#write(key, principal, near.entry);
    } else {
      this.#keep(key, { ...near, ops });
    }
    return true;
  }

  delete(principal: string, id: string): Promise<void> {
    const key = this.#keys.conversation(principal, id);
    this.#near?.delete(key);
    return this.#guard(() => this.#forget(principal, [key]), undefined);
  }

  /** Deletes cached conversations of one principal from Redis: hashes, set and index members. */
  async #forget(principal: string, keys: string[]): Promise<void> {
    await this.#client
      .multi()
      .del(...keys)
      .srem(this.#keys.principal(principal), ...keys)
      .zrem(this.#keys.cacheIndex, ...keys)
      .exec();
  }

  deletePrincipal(principal: string): Promise<void> {
    if (this.#near !== undefined) {
      for (const [key, near] of this.#near.entries()) {
        if (near.principal === principal) this.#near.delete(key);
      }
    }
    const index = this.#keys.principal(principal);
    return this.#guard(async () => {
      const keys = await this.#client.smembers(index);
      // In slices, so that a principal with very many conversations is not one huge command.
      for (let at = 0; at < keys.length; at += 500) {
        await this.#forget(principal, keys.slice(at, at + 500));
      }
      await this.#client.del(index);
    }, undefined);
  }

  /** Trees in this process's near-cache (for tests and metrics). */
  get nearSize(): number {
    return this.#near?.size ?? 0;
  }
}
