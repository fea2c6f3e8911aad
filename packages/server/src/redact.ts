import type { OutgoingHttpHeaders } from 'node:http';

/** What a secret is replaced with in relayed bodies. */
export const REDACTED = '[redacted]';

const REDACTED_BYTES = Buffer.from(REDACTED);

/** The distinct non-empty secrets as bytes, longest first (a secret inside another loses). */
export function secretBytes(values: Iterable<string | undefined>): Buffer[] {
  const distinct = new Set<string>();
  for (const value of values) if (value !== undefined && value !== '') distinct.add(value);
  return [...distinct].sort((a, b) => b.length - a.length).map((value) => Buffer.from(value));
}

/**
 * The secrets' occurrences in `data` that start before `before`, leftmost first and the longest
 * at a position (an overlapped occurrence is part of the earlier one), as `[start, end]` pairs.
 */
function occurrences(
  data: Buffer,
  secrets: readonly Buffer[],
  before = data.length,
): [number, number][] {
  const found: [number, number][] = [];
  const next = secrets.map((secret) => data.indexOf(secret));
  let from = 0;
  for (;;) {
    let best = -1;
    for (const [index, at] of next.entries()) {
      // Secrets are longest first, so a tie keeps the longer one.
      if (at !== -1 && (best === -1 || at < (next[best] ?? -1))) best = index;
    }
    const start = best === -1 ? -1 : (next[best] ?? -1);
    if (start === -1 || start >= before) return found;
    from = start + (secrets[best]?.length ?? 0);
    found.push([start, from]);
    for (const [index, at] of next.entries()) {
      if (at !== -1 && at < from) next[index] = data.indexOf(secrets[index] as Buffer, from);
    }
  }
}

/** `data[0, end)` with the given occurrences replaced by `[redacted]`. */
function replaced(data: Buffer, found: readonly [number, number][], end: number): Buffer {
  if (found.length === 0) return data.subarray(0, end);
  const parts: Buffer[] = [];
  let from = 0;
  for (const [start, stop] of found) {
    parts.push(data.subarray(from, start), REDACTED_BYTES);
    from = stop;
  }
  parts.push(data.subarray(from, end));
  return Buffer.concat(parts);
}

/** `body` with every occurrence of every secret replaced by `[redacted]`. */
export function redactAll(body: Buffer, secrets: readonly Buffer[]): Buffer {
  return replaced(body, occurrences(body, secrets), body.length);
}

/**
 * Replaces every secret in the values of `headers` by `[redacted]`, in place. Values are read and
 * written as Node keeps them, latin1; the secrets (access tokens, API keys) are ASCII.
 */
export function redactHeaders(headers: OutgoingHttpHeaders, secrets: readonly Buffer[]): void {
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') headers[name] = redactText(value, secrets);
    else if (Array.isArray(value)) headers[name] = value.map((item) => redactText(item, secrets));
  }
}

function redactText(value: string, secrets: readonly Buffer[]): string {
  const bytes = Buffer.from(value, 'latin1');
  const found = occurrences(bytes, secrets);
  return found.length === 0 ? value : replaced(bytes, found, bytes.length).toString('latin1');
}

/** Where the longest suffix of `data` that a secret starts with (but that is not a whole one) begins. */
function heldFrom(data: Buffer, secrets: readonly Buffer[]): number {
  let earliest = data.length;
  for (const secret of secrets) {
    const first = secret[0];
    for (let at = Math.max(0, data.length - secret.length + 1); at < earliest; at++) {
      if (data[at] !== first) continue;
      if (data.subarray(at).equals(secret.subarray(0, data.length - at))) {
        earliest = at;
        break;
      }
    }
  }
  return earliest;
}

/**
 * Redacts a byte stream chunk by chunk, secrets split across chunks included: only bytes that
 * could still begin a secret are held back until the next chunk (or {@link flush}).
 */
export class StreamRedactor {
  readonly #secrets: readonly Buffer[];
  #carry: Buffer = Buffer.alloc(0);

  constructor(secrets: readonly Buffer[]) {
    this.#secrets = secrets;
  }

  /** Bytes of `chunk` (and of earlier held bytes) that are safe to send now, redacted. */
  push(chunk: Buffer): Buffer {
    const data = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    // From `held` on, the bytes may begin a secret that the next chunk completes.
    const held = heldFrom(data, this.#secrets);
    const found = occurrences(data, this.#secrets, held);
    const cut = Math.max(held, found.at(-1)?.[1] ?? 0);
    this.#carry = Buffer.from(data.subarray(cut));
    return replaced(data, found, cut);
  }

  /** The bytes still held back, redacted: the stream ended, so no secret can complete any more. */
  flush(): Buffer {
    const rest = redactAll(this.#carry, this.#secrets);
    this.#carry = Buffer.alloc(0);
    return rest;
  }

  /** How many bytes are held back now. */
  get held(): number {
    return this.#carry.length;
  }
}
