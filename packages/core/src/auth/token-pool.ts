import { RestError, isRestError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { HeldToken } from './held-token.js';
import type { ChosenToken, TokenPoolOptions, TokenStatus } from './token-pool-types.js';
import { upstreamErrorFromBody } from '../upstream/upstream-errors.js';
import type { Lease, LeaseOptions } from './lease.js';
import { poolFetch } from './pool-fetch.js';
import { MemoryStore } from '../store/memory-store.js';
import { storeUnavailable, type AccountsView, type TokenStore } from '../store/store.js';
import {
  TokenEntries,
  reserve,
  reserved,
  started,
  type Entry,
  type TokenChanges,
} from './token-entries.js';

export type { TokenChanges };
export type { ChosenToken, TokenPoolOptions, TokenState, TokenStatus } from './token-pool-types.js';

function noop(): void {
  // Nothing to release.
}

const IDLE_LEASE = { release: noop, observe: noop, remember: noop };

/**
 * The server-held tokens and how they are shared: a new conversation goes to the least busy
 * usable token and its later requests stick to it; a 401 takes a token out of rotation; a usage
 * cap parks it until it clears; each token sends one message at a time, the others wait in a
 * bounded queue. Slots, caps, evictions and the conversation→token map live in the pool's
 * {@link TokenStore}: in memory by default, shared by every instance with a Redis store.
 */
export class TokenPool {
  readonly #tokens: TokenEntries;
  readonly #store: TokenStore;
  readonly #queueSize: number;
  readonly #queueWaitMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  #picks = 0;

  constructor(options: TokenPoolOptions) {
    this.#tokens = new TokenEntries(options.tokens);
    this.#queueSize = options.queueSize ?? 8;
    this.#queueWaitMs = options.queueWaitMs ?? 20_000;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#store = options.store ?? new MemoryStore({ stickyMax: options.stickyMax }).tokens;
  }

  /**
   * Puts `tokens` in rotation at once (a reload of the tokens file): new ones join, removed
   * ones take no new request and leave once their running requests (live streams) end, kept
   * ones (same label and token) keep their caps, eviction, load and sticky conversations. A bad
   * set (empty, a label twice) throws a TypeError naming no token and changes nothing.
   */
  replaceTokens(tokens: readonly HeldToken[]): TokenChanges {
    const { gone, ...changes } = this.#tokens.replace(tokens);
    this.#forget(gone);
    return changes;
  }

  /** Every token a request may still send, leaving ones included: what errors must redact. */
  heldTokens(): string[] {
    return this.#tokens.tokens();
  }

  /**
   * The token for a request as this process sees it now: the conversation's own when known,
   * else the least busy usable one. With a shared store use {@link choose}, which asks the
   * store first.
   */
  pick(conversationId?: string): HeldToken {
    const account =
      conversationId === undefined ? undefined : this.#store.stickyNow?.(conversationId);
    return this.#select(account === undefined ? undefined : this.#tokens.byAccount(account)).held;
  }

  /**
   * The token for a request after asking the store what every instance knows (caps, evictions,
   * busy tokens, the conversation's token). Rejects with `upstream_unavailable` when the store
   * cannot be reached: held tokens are not used blind. The pick counts as the token's load until
   * its first upstream request starts (or 5 s); see {@link reserve} to drop it sooner.
   */
  async choose(conversationId?: string): Promise<HeldToken> {
    return (await this.reserve(conversationId)).held;
  }

  /**
   * As {@link choose}, with `unreserve()`: the request will make no upstream call (its answer
   * came from the cache), so its pick stops counting as the token's load at once.
   */
  async reserve(conversationId?: string): Promise<ChosenToken> {
    let view: AccountsView;
    const entries = this.#tokens.current;
    try {
      view = await this.#store.view(
        entries.map((entry) => entry.account),
        conversationId,
      );
    } catch (error) {
      throw isRestError(error) ? error : storeUnavailable('reading the tokens’ state');
    }
    entries.forEach((entry, index) => {
      const state = view.states[index];
      if (state === undefined) return;
      entry.evicted ??= state.evicted;
      entry.cappedUntil = Math.max(entry.cappedUntil, state.cappedUntil);
      entry.busy = state.busy;
    });
    const sticky = view.sticky === undefined ? undefined : this.#tokens.byAccount(view.sticky);
    return this.#select(sticky);
  }

  #select(sticky: Entry | undefined): ChosenToken {
    const now = this.#now();
    if (sticky !== undefined) {
      if (sticky.evicted !== undefined) {
        throw new RestError(
          'invalid_token',
          'The upstream rejected the server-held access token that holds this conversation.',
        );
      }
      if (sticky.cappedUntil > now) throw this.#capped(sticky.cappedUntil - now);
      return this.#reserve(sticky, now);
    }
    const live = this.#tokens.current.filter((entry) => entry.evicted === undefined);
    if (live.length === 0) {
      throw new RestError(
        'upstream_unavailable',
        'No server-held access token is usable: the upstream rejected all of them.',
      );
    }
    const open = live.filter((entry) => entry.cappedUntil <= now);
    if (open.length === 0) {
      throw this.#capped(Math.min(...live.map((entry) => entry.cappedUntil)) - now);
    }
    let best = open[0] as Entry;
    for (const entry of open) {
      const load = this.#load(entry, now);
      const bestLoad = this.#load(best, now);
      // Ties go to the token picked longest ago, so idle traffic spreads over every token.
      if (load < bestLoad || (load === bestLoad && entry.lastPicked < best.lastPicked))
        best = entry;
    }
    return this.#reserve(best, now);
  }

  /** The label of a held token, or undefined for a token the pool does not hold. */
  labelOf(token: string): string | undefined {
    return this.#tokens.byToken(token)?.held.label;
  }

  /** Remembers which token holds a conversation, so its later requests go there. */
  remember(conversationId: string, label: string, log: Logger = this.#logger): void {
    const entry = this.#tokens.byLabel(label);
    if (entry !== undefined) this.#remember(entry, conversationId, log);
  }

  /** Counts one upstream request of `label` as running until the returned function is called. */
  begin(label: string): () => void {
    const entry = this.#tokens.byLabel(label);
    return entry === undefined ? noop : this.#begin(entry);
  }

  #begin(entry: Entry): () => void {
    // The request a pick announced has started: it now counts as in flight instead.
    started(entry);
    entry.inFlight += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      entry.inFlight -= 1;
      // A token a reload removed leaves with its last request.
      if (entry.inFlight === 0) this.#forget(this.#tokens.idle(entry));
    };
  }

  /**
   * Takes a lease for one upstream request of `label`: counts it as in flight and, for a message
   * POST, waits for the token's message slot (rejecting as {@link acquireMessageSlot} does). The
   * lease's `release()` ends both; a label the pool does not hold gets a lease that does nothing.
   */
  async lease(label: string, options: LeaseOptions = { message: false }): Promise<Lease> {
    // The token sent names its entry exactly, even once a reload gave its label to another
    // token, or the token another label: the message slot is the token's.
    const byToken = options.token === undefined ? undefined : this.#tokens.byToken(options.token);
    const entry = byToken ?? this.#tokens.byLabel(label);
    // A label the pool does not hold: a lease that counts and learns nothing.
    if (entry === undefined) return { label, message: options.message, ...IDLE_LEASE };
    const end = this.#begin(entry);
    const log = options.log ?? this.#logger;
    let free = noop;
    if (options.message) {
      try {
        free = await this.#slot(entry, options.signal);
      } catch (error) {
        end();
        throw error;
      }
    }
    let released = false;
    return {
      label,
      message: options.message,
      release: () => {
        if (released) return;
        released = true;
        free();
        end();
      },
      observe: (status, body, headers) => this.#observe(entry, status, body, headers, log),
      remember: (conversationId) => this.#remember(entry, conversationId, log),
    };
  }

  #remember(entry: Entry, conversationId: string, log: Logger): void {
    this.#quietly(
      'remembering a conversation',
      () => this.#store.remember(conversationId, entry.account),
      log,
    );
  }

  #slot(entry: Entry, signal: AbortSignal | undefined): Promise<() => void> {
    return this.#store.acquireSlot(entry.account, {
      queueSize: this.#queueSize,
      waitMs: this.#queueWaitMs,
      signal,
    });
  }

  /** Lets the store drop what it keeps of accounts no token names any more. */
  #forget(accounts: string[]): void {
    if (accounts.length === 0) return;
    this.#quietly('forgetting removed tokens', () => this.#store.forget?.(accounts));
  }

  /**
   * Waits for `label`'s message slot (the upstream answers one message at a time per account);
   * resolves with the function that frees it. Rejects with `conversation_busy` when the queue is
   * full or the wait runs out, with the signal's reason when it aborts, or with
   * `upstream_unavailable` when a shared store cannot be reached.
   */
  acquireMessageSlot(label: string, signal?: AbortSignal): Promise<() => void> {
    const entry = this.#tokens.byLabel(label);
    return entry === undefined ? Promise.resolve(noop) : this.#slot(entry, signal);
  }

  /** Learns from a failed upstream answer: a 401 evicts the token, a cap parks it; logs on `log`. */
  observe(
    label: string,
    status: number,
    body: string,
    headers?: Headers,
    log: Logger = this.#logger,
  ): void {
    const entry = this.#tokens.byLabel(label);
    if (entry !== undefined) this.#observe(entry, status, body, headers, log);
  }

  #observe(
    entry: Entry,
    status: number,
    body: string,
    headers: Headers | undefined,
    log: Logger,
  ): void {
    const { label } = entry.held;
    if (status !== 401 && status !== 429) return;
    const error = upstreamErrorFromBody(status, body, headers);
    if (error.code === 'token_expired' || error.code === 'invalid_token') {
      const reason = error.code;
      if (entry.evicted === undefined) {
        entry.evicted = reason;
        log.warn({ label, reason }, 'access token taken out of rotation: the upstream rejected it');
      }
      this.#quietly(
        'recording an eviction',
        () => this.#store.markEvicted(entry.account, reason),
        log,
      );
    } else if (error.code === 'rate_limited' && error.retryAfter !== undefined) {
      const until = this.#now() + error.retryAfter * 1000;
      entry.cappedUntil = until;
      log.warn(
        { label, retryAfter: error.retryAfter },
        'access token under a usage cap: skipped until it clears',
      );
      this.#quietly('recording a cap', () => this.#store.markCapped(entry.account, until), log);
    }
  }

  /** Every token's standing, by label (as this process last saw the store). */
  status(): TokenStatus[] {
    const now = this.#now();
    return this.#tokens.current.map((entry) => {
      const base = {
        label: entry.held.label,
        inFlight: entry.inFlight,
        queued: this.#store.queued(entry.account),
      };
      if (entry.evicted !== undefined) {
        return { ...base, state: 'evicted', reason: entry.evicted };
      }
      if (entry.cappedUntil > now) {
        return {
          ...base,
          state: 'capped',
          retryAfter: Math.ceil((entry.cappedUntil - now) / 1000),
        };
      }
      return { ...base, state: 'ok' };
    });
  }

  /** True while at least one token is still in rotation (capped ones count: caps clear). */
  get usable(): boolean {
    return this.#tokens.current.some((entry) => entry.evicted === undefined);
  }

  /**
   * Wraps a `fetch` whose requests carry a held token in `Authorization`: each takes a
   * {@link lease} (load, message slot, 401s and caps, the conversation a message stream names).
   * @deprecated The core no longer uses it: its upstream client takes a lease per call with the
   * token's label, and the sidecar's pass-through does the same. Kept for existing callers.
   */
  wrapFetch(inner: typeof fetch): typeof fetch {
    return poolFetch(this, inner);
  }

  #load(entry: Entry, now: number): number {
    // A token busy with another instance's message counts as one request more.
    const elsewhere = entry.busy && entry.inFlight === 0 ? 1 : 0;
    return entry.inFlight + reserved(entry, now) + elsewhere;
  }

  #reserve(entry: Entry, now: number): ChosenToken {
    entry.lastPicked = ++this.#picks;
    return { held: entry.held, unreserve: reserve(entry, now) };
  }

  #capped(remainingMs: number): RestError {
    return new RestError(
      'rate_limited',
      'Every server-held access token is under a usage cap; try again later.',
      { retryAfter: Math.max(1, Math.ceil(remainingMs / 1000)) },
    );
  }

  /** A store write whose failure is logged, not thrown: this process already knows it. */
  #quietly(what: string, write: () => void | Promise<void>, log: Logger = this.#logger): void {
    const warn = (): void =>
      log.warn({ store: 'unreachable' }, `shared state store failed ${what}`);
    try {
      const done = write();
      if (done instanceof Promise) done.catch(warn);
    } catch {
      warn();
    }
  }
}
