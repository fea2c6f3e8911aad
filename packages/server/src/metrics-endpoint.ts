/**
 * The sidecar's `/metrics`: a Prometheus endpoint on a port of its own (`--metrics-port`), not on
 * the API's port behind an API key. Why: a scraper then needs no credential that could also
 * spend the held ChatGPT accounts (an API key does both); in passthrough mode there are no API
 * keys at all, so "behind the key" would mean open; and the operational figures (token labels,
 * load, caps) stay off the address clients reach. It binds 127.0.0.1 by default; bind the pod's
 * or host's address (`--metrics-host`) for a scraper elsewhere, and firewall it like any admin
 * port.
 *
 * Its registry is the sidecar's own (never prom-client's global one), with the core's metrics
 * and prom-client's default process metrics (CPU, memory, event-loop lag, GC, handles).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';

/** Where `/metrics` listens. */
export interface MetricsEndpointOptions {
  /** Port of the metrics server (0 picks a free one). */
  port: number;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
}

/** The sidecar's metrics: the registry the core records into, and its HTTP endpoint. */
export interface MetricsEndpoint {
  readonly registry: Registry;
  /** The endpoint's base URL once listening (`http://127.0.0.1:9464`), else undefined. */
  readonly url: string | undefined;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Answers `GET /metrics` (and `HEAD`) from `registry`; anything else is a 404. */
function metricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not found: metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        // A collector failed: say so without its message (it could name anything).
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('The metrics could not be collected.\n');
      },
    );
  });
}

/** Creates the sidecar's metrics (not yet listening). */
export function createMetricsEndpoint(options: MetricsEndpointOptions): MetricsEndpoint {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const server = metricsServer(registry);
  let url: string | undefined;
  return {
    registry,
    get url() {
      return url;
    },
    async listen() {
      server.listen(options.port, options.host ?? '127.0.0.1');
      await once(server, 'listening');
      const address = server.address() as AddressInfo;
      const host = address.address.includes(':') ? `[${address.address}]` : address.address;
      url = `http://${host}:${address.port}`;
      return url;
    },
    close() {
      if (!server.listening) return Promise.resolve();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
