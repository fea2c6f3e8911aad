/**
 * The token pool's tokens: those in rotation, and those a reload removed that still have
 * requests running ("leaving"), found by label, account or token. A reload replaces the set at
 * once; a leaving token is forgotten when its last request ends.
 */
import { accountOf } from '../store/store.js';
import type { HeldToken } from './held-token.js';

/** One held token and what this process knows of it. */
export interface Entry {
  held: HeldToken;
  /** The store's name for the token: a hash of it. */
  account: string;
  inFlight: number;
  /** Picks whose first upstream request has not started yet (see {@link reserve}). */
  reservations: Reservation[];
  lastPicked: number;
  evicted: string | undefined;
  cappedUntil: number;
  /** A message of this token is being answered (as the store last said). */
  busy: boolean;
}

/** A pick of a token, counted as its load until it expires (`expires`, epoch ms). */
export interface Reservation {
  expires: number;
}

/** How long a pick counts as load before its first upstream request starts. */
const RESERVATION_MS = 5000;

/**
 * Counts a pick of `entry` as load until its first upstream request starts ({@link started}) or
 * for 5 s; returns the function that drops it sooner, when the request makes no upstream call.
 */
export function reserve(entry: Entry, now: number): () => void {
  const reservation = { expires: now + RESERVATION_MS };
  entry.reservations.push(reservation);
  return () => {
    const at = entry.reservations.indexOf(reservation);
    if (at !== -1) entry.reservations.splice(at, 1);
  };
}

/** An upstream request of `entry` started: the oldest pick it announced counts no more. */
export function started(entry: Entry): void {
  entry.reservations.shift();
}

/** The picks of `entry` still counted as load at `now` (expired ones are dropped). */
export function reserved(entry: Entry, now: number): number {
  entry.reservations = entry.reservations.filter((reservation) => reservation.expires > now);
  return entry.reservations.length;
}

/** What a replacement did, by label (never a token). */
export interface TokenChanges {
  added: string[];
  /** Out of rotation at once; those with requests running leave when the last one ends. */
  removed: string[];
  /** Same label and token: caps, evictions, sticky conversations and load kept. */
  kept: string[];
}

function newEntry(held: HeldToken): Entry {
  return {
    held: { label: held.label, token: held.token },
    account: accountOf(held.token),
    inFlight: 0,
    reservations: [],
    lastPicked: 0,
    evicted: undefined,
    cappedUntil: 0,
    busy: false,
  };
}

/** Refuses an empty set or a label used twice; the message names labels, never tokens. */
function checkTokens(tokens: readonly HeldToken[]): void {
  if (tokens.length === 0) throw new TypeError('chatgpt-rest: the token pool needs a token');
  const labels = new Set<string>();
  for (const { label, token } of tokens) {
    if (typeof label !== 'string' || label === '' || typeof token !== 'string' || token === '') {
      throw new TypeError('chatgpt-rest: each held token needs a label and a token');
    }
    if (labels.has(label)) throw new TypeError(`chatgpt-rest: token label ${label} is used twice`);
    labels.add(label);
  }
}

/** The tokens in rotation and the ones leaving, with their lookups. */
export class TokenEntries {
  #current: Entry[] = [];
  #byLabel = new Map<string, Entry>();
  #byAccount = new Map<string, Entry>();
  /** Current and leaving entries: a request holding a removed token still finds its entry. */
  readonly #byToken = new Map<string, Entry>();
  readonly #leaving = new Set<Entry>();

  constructor(tokens: readonly HeldToken[]) {
    this.replace(tokens);
  }

  /** The tokens in rotation, in their configured order. */
  get current(): readonly Entry[] {
    return this.#current;
  }

  byLabel(label: string): Entry | undefined {
    return this.#byLabel.get(label);
  }

  byAccount(account: string): Entry | undefined {
    return this.#byAccount.get(account);
  }

  /** The entry of a token in rotation or leaving. */
  byToken(token: string): Entry | undefined {
    return this.#byToken.get(token);
  }

  /** Every token a request may still send (in rotation or leaving): what errors must redact. */
  tokens(): string[] {
    return [...this.#byToken.keys()];
  }

  /** How many removed tokens still have requests running. */
  get leaving(): number {
    return this.#leaving.size;
  }

  /**
   * Puts `tokens` in rotation at once (checked first: a bad set changes nothing). A token kept
   * under the same label keeps its entry; a removed one with requests running leaves when the
   * last ends ({@link idle}). Returns the changes and the accounts no entry names any more.
   */
  replace(tokens: readonly HeldToken[]): TokenChanges & { gone: string[] } {
    checkTokens(tokens);
    const previous = this.#current;
    const kept = new Map<string, Entry>();
    for (const entry of previous) {
      if (tokens.some((t) => t.label === entry.held.label && t.token === entry.held.token)) {
        kept.set(entry.held.label, entry);
      }
    }
    this.#current = tokens.map((held) => kept.get(held.label) ?? newEntry(held));
    this.#byLabel = new Map(this.#current.map((entry) => [entry.held.label, entry]));
    this.#byAccount = new Map(this.#current.map((entry) => [entry.account, entry]));
    const removed = previous.filter((entry) => !kept.has(entry.held.label));
    for (const entry of removed) this.#leaving.add(entry);
    for (const entry of this.#current) this.#byToken.set(entry.held.token, entry);
    const gone = removed.flatMap((entry) => this.idle(entry));
    return {
      added: this.#current.filter((e) => !kept.has(e.held.label)).map((e) => e.held.label),
      removed: removed.map((entry) => entry.held.label),
      kept: [...kept.keys()],
      gone,
    };
  }

  /**
   * Tells that `entry` may have no request left: a leaving one with none is forgotten. Returns
   * its account when no entry names that account any more (the store may forget it too).
   */
  idle(entry: Entry): string[] {
    if (!this.#leaving.has(entry) || entry.inFlight > 0) return [];
    this.#leaving.delete(entry);
    if (this.#byToken.get(entry.held.token) === entry) this.#byToken.delete(entry.held.token);
    return this.#byAccount.has(entry.account) ? [] : [entry.account];
  }
}
