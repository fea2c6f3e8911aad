/**
 * Message leases on Redis: one message at a time per account across every instance. A lease is
 * a key with the holder's id and a TTL (taken by a Lua script, renewed while the message's stream
 * lives, freed by compare-and-delete); waiters queue in a sorted set by arrival, so the oldest
 * waiter of any instance goes next, and poll it, woken at once by a pub/sub message when a lease
 * is freed. A waiter whose instance died stops polling and is dropped from the queue.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { busy, storeUnavailable, type SlotOptions } from '@chatgpt-rest/core';
import type { Keys } from './keys.js';
import type { ResolvedRedisOptions } from './options.js';
import { ACQUIRE, LEAVE, RELEASE, RENEW } from './scripts.js';

/** The scripts as client commands (ioredis `defineCommand`: EVALSHA, EVAL on a cache miss). */
interface LeaseCommands {
  leaseAcquire(...args: (string | number)[]): Promise<number>;
  leaseRenew(...args: (string | number)[]): Promise<number>;
  leaseRelease(...args: (string | number)[]): Promise<number>;
  leaseLeave(...args: (string | number)[]): Promise<number>;
}

/** Defines the lease scripts on a client. */
export function defineLeaseCommands(client: Redis): void {
  client.defineCommand('leaseAcquire', { numberOfKeys: 3, lua: ACQUIRE });
  client.defineCommand('leaseRenew', { numberOfKeys: 1, lua: RENEW });
  client.defineCommand('leaseRelease', { numberOfKeys: 1, lua: RELEASE });
  client.defineCommand('leaseLeave', { numberOfKeys: 2, lua: LEAVE });
}

/** Read through a call: the signal may abort while a command is awaited. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function noop(): void {
  // Nothing to do.
}

/** Leases of one store: the waiters of this process, woken by the store's subscriber. */
export class RedisLeases {
  readonly #client: Redis & LeaseCommands;
  readonly #keys: Keys;
  readonly #options: ResolvedRedisOptions;
  readonly #instance = randomBytes(8).toString('hex');
  readonly #waiting = new Map<string, Set<() => void>>();
  readonly #onError: (what: string) => void;
  #sequence = 0;

  constructor(
    client: Redis,
    keys: Keys,
    options: ResolvedRedisOptions,
    onError: (what: string) => void,
  ) {
    this.#client = client as Redis & LeaseCommands;
    this.#keys = keys;
    this.#options = options;
    this.#onError = onError;
  }

  /** Wakes this process's waiters of `account` (a lease was freed). */
  wake(account: string): void {
    for (const wake of this.#waiting.get(account) ?? []) wake();
  }

  /** Messages of this process waiting for `account`. */
  queued(account: string): number {
    return this.#waiting.get(account)?.size ?? 0;
  }

  /** Takes `account`'s lease, waiting in the shared queue; resolves with its release. */
  async acquire(account: string, options: SlotOptions): Promise<() => void> {
    const { signal } = options;
    if (aborted(signal)) throw signal?.reason as Error;
    const holder = `${this.#instance}:${++this.#sequence}`;
    const deadline = Date.now() + options.waitMs;
    let wake = noop;
    const waiters = this.#waiting.get(account) ?? new Set<() => void>();
    this.#waiting.set(account, waiters);
    const waiter = (): void => wake();
    waiters.add(waiter);
    try {
      for (;;) {
        const taken = await this.#try(account, holder, options.queueSize, options.waitMs);
        if (taken === 1) return this.#held(account, holder);
        if (taken === -1) {
          throw busy('Another message of this account is being answered and its queue is full.');
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          await this.#leave(account, holder);
          throw busy(
            `Another message of this account was still being answered after ${options.waitMs} ms.`,
          );
        }
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wake = noop;
            resolve();
          };
          const timer = setTimeout(done, Math.min(left, this.#options.pollMs));
          wake = done;
          signal?.addEventListener('abort', done, { once: true });
        });
        if (aborted(signal)) {
          await this.#leave(account, holder);
          throw signal?.reason as Error;
        }
      }
    } finally {
      waiters.delete(waiter);
      if (waiters.size === 0) this.#waiting.delete(account);
    }
  }

  async #try(account: string, holder: string, queueSize: number, waitMs: number): Promise<number> {
    const { leaseTtlMs, pollMs } = this.#options;
    try {
      return await this.#client.leaseAcquire(
        this.#keys.lease(account),
        this.#keys.queue(account),
        this.#keys.beats(account),
        holder,
        leaseTtlMs,
        queueSize,
        // A waiter that missed this many polls is gone (its instance died or was cut off).
        Math.max(4 * pollMs, 1000),
        waitMs + leaseTtlMs,
      );
    } catch {
      this.#onError('lease');
      throw storeUnavailable('taking a message lease');
    }
  }

  /** Leaves the queue (best effort: a waiter that stops polling is dropped anyway). */
  async #leave(account: string, holder: string): Promise<void> {
    const keys = this.#keys;
    await this.#client
      .leaseLeave(keys.queue(account), keys.beats(account), holder, keys.wake, account)
      .catch(() => undefined);
  }

  /** A held lease: renewed every third of its TTL until released. */
  #held(account: string, holder: string): () => void {
    const key = this.#keys.lease(account);
    const { leaseTtlMs, logger } = this.#options;
    const renew = setInterval(
      () => {
        this.#client.leaseRenew(key, holder, leaseTtlMs).then(
          (kept) => {
            if (kept === 0)
              logger.warn({ store: 'redis' }, 'a message lease expired before its end');
          },
          () => logger.warn({ store: 'redis' }, 'a message lease could not be renewed'),
        );
      },
      Math.max(5, Math.floor(leaseTtlMs / 3)),
    );
    renew.unref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      clearInterval(renew);
      this.#client
        .leaseRelease(key, holder, this.#keys.wake, account)
        .catch(() =>
          logger.warn(
            { store: 'redis' },
            'a message lease could not be freed: it expires by its TTL',
          ),
        );
    };
  }
}
