import { RestError, isRestError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { bearerToken } from './bearer.js';
import type { HeldToken } from './held-token.js';
import { upstreamErrorFromBody } from '../upstream/upstream-errors.js';
import { readLimited } from '../upstream/read-limited.js';
import { isMessagePost, leasedResponse, type Lease, type LeaseOptions } from './lease.js';
import { MemoryStore } from '../store/memory-store.js';
import { accountOf, storeUnavailable, type AccountsView, type TokenStore } from '../store/store.js';

/** Options of {@link TokenPool}. */
export interface TokenPoolOptions {
  /** The held tokens; at least one. */
  tokens: HeldToken[];
  /**
   * Messages waiting per token while another message of that token is being answered (the
   * upstream allows one at a time per account). 0 refuses a second message at once.
   * @default 8
   */
  queueSize?: number;
  /**
   * Longest wait for a token's message slot, in milliseconds, before `conversation_busy`.
   * @default 20000
   */
  queueWaitMs?: number;
  /**
   * Conversations whose token is remembered (LRU; the default in-memory store only).
   * @default 100000
   */
  stickyMax?: number;
  /**
   * Where message slots, caps, evictions and the conversation→token map live: a shared store
   * (Redis) makes several instances agree. @default an in-memory store of this pool's own
   */
  store?: TokenStore;
  /** Told when a token leaves rotation or is capped (labels only). @default silent */
  logger?: Logger;
  /** The clock, for tests. @default Date.now */
  now?: () => number;
}

/** How a token stands: usable, out of rotation after a 401, or under a usage cap. */
export type TokenState = 'ok' | 'evicted' | 'capped';

/** A token's standing as `/readyz` reports it; never holds the token itself. */
export interface TokenStatus {
  label: string;
  state: TokenState;
  /** Upstream requests running with this token, queued messages included. */
  inFlight: number;
  /** Messages waiting for this token's slot. */
  queued: number;
  /** Seconds until a cap clears (`capped` only). */
  retryAfter?: number;
  /** The error code that evicted it (`evicted` only). */
  reason?: string;
}

interface Entry {
  held: HeldToken;
  /** The store's name for the token: a hash of it. */
  account: string;
  inFlight: number;
  /** Expiry times of picks whose first upstream request has not started yet. */
  reservations: number[];
  lastPicked: number;
  evicted: string | undefined;
  cappedUntil: number;
  /** A message of this token is being answered (as the store last said). */
  busy: boolean;
}

/** How long a pick counts as load before its first upstream request starts. */
const RESERVATION_MS = 5000;

function noop(): void {
  // Nothing to release.
}

/**
 * The server-held tokens and how they are shared: a new conversation goes to the least busy
 * usable token and its later requests stick to it; a 401 takes a token out of rotation; a usage
 * cap parks it until it clears; each token sends one message at a time, the others wait in a
 * bounded queue. Slots, caps, evictions and the conversation→token map live in the pool's
 * {@link TokenStore}: in memory by default, shared by every instance with a Redis store.
 */
export class TokenPool {
  readonly #entries: Entry[];
  readonly #byLabel = new Map<string, Entry>();
  readonly #byToken = new Map<string, Entry>();
  readonly #byAccount = new Map<string, Entry>();
  readonly #store: TokenStore;
  readonly #queueSize: number;
  readonly #queueWaitMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  #picks = 0;

  constructor(options: TokenPoolOptions) {
    if (options.tokens.length === 0)
      throw new TypeError('chatgpt-rest: the token pool needs a token');
    this.#queueSize = options.queueSize ?? 8;
    this.#queueWaitMs = options.queueWaitMs ?? 20_000;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#store = options.store ?? new MemoryStore({ stickyMax: options.stickyMax }).tokens;
    this.#entries = options.tokens.map((held) => ({
      held,
      account: accountOf(held.token),
      inFlight: 0,
      reservations: [],
      lastPicked: 0,
      evicted: undefined,
      cappedUntil: 0,
      busy: false,
    }));
    for (const entry of this.#entries) {
      if (this.#byLabel.has(entry.held.label)) {
        throw new TypeError(`chatgpt-rest: token label ${entry.held.label} is used twice`);
      }
      this.#byLabel.set(entry.held.label, entry);
      this.#byToken.set(entry.held.token, entry);
      this.#byAccount.set(entry.account, entry);
    }
  }

  /**
   * The token for a request as this process sees it now: the conversation's own when known,
   * else the least busy usable one. With a shared store use {@link choose}, which asks the
   * store first.
   */
  pick(conversationId?: string): HeldToken {
    const account =
      conversationId === undefined ? undefined : this.#store.stickyNow?.(conversationId);
    return this.#select(account === undefined ? undefined : this.#byAccount.get(account));
  }

  /**
   * The token for a request after asking the store what every instance knows (caps, evictions,
   * busy tokens, the conversation's token). Rejects with `upstream_unavailable` when the store
   * cannot be reached: held tokens are not used blind.
   */
  async choose(conversationId?: string): Promise<HeldToken> {
    let view: AccountsView;
    try {
      view = await this.#store.view(
        this.#entries.map((entry) => entry.account),
        conversationId,
      );
    } catch (error) {
      throw isRestError(error) ? error : storeUnavailable('reading the tokens’ state');
    }
    this.#entries.forEach((entry, index) => {
      const state = view.states[index];
      if (state === undefined) return;
      entry.evicted ??= state.evicted;
      entry.cappedUntil = Math.max(entry.cappedUntil, state.cappedUntil);
      entry.busy = state.busy;
    });
    return this.#select(view.sticky === undefined ? undefined : this.#byAccount.get(view.sticky));
  }

  #select(sticky: Entry | undefined): HeldToken {
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
    const live = this.#entries.filter((entry) => entry.evicted === undefined);
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
    return this.#byToken.get(token)?.held.label;
  }

  /** Remembers which token holds a conversation, so its later requests go there. */
  remember(conversationId: string, label: string, log: Logger = this.#logger): void {
    const entry = this.#byLabel.get(label);
    if (entry === undefined) return;
    this.#quietly(
      'remembering a conversation',
      () => this.#store.remember(conversationId, entry.account),
      log,
    );
  }

  /** Counts one upstream request of `label` as running until the returned function is called. */
  begin(label: string): () => void {
    const entry = this.#byLabel.get(label);
    if (entry === undefined) return noop;
    // The request a pick announced has started: it now counts as in flight instead.
    entry.reservations.shift();
    entry.inFlight += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      entry.inFlight -= 1;
    };
  }

  /**
   * Takes a lease for one upstream request of `label`: counts it as in flight and, for a message
   * POST, waits for the token's message slot (rejecting as {@link acquireMessageSlot} does). The
   * lease's `release()` ends both; a label the pool does not hold gets a lease that does nothing.
   */
  async lease(label: string, options: LeaseOptions = { message: false }): Promise<Lease> {
    const end = this.begin(label);
    let free = noop;
    if (options.message) {
      try {
        free = await this.acquireMessageSlot(label, options.signal);
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
      observe: (status, body, headers) => this.observe(label, status, body, headers, options.log),
      remember: (conversationId) => this.remember(conversationId, label, options.log),
    };
  }

  /**
   * Waits for `label`'s message slot (the upstream answers one message at a time per account);
   * resolves with the function that frees it. Rejects with `conversation_busy` when the queue is
   * full or the wait runs out, with the signal's reason when it aborts, or with
   * `upstream_unavailable` when a shared store cannot be reached.
   */
  acquireMessageSlot(label: string, signal?: AbortSignal): Promise<() => void> {
    const entry = this.#byLabel.get(label);
    if (entry === undefined) return Promise.resolve(noop);
    return this.#store.acquireSlot(entry.account, {
      queueSize: this.#queueSize,
      waitMs: this.#queueWaitMs,
      signal,
    });
  }

  /** Learns from a failed upstream answer: a 401 evicts the token, a cap parks it; logs on `log`. */
  observe(
    label: string,
    status: number,
    body: string,
    headers?: Headers,
    log: Logger = this.#logger,
  ): void {
    const entry = this.#byLabel.get(label);
    if (entry === undefined || (status !== 401 && status !== 429)) return;
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
    return this.#entries.map((entry) => {
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
    return this.#entries.some((entry) => entry.evicted === undefined);
  }

  /**
   * Wraps a `fetch` whose requests carry a held token in `Authorization`: each takes a
   * {@link lease} (load, message slot, 401s and caps, the conversation a message stream names).
   * @deprecated The core no longer uses it: its upstream client takes a lease per call with the
   * token's label, and the sidecar's pass-through does the same. Kept for existing callers.
   */
  wrapFetch(inner: typeof fetch): typeof fetch {
    return async (input, init) => {
      const token = bearerToken(new Headers(init?.headers).get('authorization'));
      const label = token === undefined ? undefined : this.labelOf(token);
      if (label === undefined) return inner(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      const message = isMessagePost(init?.method ?? 'GET', url.pathname);
      const lease = await this.lease(label, { message, signal: init?.signal ?? undefined });
      let response: Response;
      try {
        response = await inner(input, init);
      } catch (error) {
        lease.release();
        throw error;
      }
      if (response.status === 401 || response.status === 429) {
        // Sniffed within a cap: an endless 401 body must not be buffered to learn from it.
        const text = await readLimited(response.clone()).catch(() => '');
        lease.observe(response.status, text, response.headers);
      }
      return leasedResponse(response, lease);
    };
  }

  #load(entry: Entry, now: number): number {
    entry.reservations = entry.reservations.filter((expiry) => expiry > now);
    // A token busy with another instance's message counts as one request more.
    const elsewhere = entry.busy && entry.inFlight === 0 ? 1 : 0;
    return entry.inFlight + entry.reservations.length + elsewhere;
  }

  #reserve(entry: Entry, now: number): HeldToken {
    entry.reservations.push(now + RESERVATION_MS);
    entry.lastPicked = ++this.#picks;
    return entry.held;
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
