/**
 * One server under test in its own process: a bare http-proxy-3 pass-through, the plain Node
 * bridge, Express, Fastify, Koa or the sidecar, all in front of the same emulator. It measures
 * itself on request: CPU time (`process.cpuUsage`), peak RSS, event-loop delay p99 and the peak
 * number of open responses.
 */
import { createServer, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { createHandler, createNodeListener, type ChatGptRestOptions } from '@chatgpt-rest/core';
import { chatGptRoutes as expressRoutes } from '@chatgpt-rest/express';
import { chatGptRoutes as fastifyRoutes } from '@chatgpt-rest/fastify';
import { chatGptRoutes as koaRoutes } from '@chatgpt-rest/koa';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { createProxyServer } from 'http-proxy-3';
import { Registry } from 'prom-client';
import { serve } from './lib/ipc.js';
import type { ServerConfig, ServerStats } from './lib/types.js';

const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

interface Running {
  url: string;
  server: Server;
}

function listen(server: Server): Promise<Running> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', 4096, () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, server });
    });
  });
}

async function start(config: ServerConfig): Promise<Running> {
  const options: ChatGptRestOptions = {
    upstream: config.upstream,
    dialect: 'legacy',
    logger: silent,
    ...(config.cache ? {} : { cache: false }),
  };
  switch (config.kind) {
    case 'passthrough': {
      const origin = new URL(config.upstream).origin;
      const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
      const proxy = createProxyServer({ target: origin, agent });
      proxy.on('error', (_error, _req, res) => {
        if ('writeHead' in res && !res.headersSent) res.writeHead(502);
        res.end();
      });
      return listen(createServer((req, res) => proxy.web(req, res)));
    }
    case 'node':
      return listen(createServer(createNodeListener(createHandler(options))));
    case 'node-metrics': {
      // The same bridge recording every metric into a registry, as a host exposing /metrics would.
      const handler = createHandler({ ...options, metrics: { registry: new Registry() } });
      return listen(createServer(createNodeListener(handler)));
    }
    case 'express': {
      const app = express();
      app.use(expressRoutes(options));
      return listen(createServer(app));
    }
    case 'fastify': {
      const app = Fastify({ logger: false });
      await app.register(fastifyRoutes, options);
      await app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
      const { port } = app.server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${port}`, server: app.server };
    }
    case 'koa': {
      const app = new Koa();
      app.use(koaRoutes(options));
      const callback = app.callback();
      return listen(createServer((req, res) => void callback(req, res)));
    }
    case 'sidecar': {
      const { createServer: createSidecar } = await import('@chatgpt-rest/server');
      const store =
        config.redisUrl === undefined
          ? undefined
          : (await import('@chatgpt-rest/redis-store')).createRedisStore({ url: config.redisUrl });
      await store?.ready();
      const sidecar = createSidecar({
        upstream: config.upstream,
        dialect: 'legacy',
        logger: silent,
        port: 0,
        host: '127.0.0.1',
        ...(config.cache ? {} : { core: { cache: false } }),
        ...(config.held === undefined ? {} : config.held),
        ...(store === undefined ? {} : { store }),
      });
      const url = await sidecar.listen();
      return { url: url.replace(/\/$/, ''), server: sidecar.server };
    }
  }
}

const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
const running = await start(config);

let open = 0;
let openPeak = 0;
running.server.on('request', (_req, res: { once(event: 'close', fn: () => void): void }) => {
  open++;
  if (open > openPeak) openPeak = open;
  res.once('close', () => {
    open--;
  });
});

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let cpuStart = process.cpuUsage();
let rssStart = process.memoryUsage.rss();
let rssPeak = rssStart;
setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss > rssPeak) rssPeak = rss;
}, 20).unref();

serve({
  url: () => running.url,
  /** Starts a measured window. `gc` first when exposed, so RSS starts from a settled heap. */
  begin: () => {
    delay.reset();
    cpuStart = process.cpuUsage();
    rssStart = process.memoryUsage.rss();
    rssPeak = rssStart;
    openPeak = open;
  },
  /** The heap after a full GC (needs --expose-gc), and a heap snapshot when a path is given. */
  heap: ({ snapshot }: { snapshot?: string }) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const memory = process.memoryUsage();
    if (snapshot !== undefined) writeHeapSnapshot(snapshot);
    return { ...memory, open, gc: gc !== undefined };
  },
  end: (): ServerStats => {
    const cpu = process.cpuUsage(cpuStart);
    const rss = process.memoryUsage.rss();
    if (rss > rssPeak) rssPeak = rss;
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssStart,
      rssPeak,
      eventLoopP99Ms: delay.percentile(99) / 1e6,
      eventLoopMaxMs: delay.max / 1e6,
      openResponsesPeak: openPeak,
    };
  },
});
