/**
 * Benchmark (not a test) of the `web` dialect's proof-of-work solver:
 * median solve time at the difficulties seen in real chat-requirements answers and harder ones,
 * and the solver's hashes per second beside a plain `crypto.createHash('sha3-512')` loop over
 * inputs of the same length, in the same run. Writes `bench/results/proof-of-work.json`.
 *
 *   node --conditions=@chatgpt-rest/source --import tsx bench/proof-of-work.ts
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  buildProofConfig,
  encodeProofConfig,
  tryProofNonce,
} from '../packages/core/src/backend/proof-of-work.js';
import {
  expectedProofHashes,
  solveProof,
} from '../packages/core/src/upstream/proof-of-work-solver.js';

/** Difficulties and how many solves each: real ones (`073682`, `0fffff`) and harder ones. */
const DIFFICULTIES: [string, number][] = [
  ['073682', 101],
  ['0fffff', 101],
  ['00ffff', 41],
  ['003fff', 21],
  ['000fff', 21],
  ['0003ff', 11],
  ['0000ff', 7],
];

/** Fixed work for the throughput runs: nonces tried at a difficulty no hash meets. */
const THROUGHPUT_HASHES = 200_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

async function solveTimes(difficulty: string, runs: number) {
  const times: number[] = [];
  const iterations: number[] = [];
  let fallbacks = 0;
  for (let run = 0; run < runs; run++) {
    const seed = String(Math.random());
    const start = performance.now();
    const solution = await solveProof(seed, difficulty, { minDifficulty: '0000000' });
    times.push(performance.now() - start);
    iterations.push(solution.iterations);
    if (!solution.solved) fallbacks++;
  }
  return {
    difficulty,
    runs,
    expectedHashes: round(expectedProofHashes(difficulty), 1),
    medianHashes: median(iterations),
    medianMs: round(median(times), 3),
    maxMs: round(Math.max(...times), 3),
    fallbacks,
  };
}

/** The solver as the client runs it: time slices with event-loop yields. */
async function solverRate(): Promise<number> {
  const start = performance.now();
  const solution = await solveProof('0.5', '000000', {
    minDifficulty: '0000000',
    maxIterations: THROUGHPUT_HASHES,
  });
  return solution.iterations / ((performance.now() - start) / 1000);
}

/** The same inner step without yields: shows what the slicing costs. */
function innerStepRate(): number {
  const config = buildProofConfig();
  const start = performance.now();
  for (let nonce = 0; nonce < THROUGHPUT_HASHES; nonce++)
    tryProofNonce('0.5', '000000', config, nonce);
  return THROUGHPUT_HASHES / ((performance.now() - start) / 1000);
}

/** A plain SHA3-512 loop over inputs as long as the solver's (seed + base64 config). */
function plainHashRate(): number {
  const config = buildProofConfig();
  const input = `0.5${encodeProofConfig(config)}`;
  const start = performance.now();
  let sink = 0;
  for (let i = 0; i < THROUGHPUT_HASHES; i++) {
    sink ^= createHash('sha3-512')
      .update(input + String(i % 10))
      .digest('hex')
      .charCodeAt(0);
  }
  if (sink === -1) console.log('unreachable');
  return THROUGHPUT_HASHES / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  // Warm-up so the first measured difficulty does not pay for JIT compilation.
  await solveTimes('00ffff', 5);
  plainHashRate();

  const solves = [];
  for (const [difficulty, runs] of DIFFICULTIES) {
    const result = await solveTimes(difficulty, runs);
    solves.push(result);
    console.log(
      `${difficulty}: median ${result.medianMs} ms (${result.medianHashes} hashes, ` +
        `expected ${result.expectedHashes}) over ${runs} solves, max ${result.maxMs} ms`,
    );
  }

  const solver = await solverRate();
  const inner = innerStepRate();
  const plain = plainHashRate();
  const throughput = {
    hashes: THROUGHPUT_HASHES,
    solverHashesPerSecond: Math.round(solver),
    innerStepHashesPerSecond: Math.round(inner),
    plainSha3HashesPerSecond: Math.round(plain),
    solverVsPlain: round(solver / plain, 3),
  };
  console.log(
    `solver ${throughput.solverHashesPerSecond} hashes/s (sliced), ` +
      `inner step ${throughput.innerStepHashesPerSecond} hashes/s (no yields), ` +
      `plain sha3-512 ${throughput.plainSha3HashesPerSecond} hashes/s ` +
      `→ solver at ${Math.round(throughput.solverVsPlain * 100)} % of a bare hash loop`,
  );

  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    solves,
    throughput,
  };
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('proof-of-work.json', dir), `${JSON.stringify(results, null, 2)}\n`);
  console.log('wrote bench/results/proof-of-work.json');
}

await main();
