/**
 * The `web` dialect's proof of work (docs/spec/backend-protocol.md §3): a browser-facts config array whose nonce
 * (index 3) is varied until `SHA3-512(seed + base64(JSON(config)))` starts with a hex prefix at or
 * below the difficulty. The emulator verifies answers with it; the upstream client solves with it.
 * Solving here is synchronous and simple; `tryProofNonce` is the inner step a batch-wise,
 * non-blocking solver can call between yields.
 */
import { createHash, randomUUID } from 'node:crypto';

/** Prefix of a proof-of-work answer (`OpenAI-Sentinel-Proof-Token`). */
export const PROOF_ANSWER_PREFIX = 'gAAAAAB';
/** Prefix of the requirements token sent as `p` to `/sentinel/chat-requirements`. */
export const REQUIREMENTS_TOKEN_PREFIX = 'gAAAAAC';
/** Marker the browser script sends when no nonce satisfied the difficulty. */
export const PROOF_FALLBACK_MARKER = 'wQ8Lk5FbGpA2NcR9dShT6gYjU7VxZ4D';
/** Nonces tried before giving up, as the browser script does. */
export const DEFAULT_PROOF_MAX_ITERATIONS = 500_000;
/** The easy difficulty of the requirements token. */
export const REQUIREMENTS_DIFFICULTY = '0fffff';

/** The browser-facts array hashed by the proof of work; index 3 is the nonce. */
export type ProofConfig = unknown[];

/** Facts to put in the config array; every field has a plausible desktop-Chrome default. */
export interface ProofConfigOptions {
  userAgent?: string;
  screenSum?: number;
  language?: string;
  languages?: string[];
  hardwareConcurrency?: number;
  now?: Date;
}

const DEFAULT_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36';

/** Index of the nonce inside the config array. */
export const PROOF_NONCE_INDEX = 3;
/** Index of the second counter (elapsed milliseconds in browsers). */
export const PROOF_COUNTER_INDEX = 9;

/** Builds the config array of browser facts, in the order the browser script uses. */
export function buildProofConfig(options: ProofConfigOptions = {}): ProofConfig {
  const now = options.now ?? new Date();
  const language = options.language ?? 'en-US';
  return [
    options.screenSum ?? 3000,
    // The browser's `String(new Date())` form, e.g. "Sat Jan 24 2026 15:09:22 GMT+0000 (Coordinated Universal Time)".
    now.toUTCString().replace('GMT', 'GMT+0000 (Coordinated Universal Time)'),
    4294705152,
    0,
    options.userAgent ?? DEFAULT_USER_AGENT,
    'https://cdn.oaistatic.com/_next/static/chunks/main.js',
    'prod-f501fe933b3edf57aea882da888e1a544df99840',
    language,
    (options.languages ?? [language, language.split('-')[0] ?? 'en']).join(','),
    0,
    'vendorSub\u2212',
    'location',
    'onbeforexrselect',
    1234.5,
    randomUUID(),
    '',
    options.hardwareConcurrency ?? 8,
    now.getTime() - 1234.5,
  ];
}

/** base64 of the compact JSON of a config array (UTF-8). */
export function encodeProofConfig(config: ProofConfig): string {
  return Buffer.from(JSON.stringify(config), 'utf8').toString('base64');
}

/** Lowercase hex SHA3-512 of `seed + encoded` (fed in two parts: no joined copy per hash). */
export function proofHash(seed: string, encoded: string): string {
  return createHash('sha3-512').update(seed).update(encoded).digest('hex');
}

/** True when a hash satisfies a difficulty: its prefix compares at or below it as a string. */
export function meetsDifficulty(hash: string, difficulty: string): boolean {
  return hash.slice(0, difficulty.length) <= difficulty;
}

/**
 * One step of the search: sets the nonce (mutating `config`), and returns the answer when it
 * satisfies the difficulty, else undefined. A batch-wise solver loops over this between yields.
 */
export function tryProofNonce(
  seed: string,
  difficulty: string,
  config: ProofConfig,
  nonce: number,
): string | undefined {
  config[PROOF_NONCE_INDEX] = nonce;
  const encoded = encodeProofConfig(config);
  return meetsDifficulty(proofHash(seed, encoded), difficulty)
    ? PROOF_ANSWER_PREFIX + encoded
    : undefined;
}

/** The answer browsers send when no nonce worked. */
export function proofFallbackAnswer(seed: string): string {
  return (
    PROOF_ANSWER_PREFIX +
    PROOF_FALLBACK_MARKER +
    Buffer.from(`"${seed}"`, 'utf8').toString('base64')
  );
}

/** Solves the proof of work synchronously; returns the fallback answer when nothing works. */
export function computeProofAnswer(
  seed: string,
  difficulty: string,
  config: ProofConfig = buildProofConfig(),
  maxIterations: number = DEFAULT_PROOF_MAX_ITERATIONS,
): string {
  const work = [...config];
  for (let nonce = 0; nonce < maxIterations; nonce++) {
    const answer = tryProofNonce(seed, difficulty, work, nonce);
    if (answer !== undefined) return answer;
  }
  return proofFallbackAnswer(seed);
}

/**
 * Checks an answer as the backend would: the right prefix, a base64 JSON array payload (not the
 * fallback), and a hash that satisfies the difficulty. A `~S` suffix (newer browsers) is ignored.
 */
export function verifyProofAnswer(answer: string, seed: string, difficulty: string): boolean {
  if (!answer.startsWith(PROOF_ANSWER_PREFIX)) return false;
  const encoded = answer.slice(PROOF_ANSWER_PREFIX.length).replace(/~S$/, '');
  if (encoded.startsWith(PROOF_FALLBACK_MARKER) || encoded.length === 0) return false;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return false;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length <= PROOF_NONCE_INDEX) return false;
  } catch {
    return false;
  }
  return meetsDifficulty(proofHash(seed, encoded), difficulty);
}

/**
 * The `p` field of `/sentinel/chat-requirements`: `gAAAAAC` + an answer to an easy proof of work
 * (difficulty `0fffff`) over a random seed, as the browser script computes it.
 */
export function buildRequirementsToken(config: ProofConfig = buildProofConfig()): string {
  const seed = String(Math.random());
  const answer = computeProofAnswer(seed, REQUIREMENTS_DIFFICULTY, config);
  return REQUIREMENTS_TOKEN_PREFIX + answer.slice(PROOF_ANSWER_PREFIX.length);
}
