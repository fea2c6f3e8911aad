import type { Dialect } from './backend/types.js';
export type { AuthOptions, HeldToken } from './auth/auth-options.js';
import type { AuthOptions } from './auth/auth-options.js';
import { corsPolicy, type CorsOptions, type CorsPolicy } from './http/cors.js';
import { silentLogger, type Logger } from './logger.js';
import { MAX_TIMER_MS } from './timer-limit.js';
import { createNodeFetch } from './upstream/node-transport.js';
import { resolveOpenAi, type OpenAiOptions } from './openai/openai-options.js';

export { DEFAULT_OPENAI_MODELS, type OpenAiOptions } from './openai/openai-options.js';
import { resolveStore } from './store/resolve-store.js';
import type { SharedStore } from './store/store.js';
import { prometheusRecorder } from './metrics/prometheus.js';
import { NO_METRICS, type MetricsOptions, type MetricsRecorder } from './metrics/recorder.js';

/** A browser challenge the sentinel asked for, handed to {@link WebOptions.solveChallenge}. */
export interface WebChallenge {
  /** `turnstile` (Cloudflare Turnstile) or `arkose` (Arkose Labs / FunCaptcha). */
  kind: 'turnstile' | 'arkose';
  /** The challenge data (`dx`) of the chat-requirements answer, or null when none was given. */
  dx: string | null;
}

/** Options of the `web` dialect (chatgpt.com's sentinel, proof-of-work and conduit send path). */
export interface WebOptions {
  /**
   * Proof-of-work difficulties at or below this (as much work or more) fail fast with
   * `upstream_blocked` instead of burning CPU: chatgpt.com hands them to IPs it distrusts.
   * `"000032"` needs ~330,000 hashes on average, close to the 500,000 cap (go-chatgpt-api's bound).
   * @default '000032'
   */
  minDifficulty?: string;
  /**
   * Nonces tried before sending the browsers' fallback answer (which the upstream refuses).
   * @default 500000
   */
  maxProofIterations?: number;
  /**
   * Milliseconds of hashing one proof of work may take (time on the event loop, not waiting):
   * past it the message fails with `upstream_blocked` instead of burning more CPU.
   * @default 10000
   */
  maxProofMs?: number;
  /**
   * Proofs of work one handler solves at once; the others wait in a queue. Each solver holds the
   * event loop for a few ms at a time, so this bounds the delay they add to other requests.
   * @default 2
   */
  maxConcurrentProofs?: number;
  /** Proofs of work that may wait for a solver; past this a message fails with 503. @default 32 */
  maxQueuedProofs?: number;
  /**
   * Produces a Turnstile or Arkose token when the sentinel requires one. Without it the message
   * is sent anyway (logged-in accounts often pass) and a refusal names the challenge.
   */
  solveChallenge?: (challenge: WebChallenge) => Promise<string>;
  /** Workspace id of a Team account, sent as `ChatGPT-Account-Id`. */
  accountId?: string;
}

/** Options of {@link createHandler}. Every field is optional; defaults are in {@link resolveOptions}. */
export interface ChatGptRestOptions {
  /**
   * Base URL of the ChatGPT backend, ending in `/backend-api`.
   * @default process.env.CHATGPT_BASE_URL, else `https://chatgpt.com/backend-api`
   * @example 'http://127.0.0.1:8080/backend-api'
   */
  upstream?: string;
  /**
   * Which protocol the upstream speaks: `legacy` (`POST /conversation`; most self-hosted reverse
   * proxies), `web` (chatgpt.com's sentinel + conduit path), or `auto`: `web` when `upstream`'s
   * host is chatgpt.com or chat.openai.com, `legacy` for any other host.
   * @default 'auto'
   */
  dialect?: Dialect | 'auto';
  /** Options of the `web` dialect. */
  web?: WebOptions;
  /**
   * Stream encoding to ask the upstream for: `v1` deltas (`supported_encodings: ["v1"]`) or the
   * legacy whole-message events. The reader understands both whatever is asked.
   * @default 'v1' for the `web` dialect, 'legacy' for the `legacy` dialect
   */
  encoding?: 'legacy' | 'v1';
  /**
   * Model used when a request names none.
   * @default 'auto'
   */
  defaultModel?: string;
  /**
   * How many times `autocontinue` may send `action: "continue"` for one reply.
   * @default 3
   */
  autocontinueLimit?: number;
  /**
   * Bounds of the conversation-tree cache, or `false` to switch it off.
   * @default { max: 1000, maxSize: 50 MiB, ttl: 10 minutes }
   */
  cache?: false | { max?: number; maxSize?: number; ttl?: number };
  /** Upstream timeouts in milliseconds. There is never a total-duration limit on a stream. */
  timeouts?: {
    /**
     * Time to wait for a connection to the upstream (TCP and TLS). Applies to the built-in
     * transport; an injected `fetch` brings its own.
     * @default 10000
     */
    connect?: number;
    /**
     * Time to wait for the upstream's response headers (includes connecting).
     * @default 30000
     */
    headers?: number;
    /**
     * Longest silence allowed inside an upstream stream; also the longest a streaming client may
     * read nothing while events wait for it (its stream is then cut and the upstream aborted).
     * @default 60000
     */
    idle?: number;
  };
  /** Request limits. */
  limits?: {
    /**
     * Largest request body, in bytes.
     * @default 1048576 (1 MiB)
     */
    body?: number;
    /**
     * Longest prompt, in characters.
     * @default 100000
     */
    prompt?: number;
    /**
     * Largest upstream answer read whole (conversation trees, lists, error pages), in bytes;
     * a longer one is a 502 `upstream_error`, refused as soon as it passes the cap. Streams
     * are never read whole and have no total size cap; what one reply keeps of its messages is
     * capped by this value too (characters of message data) and at 4,096 messages
     * (`upstream_error` past either).
     * @default 16777216 (16 MiB)
     */
    upstreamBody?: number;
  };
  /**
   * Idle time after which a streaming response sends a `: ping` comment, in milliseconds.
   * @default 15000
   */
  pingInterval?: number;
  /**
   * Path prefix the routes live under when the host framework does not strip it.
   * @default ''
   * @example '/chat'
   */
  prefix?: string;
  /**
   * The `fetch` used for upstream calls, e.g. `globalThis.fetch` bound to a proxy dispatcher.
   * @default a keep-alive transport on `node:http`/`node:https` (about half the CPU of the
   * global `fetch` per request)
   */
  fetch?: typeof fetch;
  /**
   * CORS, for pages on other origins calling the API from a browser: preflights are answered
   * and every answer (errors and streams too) names the origin that may read it.
   * @default false (no CORS headers; `OPTIONS` is a 405)
   * @example { origins: ['https://app.example.com'] }
   */
  cors?: CorsOptions | false;
  /** The OpenAI-compatible routes (`/v1/chat/completions`, `/v1/models`). */
  openai?: OpenAiOptions;
  /** A pino-compatible logger. @default silent */
  logger?: Logger;
  /** Authentication mode. @default { mode: 'passthrough' } */
  auth?: AuthOptions;
  /**
   * Where held-token state (message slots, caps, evictions, conversation→token) and the
   * conversation cache live. Many instances behind one load balancer share a Redis store:
   * `createRedisStore({ url })` (or `{ client }`) of `@chatgpt-rest/redis-store`, handed over as
   * a value (the application closes it; docs/deployment.md).
   * @default a new in-memory store (this process only)
   */
  store?: SharedStore;
  /**
   * Prometheus metrics into the host's prom-client registry (docs/operations.md lists them);
   * needs the `prom-client` package. @default none (nothing recorded, prom-client not loaded)
   * @example { registry: new Registry() }
   */
  metrics?: MetricsOptions;
}

/** Options with every default applied; the rest of the core reads only these. */
export interface ResolvedOptions {
  upstream: string;
  dialect: Dialect;
  web: {
    minDifficulty: string;
    maxProofIterations: number;
    maxProofMs: number;
    maxConcurrentProofs: number;
    maxQueuedProofs: number;
    solveChallenge: WebOptions['solveChallenge'];
    accountId: string | undefined;
  };
  encoding: 'legacy' | 'v1';
  defaultModel: string;
  autocontinueLimit: number;
  cache: false | { max: number; maxSize: number; ttl: number };
  timeouts: { connect: number; headers: number; idle: number };
  limits: { body: number; prompt: number; upstreamBody: number };
  pingInterval: number;
  prefix: string;
  fetch: typeof fetch;
  cors: CorsPolicy | undefined;
  openai: { models: string[]; temporary: boolean; reuseConversations: boolean };
  logger: Logger;
  auth: AuthOptions;
  store: SharedStore;
  /** Where the core records its metrics (a recorder that does nothing without the option). */
  metrics: MetricsRecorder;
}

const MiB = 1024 * 1024;

/** `value` (else `fallback`), checked: a positive number, at most `max`. */
function positive(name: string, value: number | undefined, fallback: number, max = Infinity) {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`chatgpt-rest: option ${name} must be a positive number`);
  }
  if (value > max) throw new TypeError(`chatgpt-rest: option ${name} must be at most ${max}`);
  return value;
}

/** A timer's delay in ms: no longer than a Node timer waits. */
const delay = (name: string, value: number | undefined, fallback: number): number =>
  positive(name, value, fallback, MAX_TIMER_MS);

/** The proof-of-work bounds of the `web` options, checked. */
function resolveProofLimits(web: WebOptions | undefined): {
  maxProofMs: number;
  maxConcurrentProofs: number;
  maxQueuedProofs: number;
} {
  const integer = (name: string, value: number | undefined, fallback: number, min: number) => {
    const resolved = value ?? fallback;
    if (!Number.isInteger(resolved) || resolved < min) {
      throw new TypeError(`chatgpt-rest: option web.${name} must be an integer >= ${min}`);
    }
    return resolved;
  };
  return {
    maxProofMs: positive('web.maxProofMs', web?.maxProofMs, 10_000),
    maxConcurrentProofs: integer('maxConcurrentProofs', web?.maxConcurrentProofs, 2, 1),
    maxQueuedProofs: integer('maxQueuedProofs', web?.maxQueuedProofs, 32, 0),
  };
}

/** Hosts that speak the `web` dialect; `auto` picks `legacy` for every other host (proxies). */
const WEB_HOSTS = new Set(['chatgpt.com', 'chat.openai.com']);

// `string`: plain-JavaScript callers can pass anything, and it is checked here.
/** The concrete dialect of a `dialect` option for an upstream URL (`auto`: `web` for chatgpt.com). */
export function resolveDialect(dialect: string, upstream: string): Dialect {
  if (dialect === 'auto') return WEB_HOSTS.has(new URL(upstream).hostname) ? 'web' : 'legacy';
  if (dialect === 'legacy' || dialect === 'web') return dialect;
  throw new TypeError('chatgpt-rest: option dialect must be "legacy", "web" or "auto"');
}

/** The `upstream` option (else `CHATGPT_BASE_URL`, else chatgpt.com) without trailing slashes, checked. */
function resolveUpstream(
  options: ChatGptRestOptions,
  env: Record<string, string | undefined>,
): string {
  const upstream = (
    options.upstream ??
    env.CHATGPT_BASE_URL ??
    'https://chatgpt.com/backend-api'
  ).replace(/\/+$/, '');
  try {
    new URL(upstream);
  } catch {
    throw new TypeError('chatgpt-rest: option upstream must be an absolute URL');
  }
  return upstream;
}

/** The `web` options with their defaults, checked. */
function resolveWeb(web: WebOptions | undefined): ResolvedOptions['web'] {
  const minDifficulty = web?.minDifficulty ?? '000032';
  if (!/^[0-9a-f]{1,16}$/i.test(minDifficulty)) {
    throw new TypeError('chatgpt-rest: option web.minDifficulty must be a hex string');
  }
  const maxProofIterations = web?.maxProofIterations ?? 500_000;
  if (!Number.isInteger(maxProofIterations) || maxProofIterations < 1) {
    throw new TypeError('chatgpt-rest: option web.maxProofIterations must be an integer >= 1');
  }
  const proofLimits = resolveProofLimits(web);
  return {
    minDifficulty: minDifficulty.toLowerCase(),
    maxProofIterations,
    ...proofLimits,
    solveChallenge: web?.solveChallenge,
    accountId: web?.accountId,
  };
}

/** The `auth` option, refusing a server-held mode that cannot work or is open by accident. */
function checkAuth(auth: AuthOptions): AuthOptions {
  if (auth.mode === 'server') {
    if (auth.tokens.length === 0) {
      throw new TypeError('chatgpt-rest: server-held auth needs at least one token');
    }
    if (auth.apiKeys.length === 0 && auth.allowOpen !== true) {
      throw new TypeError(
        'chatgpt-rest: server-held auth without apiKeys would be an open server; set allowOpen: true to mean it',
      );
    }
  }
  return auth;
}

function resolveAutocontinueLimit(value: number | undefined): number {
  const autocontinueLimit = value ?? 3;
  if (!Number.isInteger(autocontinueLimit) || autocontinueLimit < 0) {
    throw new TypeError('chatgpt-rest: option autocontinueLimit must be an integer >= 0');
  }
  return autocontinueLimit;
}

/** The `prefix` option without trailing slashes: empty, or starting with `/`. */
function resolvePrefix(value: string | undefined): string {
  const prefix = (value ?? '').replace(/\/+$/, '');
  if (prefix !== '' && !prefix.startsWith('/')) {
    throw new TypeError('chatgpt-rest: option prefix must start with "/"');
  }
  return prefix;
}

function resolveTimeouts(timeouts: ChatGptRestOptions['timeouts']): ResolvedOptions['timeouts'] {
  return {
    connect: delay('timeouts.connect', timeouts?.connect, 10_000),
    headers: delay('timeouts.headers', timeouts?.headers, 30_000),
    idle: delay('timeouts.idle', timeouts?.idle, 60_000),
  };
}

function resolveCache(cache: ChatGptRestOptions['cache']): ResolvedOptions['cache'] {
  if (cache === false) return false;
  return {
    max: positive('cache.max', cache?.max, 1000),
    maxSize: positive('cache.maxSize', cache?.maxSize, 50 * MiB),
    ttl: positive('cache.ttl', cache?.ttl, 10 * 60 * 1000),
  };
}

/**
 * Applies the defaults to {@link ChatGptRestOptions} and checks them; throws a TypeError on nonsense.
 * The checks run in a fixed order, so that of two bad options the same one is always named.
 */
export function resolveOptions(
  options: ChatGptRestOptions = {},
  env: Record<string, string | undefined> = process.env,
): ResolvedOptions {
  const upstream = resolveUpstream(options, env);
  const dialect = resolveDialect(options.dialect ?? 'auto', upstream);
  const web = resolveWeb(options.web);
  const auth = checkAuth(options.auth ?? { mode: 'passthrough' });
  const autocontinueLimit = resolveAutocontinueLimit(options.autocontinueLimit);
  const prefix = resolvePrefix(options.prefix);
  const timeouts = resolveTimeouts(options.timeouts);
  const upstreamBody = positive('limits.upstreamBody', options.limits?.upstreamBody, 16 * MiB);
  const cache = resolveCache(options.cache);
  const limits = {
    body: positive('limits.body', options.limits?.body, MiB),
    prompt: positive('limits.prompt', options.limits?.prompt, 100_000),
    upstreamBody,
  };
  return {
    upstream,
    dialect,
    web,
    encoding: options.encoding ?? (dialect === 'web' ? 'v1' : 'legacy'),
    defaultModel: options.defaultModel ?? 'auto',
    autocontinueLimit,
    cache,
    timeouts,
    limits,
    pingInterval: delay('pingInterval', options.pingInterval, 15_000),
    prefix,
    fetch:
      options.fetch ??
      createNodeFetch({
        connectTimeout: timeouts.connect,
        idleTimeout: timeouts.idle,
        maxBodyBytes: upstreamBody,
      }),
    cors: corsPolicy(options.cors),
    openai: resolveOpenAi(options.openai),
    logger: options.logger ?? silentLogger,
    auth,
    store: resolveStore(options.store),
    metrics: options.metrics === undefined ? NO_METRICS : prometheusRecorder(options.metrics),
  };
}
