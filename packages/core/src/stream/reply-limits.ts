/**
 * What one reply stream may make the reader hold or send: characters of message data, messages,
 * user echoes, characters of rewrites. Each is counted as the data comes, at a constant cost per
 * event, never by measuring what was assembled; past a bound the stream fails with
 * `upstream_error`, the upstream's fault.
 */
import { RestError } from '../errors.js';
import { MAX_V1_SHIFTED, type V1Operation } from './v1-patch.js';

/** Characters of rewrite events one stream may cause: each repeats the whole text so far. */
export const MAX_REWRITE_CHARS = 32 * 1024 * 1024;

/**
 * Characters of message data one reply stream may make the reader hold, 16 MiB by default: the
 * core passes `limits.upstreamBody` (16 MiB unless set), the largest conversation tree it reads
 * back, and every message of the reply is part of that tree. Without it a `v1` stream appending to a path no client sees
 * grew the state by 1 GB in 10 s: the client got nothing, so the idle timeout never fired.
 */
export const MAX_REPLY_CHARS = 16 * 1024 * 1024;

/**
 * Messages one reply stream may carry, and user messages it may echo: a reply holds a few (tool
 * calls, hidden system and reasoning messages), never thousands; each costs an entry however
 * short its events.
 */
export const MAX_REPLY_MESSAGES = 4096;

/** How many recent operation paths count as known (their length is charged once). */
const RECENT_PATHS = 4;

/** What an entry is charged besides its value, and a number, a boolean or null as a value. */
const ENTRY_CHARS = 8;

/**
 * Characters one `v1` operation may add to the state: a string value's length, a scalar's
 * {@link ENTRY_CHARS}, any other value its whole event's (more than it weighs), plus
 * {@link ENTRY_CHARS} for the entry (an array item of `""` is not free either). A recent path
 * adds no keys; a new one may, so its length counts (a stream of new 64 KiB keys with empty
 * values is no way around the bound).
 */
function operationChars(op: V1Operation, raw: string, newPath: boolean): number {
  const { v } = op;
  const value =
    typeof v === 'string'
      ? v.length
      : v === null || typeof v !== 'object'
        ? ENTRY_CHARS
        : raw.length;
  return ENTRY_CHARS + value + (newPath ? op.p.length : 0);
}

function tooMuch(what: string): RestError {
  return new RestError('upstream_error', `The upstream stream sent ${what} for one reply.`, {
    upstreamStatus: 200,
  });
}

/** The counts of one reply stream; each method throws `upstream_error` past its bound. */
export class ReplyLimits {
  readonly #maxChars: number;
  #heldChars = 0;
  #rewriteChars = 0;
  /** The paths of the last few operations: a delta's text and its token count alternate. */
  readonly #recentPaths: string[] = [];

  /** `maxChars`: characters of message data the reply may hold, {@link MAX_REPLY_CHARS} unless set. */
  constructor(maxChars = MAX_REPLY_CHARS) {
    this.#maxChars = maxChars;
  }

  /** Counts `chars` more characters of message data held (fewer when a snapshot shrank). */
  hold(chars: number): void {
    this.#heldChars += chars;
    if (this.#heldChars > this.#maxChars) {
      throw tooMuch(`more than ${this.#maxChars} characters of message data`);
    }
  }

  /**
   * Counts what a `v1` delta's operations may add (see `operationChars`): an upper bound, kept in
   * constant time per operation. A value that replaces or removes data counts all the same.
   */
  holdDelta(applied: readonly V1Operation[], raw: string): void {
    let chars = 0;
    for (const op of applied) chars += operationChars(op, raw, this.#newPath(op.p));
    this.hold(chars);
  }

  /** False when `path` is one of the last {@link RECENT_PATHS} operations' (its keys exist). */
  #newPath(path: string): boolean {
    const recent = this.#recentPaths;
    if (recent.includes(path)) return false;
    if (recent.length === RECENT_PATHS) recent.shift();
    recent.push(path);
    return true;
  }

  /**
   * Counts a legacy snapshot of `chars` characters in place of its message's last one, whose size
   * `held` records: of each message, the reply holds the last snapshot only.
   */
  holdSnapshot(held: { snapshotChars: number }, chars: number): void {
    this.hold(chars - held.snapshotChars);
    held.snapshotChars = chars;
  }

  /** Before one more entry of `what` (messages, user messages) when `count` are held. */
  admit(count: number, what: string): void {
    if (count >= MAX_REPLY_MESSAGES) throw tooMuch(`more than ${MAX_REPLY_MESSAGES} ${what}`);
  }

  /** The failure of a stream whose array inserts and removals moved too many items. */
  tooMuchShifting(): RestError {
    return tooMuch(`array inserts and removals moving more than ${MAX_V1_SHIFTED} items`);
  }

  /** Counts a rewrite event of `chars` characters. */
  rewrite(chars: number): void {
    this.#rewriteChars += chars;
    if (this.#rewriteChars > MAX_REWRITE_CHARS) {
      throw new RestError(
        'upstream_error',
        'The upstream rewrote the streamed reply text too often.',
        { upstreamStatus: 200 },
      );
    }
  }
}
