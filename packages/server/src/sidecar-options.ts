/** The sidecar's options and the object {@link createServer} returns. */
import type { Server } from 'node:http';
import type {
  ChatGptRestOptions,
  HeldToken,
  Logger,
  SharedStore,
  TokenChanges,
  TokenPool,
} from '@chatgpt-rest/core';
import type { DialectSetting } from './config.js';
import type { MetricsEndpoint, MetricsEndpointOptions } from './metrics-endpoint.js';
import type { PassThrough } from './pass-through.js';

/** Options of {@link createServer}. Only `upstream` is required. */
export interface SidecarOptions {
  /** Base URL of the ChatGPT backend (ending in `/backend-api`) or of a reverse proxy. */
  upstream: string;
  /** `legacy`, `web`, or `auto` (web for chatgpt.com, else legacy). @default 'auto' */
  dialect?: DialectSetting;
  /** Server-held tokens; none means passthrough mode (clients send their own token). */
  tokens?: HeldToken[];
  /** Client API keys (server-held mode). */
  apiKeys?: string[];
  /** Serve held tokens without API keys. @default false */
  allowOpen?: boolean;
  /** Messages waiting per held token. @default 8 */
  queueSize?: number;
  /** Longest wait of a queued message, in ms. @default 20000 */
  queueWait?: number;
  /** Forwarded backend calls; empty turns the pass-through off. @default DEFAULT_PASS_THROUGH_ALLOW */
  passThroughAllow?: readonly string[];
  /** A pino-compatible logger. @default JSON lines on stdout at level info */
  logger?: Logger;
  /** The `fetch` for upstream calls of the REST API and `/readyz`. @default the core's node:http transport */
  fetch?: typeof fetch;
  /** How long `/readyz` waits for the upstream, in ms. @default 2000 */
  readyTimeoutMs?: number;
  /**
   * How long `/readyz` reuses its upstream check, in ms (0: one upstream GET per call).
   * @default 5000
   */
  readyCacheMs?: number;
  /**
   * Largest upstream error body the pass-through reads whole in server-held mode (to learn
   * from 401/429 and to redact secrets), in bytes; a larger one is answered 502.
   * @default 65536
   */
  passThroughErrorBodyLimit?: number;
  /**
   * Longest time a client may take to send a request's headers (slowloris), in ms; then the
   * connection gets 408 and is closed.
   * @default 20000
   */
  headersTimeoutMs?: number;
  /**
   * Longest time a client may take to send a whole request, headers and body (a slow body),
   * in ms. Responses, streams included, are not limited by it.
   * @default 60000
   */
  requestTimeoutMs?: number;
  /**
   * Where held-token state and the conversation cache live: a Redis store
   * (`createRedisStore` of `@chatgpt-rest/redis-store`) shared by several sidecars makes them
   * act as one; `/readyz` reports it. The caller closes it. @default in memory
   */
  store?: SharedStore;
  /** Serve Swagger UI at `/docs`, on this server's `/openapi.json`. @default false */
  docs?: boolean;
  /**
   * A folder whose files are served at `/` (GET, `index.html` for `/`) where no route answers:
   * `npm run demo` serves the web chat (`examples/web-chat`) this way.
   */
  staticDir?: string;
  /**
   * Prometheus metrics at `GET /metrics` on a port of their own (never the API's port):
   * the core's metrics and the process's, in a registry of the sidecar's own.
   * @default none (no metrics, no second port)
   */
  metrics?: MetricsEndpointOptions;
  /** Further core options (timeouts, cache, limits…). */
  core?: Omit<
    ChatGptRestOptions,
    'upstream' | 'dialect' | 'auth' | 'logger' | 'fetch' | 'store' | 'metrics'
  >;
  /** Where {@link Sidecar.listen} binds. @default 8000 and '127.0.0.1' */
  port?: number;
  host?: string;
}

/** A sidecar server: the REST API, the pass-through, health and readiness, graceful close. */
export interface Sidecar {
  /** The `node:http` server. */
  readonly server: Server;
  /** The held tokens' pool (server-held mode only). */
  readonly pool: TokenPool | undefined;
  /** The `/backend-api` pass-through (undefined when it is off). */
  readonly passThrough: PassThrough | undefined;
  /** The metrics endpoint and its registry (undefined without the `metrics` option). */
  readonly metrics: MetricsEndpoint | undefined;
  /**
   * Puts new tokens and API keys in place at once (a reload of their files): new tokens join
   * the pool, removed ones take no new request and leave once their live streams end, kept
   * ones keep their state; the key list is swapped whole. Throws a TypeError and changes
   * nothing in passthrough mode, for a bad token set, or for no key without `allowOpen`.
   */
  replaceSecrets(secrets: { tokens: HeldToken[]; apiKeys: string[] }): TokenChanges;
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:8000`. */
  listen(): Promise<string>;
  /**
   * Stops accepting, lets running requests finish for up to `deadlineMs`, then ends live streams
   * with an `error` event, aborts their upstream requests and closes every connection.
   */
  close(deadlineMs?: number): Promise<void>;
}
