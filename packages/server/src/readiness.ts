/** `/healthz` and `/readyz`: alive, and ready to serve (upstream reachable, a token usable). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { apiKeyOf, isApiKey, type SharedStore, type TokenPool } from '@chatgpt-rest/core';
import { webHeaders } from './pass-through-rules.js';

/** Options of {@link createReadiness}. */
export interface ReadinessOptions {
  /** The upstream base URL; `/readyz` GETs its root, without a token. */
  upstream: string;
  /** The transport of that GET. */
  fetch: typeof fetch;
  /** The held tokens' pool (server-held mode): ready only while one is usable. */
  pool: TokenPool | undefined;
  /**
   * The shared-state store: with held tokens, ready only while it answers (leases fail closed
   * without it); in passthrough mode it only caches, so it is reported but does not decide.
   */
  store: SharedStore;
  /** Client API keys: a caller with one sees labels, states and load. */
  apiKeys: readonly string[];
  /** How long the upstream check may take, in ms. */
  timeoutMs: number;
  /** How long a check is reused, in ms (0: one upstream GET per call). */
  cacheMs: number;
}

/** What `/readyz` learnt from the upstream. */
interface UpstreamCheck {
  reachable: boolean;
  status?: number;
}

/** Answers of the health endpoints. */
export interface Readiness {
  /** `/healthz`: the process is up. */
  health(res: ServerResponse): void;
  /** `/readyz`: 200 when ready, else 503; details for a caller with an API key. */
  ready(req: IncomingMessage, res: ServerResponse): void;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

/** Creates the health endpoints' answers. */
export function createReadiness(options: ReadinessOptions): Readiness {
  const { pool, store } = options;
  let lastCheck: { at: number; result: Promise<UpstreamCheck> } | undefined;

  async function checkUpstream(): Promise<UpstreamCheck> {
    try {
      // Any HTTP answer proves the upstream is reachable; no token is sent for it.
      const response = await options.fetch(`${options.upstream}/`, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(options.timeoutMs),
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
    if (lastCheck === undefined || now - lastCheck.at >= options.cacheMs) {
      lastCheck = { at: now, result: checkUpstream() };
    }
    return lastCheck.result;
  }

  /** Ready or not for anyone; labels, states and load only for a caller with an API key. */
  async function readiness(
    details: boolean,
  ): Promise<{ ready: boolean; body: Record<string, unknown> }> {
    const check = await upstreamCheck();
    const health = store.health();
    const ready = check.reachable && (pool === undefined || (pool.usable && health.ok));
    const status = ready ? 'ready' : 'not_ready';
    if (!details) return { ready, body: { status } };
    const auth =
      pool === undefined ? { auth: 'passthrough' } : { auth: 'server', tokens: pool.status() };
    return { ready, body: { status, upstream: check, ...auth, store: health } };
  }

  return {
    health(res) {
      sendJson(res, 200, { status: 'ok' });
    },
    ready(req, res) {
      const details = isApiKey(apiKeyOf(webHeaders(req)), options.apiKeys);
      void readiness(details).then(({ ready, body }) => sendJson(res, ready ? 200 : 503, body));
    },
  };
}
