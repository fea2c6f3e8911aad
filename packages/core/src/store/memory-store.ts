/**
 * The in-memory store: one process's shared state, as the core always kept it (message slots
 * with a bounded FIFO queue, caps, evictions, an LRU conversation→account map, the LRU
 * conversation cache). The default store.
 */
import { LRUCache } from 'lru-cache';
import { ConversationCache } from '../conversation/conversation-cache.js';
import {
  busy,
  type AccountState,
  type AccountsView,
  type CacheBounds,
  type CacheStore,
  type SharedStore,
  type SlotOptions,
  type StoreHealth,
  type TokenStore,
} from './store.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Conversations whose account is remembered (LRU). @default 100000 */
  stickyMax?: number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (error: Error) => void;
}

interface Slot {
  active: boolean;
  waiters: Waiter[];
}

/** Message slots: one message at a time per account, the others in a bounded FIFO queue. */
class MemorySlots {
  readonly #slots = new Map<string, Slot>();

  #slot(account: string): Slot {
    let slot = this.#slots.get(account);
    if (slot === undefined) {
      slot = { active: false, waiters: [] };
      this.#slots.set(account, slot);
    }
    return slot;
  }

  busy(account: string): boolean {
    return this.#slots.get(account)?.active === true;
  }

  /** Drops an account's slot when nobody holds or waits for it (else it stays, untouched). */
  forget(account: string): void {
    const slot = this.#slots.get(account);
    if (slot !== undefined && !slot.active && slot.waiters.length === 0) {
      this.#slots.delete(account);
    }
  }

  queued(account: string): number {
    return this.#slots.get(account)?.waiters.length ?? 0;
  }

  acquire(account: string, options: SlotOptions): Promise<() => void> {
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const slot = this.#slot(account);
    if (!slot.active) {
      slot.active = true;
      return Promise.resolve(this.#releaser(slot));
    }
    if (slot.waiters.length >= options.queueSize) {
      return Promise.reject(
        busy('Another message of this account is being answered and its queue is full.'),
      );
    }
    return new Promise((resolve, reject) => {
      const leave = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = slot.waiters.indexOf(waiter);
        if (index !== -1) slot.waiters.splice(index, 1);
      };
      const waiter: Waiter = {
        resolve: (release) => {
          leave();
          resolve(release);
        },
        reject: (error) => {
          leave();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.reject(signal?.reason as Error);
      const timer = setTimeout(() => {
        waiter.reject(
          busy(
            `Another message of this account was still being answered after ${options.waitMs} ms.`,
          ),
        );
      }, options.waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      slot.waiters.push(waiter);
    });
  }

  #releaser(slot: Slot): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = slot.waiters[0];
      // The slot passes straight to the next waiter, so nobody can slip in between.
      if (next !== undefined) next.resolve(this.#releaser(slot));
      else slot.active = false;
    };
  }
}

/** Held-token state in this process. */
class MemoryTokens implements TokenStore {
  readonly #slots = new MemorySlots();
  readonly #capped = new Map<string, number>();
  readonly #evicted = new Map<string, string>();
  readonly #sticky: LRUCache<string, string>;

  constructor(stickyMax: number) {
    this.#sticky = new LRUCache({ max: stickyMax });
  }

  acquireSlot(account: string, options: SlotOptions): Promise<() => void> {
    return this.#slots.acquire(account, options);
  }

  queued(account: string): number {
    return this.#slots.queued(account);
  }

  markCapped(account: string, until: number): void {
    this.#capped.set(account, until);
  }

  markEvicted(account: string, reason: string): void {
    if (!this.#evicted.has(account)) this.#evicted.set(account, reason);
  }

  view(accounts: readonly string[], conversationId?: string): AccountsView {
    const states = accounts.map((account): AccountState => ({
      cappedUntil: this.#capped.get(account) ?? 0,
      evicted: this.#evicted.get(account),
      busy: this.#slots.busy(account),
    }));
    return {
      states,
      sticky: conversationId === undefined ? undefined : this.#sticky.get(conversationId),
    };
  }

  stickyNow(conversationId: string): string | undefined {
    return this.#sticky.get(conversationId);
  }

  remember(conversationId: string, account: string): void {
    this.#sticky.set(conversationId, account);
  }

  /** Drops the caps, evictions and idle slots of accounts no held token names any more. */
  forget(accounts: readonly string[]): void {
    for (const account of accounts) {
      this.#capped.delete(account);
      this.#evicted.delete(account);
      this.#slots.forget(account);
    }
  }
}

/** The default store: this process's memory, today's behaviour. */
export class MemoryStore implements SharedStore {
  readonly tokens: TokenStore;
  #cache: ConversationCache | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.tokens = new MemoryTokens(options.stickyMax ?? 100_000);
  }

  /** The store's one cache, made with the bounds of the first call. */
  conversations(bounds: CacheBounds | false): CacheStore {
    this.#cache ??= new ConversationCache(bounds);
    return this.#cache;
  }

  health(): StoreHealth {
    return { kind: 'memory', ok: true, state: 'ready' };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
