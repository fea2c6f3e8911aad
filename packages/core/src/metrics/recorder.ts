/**
 * What the core records for metrics, as the rest of the core sees it: a small recorder interface
 * with one method per fact, and a recorder that records nothing (the default). Only
 * `prometheus.ts` knows prom-client; routes, the upstream client and the turn runner call this
 * interface. Every label value passed here is from a fixed, small set (route templates, method
 * names, statuses, endpoint names, held tokens' labels): never a path, a token or an id.
 */
import { performance } from 'node:perf_hooks';
import type { TokenPool } from '../auth/token-pool.js';
import { isRestError } from '../errors.js';
import type { CacheStore } from '../store/store.js';

/**
 * The registry the metrics go into: prom-client's `Registry` (typed structurally, so that the
 * core's types do not need prom-client installed).
 */
export interface MetricsRegistry {
  getSingleMetric(name: string): unknown;
  registerMetric(metric: never): void;
  metrics(): Promise<string>;
}

/** The `metrics` option. */
export interface MetricsOptions {
  /** A prom-client `Registry` (`new Registry()`, or prom-client's global `register`). */
  registry: MetricsRegistry;
}

/** The upstream endpoints, by a fixed name (never the raw path, which holds conversation ids). */
export type UpstreamEndpoint =
  | 'list_conversations'
  | 'get_conversation'
  | 'patch_conversation'
  | 'patch_conversations'
  | 'send_message'
  | 'gen_title'
  | 'chat_requirements'
  | 'conduit_prepare'
  | 'other';

/** Which API a stream answers: the REST routes' events or OpenAI's chunks. */
export type StreamApi = 'rest' | 'openai';

/** How a stream ended: `done` (read to its end), `error` (an error event), `aborted` (the client left). */
export type StreamOutcome = 'done' | 'error' | 'aborted';

/** How a proof of work went: `solved`, `fallback` (no nonce found: the browsers' answer sent), `failed`. */
export type ProofOutcome = 'solved' | 'fallback' | 'failed';

/** One event stream to a client, as the SSE writer reports it. */
export interface StreamProbe {
  /** The stream started being read (by a Node sink or the web body). */
  open(): void;
  /** A frame of `bytes` bytes (a string: its UTF-8 length) was handed to the client. */
  frame(bytes: number | string): void;
  /** The stream ended; only the first call counts. */
  close(outcome: StreamOutcome): void;
}

/** What a handler tells its metrics about: the core calls these, and only these. */
export interface MetricsRecorder {
  /** False for the recorder that records nothing: callers may skip work that only feeds it. */
  readonly enabled: boolean;
  /**
   * One answered request: its route template (or `(unmatched)`), method, status, and the time
   * from the request to its response head (`startedAt`: a `performance.now()`).
   */
  request(route: string, method: string, status: number, startedAt: number): void;
  /**
   * One upstream call: its endpoint, its status (the HTTP status, or the error code of a call
   * that got none), and the time to its response head (undefined when none came).
   */
  upstreamCall(endpoint: UpstreamEndpoint, status: string, firstByteSeconds?: number): void;
  /** A JSON upstream call answered and read whole, `startedAt` being when it was sent. */
  upstreamDuration(endpoint: UpstreamEndpoint, startedAt: number): void;
  /** A turn's first text (delta or rewrite), `startedAt` being when the turn was sent. */
  firstDelta(startedAt: number): void;
  /** One `continue` sent for a reply cut at `max_tokens`. */
  autocontinue(): void;
  /** One proof of work, `startedAt` being when it was asked for (a wait for a solver included). */
  proofOfWork(outcome: ProofOutcome, startedAt: number): void;
  /** A lookup of a conversation tree in the cache. */
  cacheLookup(hit: boolean): void;
  /** A stream to a client; its probe reports it as it is written. */
  stream(api: StreamApi): StreamProbe;
  /** Reads these at scrape time: the held tokens' standing, the cache's size and evictions. */
  watch(sources: { pool?: TokenPool | undefined; cache?: CacheStore | undefined }): void;
}

const noop = (): void => undefined;

/** The probe of a stream nobody measures. */
export const NO_PROBE: StreamProbe = { open: noop, frame: noop, close: noop };

/** The recorder of a handler without the `metrics` option: every call does nothing. */
export const NO_METRICS: MetricsRecorder = {
  enabled: false,
  request: noop,
  upstreamCall: noop,
  upstreamDuration: noop,
  firstDelta: noop,
  autocontinue: noop,
  proofOfWork: noop,
  cacheLookup: noop,
  stream: () => NO_PROBE,
  watch: noop,
};

/** Upstream paths (below the base URL, query stripped) and the endpoint each one is. */
const ENDPOINTS: readonly [string, RegExp, UpstreamEndpoint][] = [
  ['GET', /^\/conversations$/, 'list_conversations'],
  ['PATCH', /^\/conversations$/, 'patch_conversations'],
  ['GET', /^\/conversation\/[^/]+$/, 'get_conversation'],
  ['PATCH', /^\/conversation\/[^/]+$/, 'patch_conversation'],
  ['POST', /^\/(?:f\/)?conversation$/, 'send_message'],
  ['POST', /^\/conversation\/gen_title\/[^/]+$/, 'gen_title'],
  ['POST', /^\/sentinel\/chat-requirements$/, 'chat_requirements'],
  ['POST', /^\/f\/conversation\/prepare$/, 'conduit_prepare'],
];

/** The fixed name of an upstream call (`other` for a path this list does not know). */
export function endpointOf(method: string, path: string): UpstreamEndpoint {
  const query = path.indexOf('?');
  const bare = query === -1 ? path : path.slice(0, query);
  for (const [verb, pattern, name] of ENDPOINTS) {
    if (verb === method && pattern.test(bare)) return name;
  }
  return 'other';
}

/** The route label of a path no route matches: raw paths never become labels. */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * `handle`, counting each answer by route template, method and status, with the time to its
 * response head; `handle` itself when nothing is recorded (no cost without the option).
 */
export function measureRequests(
  handle: (request: Request) => Promise<Response>,
  routeOf: (url: string) => string | undefined,
  metrics: MetricsRecorder,
): (request: Request) => Promise<Response> {
  if (!metrics.enabled) return handle;
  return async (request) => {
    const startedAt = performance.now();
    const response = await handle(request);
    const route = routeOf(request.url) ?? UNMATCHED_ROUTE;
    metrics.request(route, request.method, response.status, startedAt);
    return response;
  };
}

/** The status label of an upstream call that got no answer: `aborted`, else the error's code. */
export function failureStatus(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'aborted';
  return isRestError(error) ? error.code : 'error';
}
