/**
 * Health checks: liveness (`/healthz`: the process is up) and readiness (`/readyz`: the upstream
 * answers and, with held tokens, one is in rotation and the shared store answers). The sidecar
 * serves them; a host app that mounts the routes serves them on paths of its choosing with
 * {@link createHealthChecks}. Framework-free: each answer is a status and a JSON body.
 */
import { performance } from 'node:perf_hooks';
import { apiKeyOf } from './auth/bearer.js';
import { isApiKey } from './auth/authenticator.js';
import type { TokenPool } from './auth/token-pool.js';
import type { SharedStore } from './store/store.js';
import { createNodeFetch } from './upstream/node-transport.js';

/** Options of {@link createHealthChecks}. */
export interface HealthOptions {
  /**
   * The upstream base URL (as the routes' `upstream`); readiness GETs its root, without a token.
   * @default process.env.CHATGPT_BASE_URL, else `https://chatgpt.com/backend-api`
   */
  upstream?: string;
  /** The transport of that GET. @default the core's node:http transport */
  fetch?: typeof fetch;
  /** The held tokens' pool (the one given to the routes as `auth.pool`): ready only while one is usable. */
  pool?: TokenPool;
  /**
   * The shared-state store given to the routes: with held tokens, ready only while it answers;
   * reported, not deciding, without them.
   */
  store?: SharedStore;
  /** API keys: a caller sending one gets the details (labels, states, load). @default none */
  apiKeys?: readonly string[];
  /** How long the upstream check may take, in ms. @default 2000 */
  timeoutMs?: number;
  /** How long an upstream check is reused, in ms (0: one GET per call). @default 5000 */
  cacheMs?: number;
}

/** An answer of a health check: the HTTP status and the JSON body. */
export interface HealthAnswer {
  status: 200 | 503;
  body: Record<string, unknown>;
}

/** Liveness and readiness, to serve on any route. */
export interface HealthChecks {
  /** `/healthz`: always 200 `{status: "ok"}` while the process answers. */
  live(): HealthAnswer;
  /**
   * `/readyz`: 200 `{status: "ready"}` or 503 `{status: "not_ready"}`; a caller whose headers
   * carry one of `apiKeys` (`Authorization: Bearer` or `X-API-Key`) also gets the upstream check,
   * the auth mode, each held token's label, state and load (never the token) and the store.
   */
  ready(headers?: Headers | Record<string, string | string[] | undefined>): Promise<HealthAnswer>;
}

/** What readiness learnt from the upstream. */
interface UpstreamCheck {
  reachable: boolean;
  status?: number;
}

function webHeaders(headers: HealthHeaders): Headers {
  if (headers instanceof Headers) return headers;
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') out.set(name, value);
    else if (Array.isArray(value) && value[0] !== undefined) out.set(name, value[0]);
  }
  return out;
}

type HealthHeaders = NonNullable<Parameters<HealthChecks['ready']>[0]>;

/** Liveness and readiness checks; see {@link HealthChecks}. */
export function createHealthChecks(options: HealthOptions = {}): HealthChecks {
  const upstream = (
    options.upstream ??
    process.env.CHATGPT_BASE_URL ??
    'https://chatgpt.com/backend-api'
  ).replace(/\/+$/, '');
  const transport = options.fetch ?? createNodeFetch({ connectTimeout: 10_000 });
  const { pool, store } = options;
  const timeoutMs = options.timeoutMs ?? 2000;
  const cacheMs = options.cacheMs ?? 5000;
  let lastCheck: { at: number; result: Promise<UpstreamCheck> } | undefined;

  async function checkUpstream(): Promise<UpstreamCheck> {
    try {
      // Any HTTP answer proves the upstream is reachable; no token is sent for it.
      const response = await transport(`${upstream}/`, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      return { reachable: true, status: response.status };
    } catch {
      return { reachable: false };
    }
  }

  /** The upstream check, shared by every call within `cacheMs` (a running one included). */
  function upstreamCheck(): Promise<UpstreamCheck> {
    const now = performance.now();
    if (lastCheck === undefined || now - lastCheck.at >= cacheMs) {
      lastCheck = { at: now, result: checkUpstream() };
    }
    return lastCheck.result;
  }

  return {
    live: () => ({ status: 200, body: { status: 'ok' } }),
    async ready(headers = {}) {
      const check = await upstreamCheck();
      const health = store?.health();
      const ready =
        check.reachable && (pool === undefined || (pool.usable && health?.ok !== false));
      const status = ready ? 'ready' : 'not_ready';
      const code = ready ? 200 : 503;
      if (!isApiKey(apiKeyOf(webHeaders(headers)), options.apiKeys ?? [])) {
        return { status: code, body: { status } };
      }
      const auth =
        pool === undefined ? { auth: 'passthrough' } : { auth: 'server', tokens: pool.status() };
      const details = { status, upstream: check, ...auth, ...(health && { store: health }) };
      return { status: code, body: details };
    },
  };
}
