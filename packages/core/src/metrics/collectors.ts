/**
 * What the Prometheus recorder reads at scrape time rather than on each request: each held
 * token's standing (by its label, never the token) and the conversation cache's size and
 * evictions. Nothing here runs between scrapes.
 */
import type * as PromClient from 'prom-client';
import type { TokenPool, TokenState } from '../auth/token-pool.js';
import type { CacheStats, CacheStore } from '../store/store.js';

type Prom = typeof PromClient;
type Make = <M>(
  name: string,
  make: (config: { name: string; registers: PromClient.Registry[] }) => M,
) => M;

/** The pools and caches of every handler recording into one registry. */
export interface Sources {
  add(sources: { pool?: TokenPool | undefined; cache?: CacheStore | undefined }): void;
}

const STATES: readonly TokenState[] = ['ok', 'capped', 'evicted'];

/**
 * Objects read at scrape time, held weakly: a handler dropped by its host takes its pool and
 * cache with it instead of keeping them alive through the registry. Each object is held once.
 */
class WeakList<T extends object> {
  readonly #refs = new Set<WeakRef<T>>();

  add(value: T): void {
    for (const held of this) if (held === value) return;
    this.#refs.add(new WeakRef(value));
  }

  *[Symbol.iterator](): Generator<T> {
    for (const ref of this.#refs) {
      const value = ref.deref();
      if (value === undefined) this.#refs.delete(ref);
      else yield value;
    }
  }
}

/** Everything watched, and what the last scrape saw (evictions are counted once each). */
interface Watched {
  pools: WeakList<TokenPool>;
  caches: WeakList<CacheStore & { stats(): CacheStats }>;
  /** Per pool, the labels already counted as evicted. */
  evicted: WeakMap<TokenPool, Set<string>>;
  /** Per cache, the evictions already counted, by reason. */
  counted: WeakMap<CacheStore, CacheStats['evictions']>;
}

function tokenGauges(prom: Prom, make: Make, watched: Watched): void {
  const labelNames = ['token_label'];
  const gauge = (
    name: string,
    help: string,
    read: (pool: TokenPool, g: PromClient.Gauge) => void,
  ) =>
    make(name, (c) => {
      return new prom.Gauge({
        ...c,
        help,
        labelNames: name === 'token_state' ? ['token_label', 'state'] : labelNames,
        collect() {
          this.reset();
          for (const pool of watched.pools) read(pool, this);
        },
      });
    });
  gauge(
    'token_state',
    'Each held token’s state (1 for the one it is in): ok, capped, evicted.',
    (pool, g) => {
      for (const token of pool.status()) {
        for (const state of STATES) {
          g.set({ token_label: token.label, state }, token.state === state ? 1 : 0);
        }
      }
    },
  );
  gauge(
    'token_in_flight',
    'Upstream requests running with each held token, queued ones included.',
    (pool, g) => {
      for (const token of pool.status()) g.set({ token_label: token.label }, token.inFlight);
    },
  );
  gauge('token_queued', 'Messages waiting for each held token’s message slot.', (pool, g) => {
    for (const token of pool.status()) g.set({ token_label: token.label }, token.queued);
  });
  gauge(
    'token_capped_until_timestamp_seconds',
    'When each held token’s usage cap clears (Unix time, to the second; 0 when not capped).',
    (pool, g) => {
      const now = Math.ceil(Date.now() / 1000);
      for (const token of pool.status()) {
        const until = token.state === 'capped' ? now + (token.retryAfter ?? 0) : 0;
        g.set({ token_label: token.label }, until);
      }
    },
  );
}

function evictionCounter(prom: Prom, make: Make, watched: Watched): void {
  make('token_evictions_total', (c) => {
    return new prom.Counter({
      ...c,
      help: 'Held tokens taken out of rotation after the upstream refused them (401), by label.',
      labelNames: ['token_label'],
      collect() {
        for (const pool of watched.pools) {
          let seen = watched.evicted.get(pool);
          if (seen === undefined) watched.evicted.set(pool, (seen = new Set()));
          for (const token of pool.status()) {
            if (token.state !== 'evicted' || seen.has(token.label)) continue;
            seen.add(token.label);
            this.inc({ token_label: token.label });
          }
        }
      },
    });
  });
}

function cacheMetrics(prom: Prom, make: Make, watched: Watched): void {
  const total = (read: (stats: CacheStats) => number): number => {
    let sum = 0;
    for (const cache of watched.caches) sum += read(cache.stats());
    return sum;
  };
  make('cache_bytes', (c) => {
    const help = 'Size of the cached conversation trees (their JSON length), in bytes.';
    return new prom.Gauge({
      ...c,
      help,
      collect() {
        this.set(total((s) => s.bytes));
      },
    });
  });
  make('cache_entries', (c) => {
    const help = 'Conversation trees in the cache.';
    return new prom.Gauge({
      ...c,
      help,
      collect() {
        this.set(total((s) => s.entries));
      },
    });
  });
  make('cache_evictions_total', (c) => {
    return new prom.Counter({
      ...c,
      help: 'Conversation trees dropped by the cache: capacity (count or size bound) or expired (TTL).',
      labelNames: ['reason'],
      collect() {
        for (const cache of watched.caches) {
          const now = cache.stats().evictions;
          const before = watched.counted.get(cache) ?? { capacity: 0, expired: 0 };
          watched.counted.set(cache, { ...now });
          this.inc({ reason: 'capacity' }, now.capacity - before.capacity);
          this.inc({ reason: 'expired' }, now.expired - before.expired);
        }
      },
    });
  });
}

/** Registers the scrape-time metrics in a registry; returns where handlers add their sources. */
export function watchSources(prom: Prom, make: Make): Sources {
  const watched: Watched = {
    pools: new WeakList(),
    caches: new WeakList(),
    evicted: new WeakMap(),
    counted: new WeakMap(),
  };
  tokenGauges(prom, make, watched);
  evictionCounter(prom, make, watched);
  cacheMetrics(prom, make, watched);
  return {
    add({ pool, cache }) {
      if (pool !== undefined) watched.pools.add(pool);
      if (cache?.stats !== undefined) {
        watched.caches.add(cache as CacheStore & { stats(): CacheStats });
      }
    },
  };
}
