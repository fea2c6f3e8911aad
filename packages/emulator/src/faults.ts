/**
 * Faults the emulator can inject, each shaped like a real backend failure or a broken network,
 * and the queue of scripted ones (`emulator.inject`, `options.faults`, `X-Emulator-Fault`).
 */
import type { ErrorAnswer } from './backend-errors.js';
import * as bodies from './backend-errors.js';

/** A fault that answers with an error status instead of the normal answer. */
export type StatusFault =
  | { type: 'http'; status: number; body?: string | Record<string, unknown>; contentType?: string }
  | { type: 'token_expired' }
  | { type: 'invalid_jwt' }
  | { type: 'invalid_token' }
  | { type: 'cloudflare'; status?: 403 | 503 }
  | { type: 'unusual_activity' }
  | { type: 'conversation_not_found' }
  | { type: 'model_cap'; clearsIn?: number }
  | { type: 'rate_limit' }
  | { type: 'one_at_a_time'; status?: 429 | 409 }
  | { type: 'server_error'; format?: 'text' | 'json' }
  | { type: 'model_not_found'; status?: 404 | 400; model?: string };

/** A fault that changes how a message stream is delivered; several may be combined. */
export type StreamFault =
  /** Wait before sending any header (the request still succeeds afterwards). */
  | { type: 'stall_before_headers'; ms: number }
  /** Stop writing after N events; resume after `ms`, or never (until the client leaves). */
  | { type: 'stall_mid_stream'; afterEvents: number; ms?: number }
  /** Destroy the socket (TCP reset) after N events. */
  | { type: 'reset'; afterEvents: number }
  /** End the response cleanly but without `data: [DONE]`, optionally cut after N events. */
  | { type: 'end_without_done'; afterEvents?: number }
  /** A `data:` line that is not valid JSON, after N events (default 2). */
  | { type: 'malformed_json'; afterEvents?: number }
  /** Bare timestamp lines (`data: 2024-04-27 01:35:43.686476`) every N events (default 2). */
  | { type: 'heartbeat'; every?: number }
  /** `event: ping` blocks, or `: ping - …` comments, every N events (default 2). */
  | { type: 'ping'; every?: number; style?: 'event' | 'comment' }
  /** `{"message": null, "error": "…"}` after N events (default 2); the stream ends there. */
  | { type: 'stream_error'; message?: string; afterEvents?: number }
  /** A moderation event; when `blocked`, the reply text is withheld. */
  | { type: 'moderation'; flagged?: boolean; blocked?: boolean }
  /** Status 200 `text/event-stream` whose body is the 401 token_expired JSON. */
  | { type: 'unauthorized_in_stream'; format?: 'data' | 'raw' }
  /** CRLF or CR line endings instead of LF. */
  | { type: 'line_endings'; style: 'crlf' | 'cr' }
  /** One socket write per byte, so every event and UTF-8 sequence is split. */
  | { type: 'split_bytes' }
  /** One line padded to `bytes` (default 2 MiB) after N events (default 1). */
  | { type: 'long_line'; bytes?: number; afterEvents?: number }
  /**
   * After the first text event at or past N events (default 2), the text already sent is cut by
   * `cut` characters (default 3; a v1 `truncate`, or a shorter legacy snapshot), then restored
   * (a v1 `append`, or the snapshot again): a rewrite of streamed text; the final text is unchanged.
   */
  | { type: 'rewrite_text'; afterEvents?: number; cut?: number };

/** Any injectable fault. */
export type Fault = StatusFault | StreamFault;

/** Which requests a scripted fault applies to. `path` is matched with or without `/backend-api`. */
export interface FaultMatch {
  method?: string;
  path?: string | RegExp;
  /** Only requests carrying this bearer token. */
  token?: string;
}

/** A scripted fault: applied to the next `times` matching requests (default 1; `Infinity` allowed). */
export interface FaultRule {
  match?: FaultMatch;
  times?: number;
  fault: Fault | Fault[];
}

const STATUS_TYPES = new Set([
  'http',
  'token_expired',
  'invalid_jwt',
  'invalid_token',
  'cloudflare',
  'unusual_activity',
  'conversation_not_found',
  'model_cap',
  'rate_limit',
  'one_at_a_time',
  'server_error',
  'model_not_found',
]);

/** True for faults answered with an error status. */
export function isStatusFault(fault: Fault): fault is StatusFault {
  return STATUS_TYPES.has(fault.type);
}

/** The HTTP answer of a status fault. */
export function statusFaultAnswer(fault: StatusFault): ErrorAnswer {
  switch (fault.type) {
    case 'http': {
      const body = fault.body ?? '';
      return {
        status: fault.status,
        body,
        contentType:
          fault.contentType ??
          (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json'),
      };
    }
    case 'token_expired':
      return bodies.tokenExpired();
    case 'invalid_jwt':
      return bodies.invalidJwt();
    case 'invalid_token':
      return bodies.invalidToken();
    case 'cloudflare':
      return bodies.cloudflareChallenge(fault.status);
    case 'unusual_activity':
      return bodies.unusualActivity();
    case 'conversation_not_found':
      return bodies.conversationNotFound();
    case 'model_cap':
      return bodies.modelCap(fault.clearsIn);
    case 'rate_limit':
      return bodies.rateLimit();
    case 'one_at_a_time':
      return bodies.oneAtATime(fault.status);
    case 'server_error':
      return bodies.serverError(fault.format);
    case 'model_not_found':
      return bodies.modelNotFound(fault.model, fault.status);
  }
}

interface QueuedRule {
  match: FaultMatch;
  remaining: number;
  faults: Fault[];
}

/** What a request needs to be matched against the queue. */
export interface FaultTarget {
  method: string;
  path: string;
  token: string | undefined;
}

function pathMatches(pattern: string | RegExp, path: string): boolean {
  const short = path.replace(/^\/backend-api(?=\/)/, '');
  if (typeof pattern === 'string') return pattern === path || pattern === short;
  return pattern.test(path) || pattern.test(short);
}

/** FIFO of scripted faults: each matching request consumes one use of the first matching rule. */
export class FaultQueue {
  readonly #rules: QueuedRule[] = [];

  /** Adds a rule at the end of the queue. */
  add(rule: FaultRule): void {
    const times = rule.times ?? 1;
    if (!(times > 0)) throw new RangeError('times must be positive');
    this.#rules.push({
      match: rule.match ?? {},
      remaining: times,
      faults: Array.isArray(rule.fault) ? rule.fault : [rule.fault],
    });
  }

  /** Takes the faults for a request, consuming one use of the first matching rule. */
  take(target: FaultTarget): Fault[] {
    const index = this.#rules.findIndex(({ match }) => {
      if (match.method !== undefined && match.method.toUpperCase() !== target.method) return false;
      if (match.path !== undefined && !pathMatches(match.path, target.path)) return false;
      if (match.token !== undefined && match.token !== target.token) return false;
      return true;
    });
    if (index < 0) return [];
    const rule = this.#rules[index];
    /* c8 ignore next */
    if (rule === undefined) return [];
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.#rules.splice(index, 1);
    return rule.faults;
  }

  /** Number of rules still waiting. */
  get pending(): number {
    return this.#rules.length;
  }

  /** Drops every rule. */
  clear(): void {
    this.#rules.length = 0;
  }
}

// Faults that need no parameter, so a bare name in the header is enough.
const NAME_ONLY = new Set([
  ...[...STATUS_TYPES].filter((type) => type !== 'http'),
  'end_without_done',
  'malformed_json',
  'heartbeat',
  'ping',
  'stream_error',
  'moderation',
  'unauthorized_in_stream',
  'split_bytes',
  'long_line',
  'rewrite_text',
]);

/**
 * Reads the per-request `X-Emulator-Fault` header: a fault type name (`token_expired`) or the JSON
 * of one fault or a list. Unparseable values are ignored rather than failing the request.
 */
export function faultsFromHeader(value: string | undefined): Fault[] {
  if (value === undefined || value.trim() === '') return [];
  const text = value.trim();
  if (!text.startsWith('{') && !text.startsWith('[')) {
    return NAME_ONLY.has(text) ? [{ type: text } as Fault] : [];
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return list.filter(
      (item): item is Fault =>
        typeof item === 'object' && item !== null && typeof (item as Fault).type === 'string',
    );
  } catch {
    return [];
  }
}
