/**
 * A lease on a held token: what one upstream request of that token owes the pool (its load, its
 * message slot, what its answer teaches). The core's upstream client and the sidecar's
 * pass-through both take one per request, so they count, queue and learn the same way.
 */
import { performance } from 'node:perf_hooks';
import { chunksOfWeb, watchChunks, webOfChunks, type ByteChunks } from '../http/byte-chunks.js';
import { RestError } from '../errors.js';
import { Utf8Text } from '../http/utf8-text.js';
import {
  ChunksResponse,
  takeChunks,
  unreadContent,
  type WholeContent,
} from '../http/whole-response.js';
import type { Logger } from '../logger.js';
import { timerDelay } from '../timer-limit.js';

/** How a request uses its token: a message POST waits for the token's one message slot. */
export interface LeaseOptions {
  /** A message POST (see {@link isMessagePost}): waits for the token's message slot. */
  message: boolean;
  /** Gives up waiting for the slot when it aborts (rejects with its reason). */
  signal?: AbortSignal;
  /** The request's logger: what its answer teaches the pool is logged there (with its id). */
  log?: Logger;
  /**
   * The access token the request sends: names its pool entry exactly, even after a reload gave
   * the label to another token (the lease then counts against the token really used).
   */
  token?: string;
}

/** One upstream request's hold on a held token, taken with `TokenPool.lease`. */
export interface Lease {
  /** The held token's label. */
  readonly label: string;
  /** True when the request is a message POST (it holds the message slot). */
  readonly message: boolean;
  /** Ends the request's load and frees its message slot; later calls do nothing. */
  release(): void;
  /** Learns from the upstream answer: a 401 evicts the token, a usage cap parks it. */
  observe(status: number, body: string, headers?: Headers): void;
  /** Remembers that the token holds a conversation, so its later requests go there. */
  remember(conversationId: string): void;
}

/** How much of a message stream is searched for its conversation id. */
export const SNIFF_LIMIT = 64 * 1024;
const CONVERSATION_ID = /"conversation_id"\s{0,16}:\s{0,16}"([0-9a-fA-F-]{36})"/;
/** Text kept from earlier chunks for a match across them: longer than the longest match (88). */
const SNIFF_TAIL = 128;
const MESSAGE_PATH = /\/(?:f\/)?conversation$/;

/**
 * True for the upstream's message POSTs (`POST /conversation`, `POST /f/conversation`): `path`
 * is a path below the base URL or a whole URL path (it ends the same way), query aside. The
 * upstream answers one message at a time per account.
 */
export function isMessagePost(method: string, path: string): boolean {
  return method.toUpperCase() === 'POST' && MESSAGE_PATH.test(path.split('?', 1)[0] ?? '');
}

/**
 * A sniffer for the chunks of a message stream: calls `found` with the first conversation id in
 * the stream's first 64 KiB, then looks no further.
 */
export function conversationIdSniffer(found: (id: string) => void): (chunk: Uint8Array) => void {
  const decoder = new Utf8Text();
  let seen = 0;
  let text = '';
  return (chunk) => {
    if (seen >= SNIFF_LIMIT) return;
    seen += chunk.byteLength;
    // Only the new text and a tail are searched: small chunks cost in proportion to their size.
    text = text.slice(-SNIFF_TAIL) + decoder.write(chunk);
    const id = CONVERSATION_ID.exec(text)?.[1];
    if (id !== undefined) found(id);
    if (id !== undefined || seen >= SNIFF_LIMIT) {
      seen = SNIFF_LIMIT;
      text = '';
    }
  };
}

/**
 * A backstop against a bug: a leased body that nobody reads for `ms` is cancelled and its lease
 * released, with a warning. A live stream is never that long without a chunk read (the upstream
 * may be silent for one `timeouts.idle`, a client that reads nothing is cut after another), but a
 * body some code path forgot would hold the token's message slot for ever: every later message
 * of the token refused as busy.
 */
export interface UnreadLimit {
  ms: number;
  log: Logger;
}

/**
 * Passes a body through unchanged, calling `done` once when it ends, fails or is cancelled (or
 * sits unread past `unread`), and `onConversation` with the first conversation id seen in its
 * first 64 KiB.
 */
function watched(
  chunks: ByteChunks,
  done: () => void,
  onConversation?: (id: string) => void,
  unread?: UnreadLimit,
): ByteChunks {
  const sniff = onConversation === undefined ? undefined : conversationIdSniffer(onConversation);
  if (unread === undefined) return watchChunks(chunks, done, sniff);
  let last = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const seen = (chunk: Uint8Array): void => {
    last = performance.now();
    sniff?.(chunk);
  };
  const body = watchChunks(chunks, () => (clearTimeout(timer), done()), seen);
  const check = (): void => {
    const quiet = performance.now() - last;
    if (quiet < unread.ms) {
      timer = setTimeout(check, timerDelay(unread.ms - quiet)).unref();
      return;
    }
    unread.log.warn(
      { unreadMs: Math.round(quiet) },
      'an upstream body went unread: its token lease is released',
    );
    body.cancel(new RestError('upstream_timeout', 'The upstream reply went unread too long.'));
  };
  timer = setTimeout(check, timerDelay(unread.ms)).unref();
  return body;
}

/**
 * A response whose lease is released when its body is done (ended, failed or cancelled; at once
 * without a body; or, given `unread`, left unread that long) and which, for a successful message
 * POST, remembers the conversation it names.
 */
export function leasedResponse(response: Response, lease: Lease, unread?: UnreadLimit): Response {
  const whole = unreadContent(response);
  if (whole !== undefined) {
    // Read whole already: the request is over; what it names is learnt from the content.
    if (lease.message && response.ok) {
      conversationIdSniffer((id) => lease.remember(id))(toBytes(whole));
    }
    lease.release();
    return response;
  }
  const init = {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  };
  const onConversation =
    lease.message && response.ok ? (id: string) => lease.remember(id) : undefined;
  const chunks = takeChunks(response);
  if (chunks !== undefined) {
    return new ChunksResponse(
      watched(chunks, () => lease.release(), onConversation, unread),
      init,
    );
  }
  if (response.body === null) {
    lease.release();
    return response;
  }
  const body = watched(chunksOfWeb(response.body), () => lease.release(), onConversation, unread);
  return new Response(webOfChunks(body), init);
}

function toBytes(content: WholeContent): Uint8Array {
  return typeof content === 'string' ? Buffer.from(content) : content;
}
