/**
 * The upstream client's proof-of-work solver (docs/spec/backend-protocol.md §3). It runs on the main thread in time
 * slices and yields to the event loop with `setImmediate` between slices, so that other requests
 * keep being served while one proof is solved.
 *
 * Why slices rather than a worker thread: almost every real proof needs tens to thousands of
 * hashes (well under a millisecond), where a worker's start-up (tens of ms) would cost more than
 * the work; a worker module must also resolve both from the TypeScript sources (tests, tsx) and
 * from `dist`, which a plain function does not. The CPU spent is the same either way; slicing
 * only bounds how long the loop is held (about {@link DEFAULT_SLICE_MS} ms at a time).
 *
 * Bounds, because the seed and difficulty come from the upstream: both are checked (a difficulty
 * is 1–16 hex digits, a seed 1–{@link MAX_PROOF_SEED_LENGTH} printable characters) before any
 * hash; the clock is read after every hash, so a slice ends on time however slow a hash is; the
 * hashing time of one solve is capped (`maxMs`); and a {@link ProofLimiter} caps how many solves
 * run at once, queueing a bounded number of others.
 */
import { performance } from 'node:perf_hooks';
import {
  buildProofConfig,
  DEFAULT_PROOF_MAX_ITERATIONS,
  proofFallbackAnswer,
  tryProofNonce,
  type ProofConfig,
} from '../backend/proof-of-work.js';
import { RestError } from '../errors.js';

/** Longest time the solver holds the event loop before yielding, in milliseconds. */
export const DEFAULT_SLICE_MS = 5;
/** Hashing time one solve may take, in milliseconds, when `maxMs` is not given. */
export const DEFAULT_PROOF_MAX_MS = 10_000;
/** Longest seed accepted: real seeds are ~20 characters, and each hash covers the whole seed. */
export const MAX_PROOF_SEED_LENGTH = 1024;

const DIFFICULTY = /^[0-9a-f]{1,16}$/i;
const SEED = /^[\x20-\x7e]+$/;

/** How a proof is solved. */
export interface SolveProofOptions {
  /** Difficulties at or below this (as much expected work or more) fail fast. */
  minDifficulty: string;
  /** Nonces tried before the fallback answer. @default 500000 */
  maxIterations?: number;
  /** Hashing time (not waiting) before the solve fails with `upstream_blocked`. @default 10000 */
  maxMs?: number;
  /** Browser facts to hash; a fresh {@link buildProofConfig} when absent. */
  config?: ProofConfig;
  /** Stops the search between slices (the client left), and a wait in the limiter's queue. */
  signal?: AbortSignal;
  /** Longest time one slice holds the event loop. @default 5 */
  sliceMs?: number;
  /** Caps concurrent solves; without one the solve starts at once. */
  limiter?: ProofLimiter;
}

/** The outcome of a solve: the header value, whether a nonce worked, and how many were tried. */
export interface ProofSolution {
  /** `gAAAAAB…`: the answer, or the browsers' fallback when no nonce worked. */
  answer: string;
  solved: boolean;
  iterations: number;
}

/**
 * Average number of hashes a difficulty needs: a hash's prefix of `d.length` hex digits is at or
 * below `d` with probability `(value(d) + 1) / 16^length`. Not a hex string: Infinity, so that
 * anything unreadable counts as too hard rather than as free.
 */
export function expectedProofHashes(difficulty: string): number {
  if (!/^[0-9a-f]+$/i.test(difficulty)) return Number.POSITIVE_INFINITY;
  return 16 ** difficulty.length / (Number.parseInt(difficulty, 16) + 1);
}

/**
 * True when `difficulty` is at or below `bound`: for equal lengths this is the string comparison
 * of docs/spec/backend-protocol.md; across lengths it compares the expected work, which is what matters.
 */
export function isProofTooHard(difficulty: string, bound: string): boolean {
  return expectedProofHashes(difficulty) >= expectedProofHashes(bound);
}

/** Throws `upstream_error` unless the seed and difficulty are what the protocol sends. */
export function checkProofChallenge(seed: string, difficulty: string): void {
  if (!DIFFICULTY.test(difficulty)) {
    throw new RestError(
      'upstream_error',
      'The proof-of-work difficulty is not 1 to 16 hex digits; no proof was attempted.',
    );
  }
  if (seed.length > MAX_PROOF_SEED_LENGTH || !SEED.test(seed)) {
    throw new RestError(
      'upstream_error',
      `The proof-of-work seed is not 1 to ${MAX_PROOF_SEED_LENGTH} printable characters; no proof was attempted.`,
    );
  }
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * Caps concurrent proof-of-work solves: `maxConcurrent` run, up to `maxQueued` wait in order,
 * and one more fails at once with 503 `upstream_unavailable`. A waiter whose signal fires leaves
 * the queue with the signal's reason.
 */
export class ProofLimiter {
  #active = 0;
  readonly #queue: Waiter[] = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueued: number,
  ) {}

  /** Solves running now. */
  get active(): number {
    return this.#active;
  }

  /** Solves waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Runs `task` once a slot is free, and frees the slot when it settles. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (this.#active < this.maxConcurrent) {
      this.#active++;
      return Promise.resolve();
    }
    if (this.#queue.length >= this.maxQueued) {
      return Promise.reject(
        new RestError(
          'upstream_unavailable',
          'Too many proofs of work are waiting to be solved; try again shortly.',
          { retryAfter: 1 },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.#queue.indexOf(waiter);
          if (index >= 0) this.#queue.splice(index, 1);
          reject(signal?.reason as Error);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next === undefined) {
      this.#active--;
      return;
    }
    // The slot passes to the next waiter: `active` stays the same.
    next.signal?.removeEventListener('abort', next.onAbort);
    next.resolve();
  }
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Solves a proof of work without holding the event loop for more than a slice: fails with
 * `upstream_error` on a malformed seed or difficulty, fast with `upstream_blocked` when the
 * difficulty is too hard or once `maxMs` of hashing is spent, returns the fallback answer when no
 * nonce works within `maxIterations`, and rejects with the signal's reason when it is aborted.
 */
export async function solveProof(
  seed: string,
  difficulty: string,
  options: SolveProofOptions,
): Promise<ProofSolution> {
  checkProofChallenge(seed, difficulty);
  if (isProofTooHard(difficulty, options.minDifficulty)) {
    throw new RestError(
      'upstream_blocked',
      'proof of work too hard: the upstream distrusts this IP',
      {
        cause: { difficulty, bound: options.minDifficulty },
      },
    );
  }
  const solve = () => search(seed, difficulty, options);
  return options.limiter === undefined ? solve() : options.limiter.run(solve, options.signal);
}

/** The sliced search itself; the clock is read after every hash. */
async function search(
  seed: string,
  difficulty: string,
  options: SolveProofOptions,
): Promise<ProofSolution> {
  const maxIterations = options.maxIterations ?? DEFAULT_PROOF_MAX_ITERATIONS;
  const maxMs = options.maxMs ?? DEFAULT_PROOF_MAX_MS;
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  // tryProofNonce mutates the array: work on a copy so a caller's config stays as given.
  const config = [...(options.config ?? buildProofConfig())];
  let nonce = 0;
  let spent = 0;
  while (nonce < maxIterations) {
    options.signal?.throwIfAborted();
    const sliceStart = performance.now();
    const sliceEnd = sliceStart + Math.min(sliceMs, maxMs - spent);
    let now: number;
    do {
      const answer = tryProofNonce(seed, difficulty, config, nonce);
      nonce++;
      if (answer !== undefined) return { answer, solved: true, iterations: nonce };
      now = performance.now();
    } while (nonce < maxIterations && now < sliceEnd);
    spent += now - sliceStart;
    if (nonce >= maxIterations) break;
    if (spent >= maxMs) {
      throw new RestError(
        'upstream_blocked',
        `The proof of work was not solved within ${maxMs} ms of hashing (${nonce} tries); the upstream asks for more work than this server gives.`,
      );
    }
    await yieldToLoop();
  }
  return { answer: proofFallbackAnswer(seed), solved: false, iterations: maxIterations };
}
