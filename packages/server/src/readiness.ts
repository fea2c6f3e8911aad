/**
 * `/healthz` and `/readyz` on the sidecar: the core's health checks (`createHealthChecks`, the
 * same logic a host app mounting the routes serves), written to Node's response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createHealthChecks,
  type HealthAnswer,
  type SharedStore,
  type TokenPool,
} from '@chatgpt-rest/core';
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

/** Answers of the health endpoints. */
export interface Readiness {
  /** `/healthz`: the process is up. */
  health(res: ServerResponse): void;
  /** `/readyz`: 200 when ready, else 503; details for a caller with an API key. */
  ready(req: IncomingMessage, res: ServerResponse): void;
}

function send(res: ServerResponse, { status, body }: HealthAnswer): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

/** Creates the health endpoints' answers. */
export function createReadiness(options: ReadinessOptions): Readiness {
  const checks = createHealthChecks({
    upstream: options.upstream,
    fetch: options.fetch,
    ...(options.pool === undefined ? {} : { pool: options.pool }),
    store: options.store,
    apiKeys: options.apiKeys,
    timeoutMs: options.timeoutMs,
    cacheMs: options.cacheMs,
  });
  return {
    health(res) {
      send(res, checks.live());
    },
    ready(req, res) {
      void checks.ready(webHeaders(req)).then((answer) => send(res, answer));
    },
  };
}
