/**
 * The shared-state store: what the core keeps about held tokens and conversations that several
 * instances behind one load balancer must agree on. One interface, two stores: the in-memory
 * one (the default; one process) and a Redis one (`@chatgpt-rest/redis-store`; many processes).
 *
 * Everything here is keyed by what is safe to keep outside the process: an `account` is a hash
 * of a held token (see {@link accountOf}), a `principal` is a label or a hash; a store never
 * sees an access token.
 */
import { hash } from 'node:crypto';
import type {
  CacheBounds,
  CacheStats,
  CachedConversation,
  PlacedMessage,
} from '../conversation/conversation-cache.js';
import { RestError } from '../errors.js';

export type { CacheBounds, CacheStats, CachedConversation, PlacedMessage };

/** A value now (the in-memory store) or later (a store across the network). */
export type MaybePromise<T> = T | Promise<T>;

/** How a message waits for its account's slot. */
export interface SlotOptions {
  /** Messages that may wait for this account at once (across every instance sharing the store). */
  queueSize: number;
  /** Longest wait, in ms, before `conversation_busy`. */
  waitMs: number;
  /** Gives up waiting when it aborts (rejects with its reason). */
  signal?: AbortSignal | undefined;
}

/** What the store knows of one account. */
export interface AccountState {
  /** Epoch ms until which a usage cap holds (0: none). */
  cappedUntil: number;
  /** The error code that took it out of rotation, if it was. */
  evicted: string | undefined;
  /** True while a message of this account is being answered (by any instance). */
  busy: boolean;
}

/** The accounts' states (in the order asked) and the account a conversation sticks to. */
export interface AccountsView {
  states: AccountState[];
  sticky: string | undefined;
}

/** Held-token state: message slots (leases), caps, evictions, the conversation→account map. */
export interface TokenStore {
  /**
   * Waits for `account`'s message slot (one message at a time per account) and resolves with
   * the function that frees it. Rejects with `conversation_busy` when the queue is full or the
   * wait runs out, with the signal's reason when it aborts, with `upstream_unavailable` when
   * the store cannot be reached. A shared store keeps the slot alive (renews its lease) until
   * it is freed.
   */
  acquireSlot(account: string, options: SlotOptions): Promise<() => void>;
  /** Messages of this process waiting for `account`'s slot (for `/readyz`). */
  queued(account: string): number;
  /** Records a usage cap until `until` (epoch ms). */
  markCapped(account: string, until: number): MaybePromise<void>;
  /** Takes an account out of rotation (a 401). */
  markEvicted(account: string, reason: string): MaybePromise<void>;
  /** The accounts' states and, when `conversationId` is given, the account it sticks to. */
  view(accounts: readonly string[], conversationId?: string): MaybePromise<AccountsView>;
  /** The account `conversationId` sticks to, when known without waiting (in-memory only). */
  stickyNow?(conversationId: string): string | undefined;
  /** Remembers that `account` holds `conversationId`. */
  remember(conversationId: string, account: string): MaybePromise<void>;
  /**
   * Told that no held token of this process names `accounts` any more (a reload removed them
   * and their last request ended): a store may drop what it keeps only for this process (the
   * in-memory store: caps, evictions, idle slots). A held slot and its waiters are never
   * disturbed. A shared store keeps its keys: other instances may still hold the token.
   */
  forget?(accounts: readonly string[]): MaybePromise<void>;
}

/** The conversation-tree cache operations the core uses (see `ConversationCache`). */
export interface CacheStore {
  /** The cached tree, if fresh. Read it before awaiting anything; never change it. */
  get(principal: string, id: string): MaybePromise<CachedConversation | undefined>;
  /** Stores a tree read or built whole; the store owns it from then on. */
  set(principal: string, id: string, entry: CachedConversation): MaybePromise<void>;
  /** Adds a turn's messages (and title) to a cached tree; false when it is not cached. */
  addMessages(
    principal: string,
    id: string,
    messages: readonly PlacedMessage[],
    title?: string,
  ): MaybePromise<boolean>;
  /** Drops one conversation (for every instance). */
  delete(principal: string, id: string): MaybePromise<void>;
  /** Drops every conversation of one principal (for every instance). */
  deletePrincipal(principal: string): MaybePromise<void>;
  /** This process's cache figures, for metrics (a store that keeps none omits it). */
  stats?(): CacheStats;
}

/** Whether the store can be used now, for `/readyz`. */
export interface StoreHealth {
  /** `memory`, `redis`… */
  kind: string;
  ok: boolean;
  /** A short state word (`ready`, `connecting`, `reconnecting`…); never an address or secret. */
  state: string;
}

/** The shared state of one or many instances: held tokens and the conversation cache. */
export interface SharedStore {
  readonly tokens: TokenStore;
  /** The conversation cache with these bounds (`false`: none); one per store. */
  conversations(bounds: CacheBounds | false): CacheStore;
  health(): StoreHealth;
  /** Closes connections; the store is not used afterwards. */
  close(): Promise<void>;
}

/** The account id of a held token: a SHA-256 hash (hex, 32 chars), never the token. */
export function accountOf(token: string): string {
  return hash('sha256', token, 'hex').slice(0, 32);
}

/** The failure of a store that cannot be reached: held tokens are not used until it is back. */
export function storeUnavailable(what: string): RestError {
  return new RestError(
    'upstream_unavailable',
    `The shared state store is unreachable (${what}); held tokens are not used until it is back.`,
    { retryAfter: 1 },
  );
}

/** The `conversation_busy` of a message that waited too long or found the queue full. */
export function busy(message: string): RestError {
  return new RestError('conversation_busy', message, { retryAfter: 1 });
}
