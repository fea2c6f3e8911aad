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

/** The clock is read once per this many nonces: reading it is not free next to a hash. */
const NONCES_PER_CLOCK_READ = 64;

/** How a proof is solved. */
export interface SolveProofOptions {
  /** Difficulties at or below this (as much expected work or more) fail fast. */
  minDifficulty: string;
  /** Nonces tried before the fallback answer. @default 500000 */
  maxIterations?: number;
  /** Browser facts to hash; a fresh {@link buildProofConfig} when absent. */
  config?: ProofConfig;
  /** Stops the search between slices (the client left). */
  signal?: AbortSignal;
  /** Longest time one slice holds the event loop. @default 5 */
  sliceMs?: number;
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
 * below `d` with probability `(value(d) + 1) / 16^length`. Not a hex string: 1 (no estimate).
 */
export function expectedProofHashes(difficulty: string): number {
  if (!/^[0-9a-f]+$/i.test(difficulty)) return 1;
  return 16 ** difficulty.length / (Number.parseInt(difficulty, 16) + 1);
}

/**
 * True when `difficulty` is at or below `bound`: for equal lengths this is the string comparison
 * of docs/spec/backend-protocol.md; across lengths it compares the expected work, which is what matters.
 */
export function isProofTooHard(difficulty: string, bound: string): boolean {
  return expectedProofHashes(difficulty) >= expectedProofHashes(bound);
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Solves a proof of work without holding the event loop for more than a slice: fails fast with
 * `upstream_blocked` when the difficulty is too hard, returns the fallback answer when no nonce
 * works within `maxIterations`, and rejects with the signal's reason when it is aborted.
 */
export async function solveProof(
  seed: string,
  difficulty: string,
  options: SolveProofOptions,
): Promise<ProofSolution> {
  if (isProofTooHard(difficulty, options.minDifficulty)) {
    throw new RestError(
      'upstream_blocked',
      'proof of work too hard: the upstream distrusts this IP',
      {
        cause: { difficulty, bound: options.minDifficulty },
      },
    );
  }
  const maxIterations = options.maxIterations ?? DEFAULT_PROOF_MAX_ITERATIONS;
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  // tryProofNonce mutates the array: work on a copy so a caller's config stays as given.
  const config = [...(options.config ?? buildProofConfig())];
  let nonce = 0;
  while (nonce < maxIterations) {
    options.signal?.throwIfAborted();
    const sliceEnd = performance.now() + sliceMs;
    do {
      const stop = Math.min(nonce + NONCES_PER_CLOCK_READ, maxIterations);
      for (; nonce < stop; nonce++) {
        const answer = tryProofNonce(seed, difficulty, config, nonce);
        if (answer !== undefined) return { answer, solved: true, iterations: nonce + 1 };
      }
    } while (nonce < maxIterations && performance.now() < sliceEnd);
    if (nonce < maxIterations) await yieldToLoop();
  }
  return { answer: proofFallbackAnswer(seed), solved: false, iterations: maxIterations };
}
