/** The token pool's public shapes: its options, a chosen token, a token's standing. */
import type { Logger } from '../logger.js';
import type { TokenStore } from '../store/store.js';
import type { HeldToken } from './held-token.js';

/** Options of `TokenPool`. */
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

/** A token picked for a request (`TokenPool.reserve`). */
export interface ChosenToken {
  held: HeldToken;
  /** Stops counting the pick as the token's load: its request makes no upstream call. Idempotent. */
  unreserve: () => void;
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
