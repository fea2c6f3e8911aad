import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import bodyParser from '@koa/bodyparser';
import {
  createHandler,
  createNodeListener,
  silentLogger,
  type ChatGptRestOptions,
} from '@chatgpt-rest/core';
import { chatGptRoutes as expressRoutes } from '@chatgpt-rest/express';
import { chatGptRoutes as fastifyRoutes } from '@chatgpt-rest/fastify';
import { chatGptRoutes as koaRoutes } from '@chatgpt-rest/koa';
import { createServer as createSidecar } from '@chatgpt-rest/server';
import express5 from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import Koa3 from 'koa';
import Koa2 from 'koa2';

/** A running app with the routes mounted. */
export interface Started {
  /** Base URL of the app (no trailing slash); the routes live under `url + prefix`. */
  url: string;
  close(): Promise<void>;
}

/** How a mount is started: core options, the mount prefix, and whether the app parses bodies first. */
export interface StartOptions {
  options: ChatGptRestOptions;
  /** Mount the routes under this path ('' = the root). */
  prefix: string;
  /** Install the framework's own JSON/form body parser before our routes. */
  bodyParser: boolean;
}

/** One way of serving the API, as the conformance suite sees it. */
export interface Mount {
  name: string;
  start(start: StartOptions): Promise<Started>;
}

function listen(server: Server): Promise<Started> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * Every app also has its own routes: `GET /health`, and `POST /echo` that answers the body its
 * own parser read, to prove mounting ours leaves the app working.
 */
export const nodeBridge: Mount = {
  name: 'node:http bridge',
  start: ({ options, prefix }) => {
    const listener = createNodeListener(createHandler({ ...options, prefix }));
    return listen(
      createServer((req, res) => {
        if (!ownRoutes(req, res)) listener(req, res);
      }),
    );
  },
};

/** The app's own `GET /health` and `POST /echo` on plain node:http; false for other paths. */
function ownRoutes(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.url === '/health') {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
    return true;
  }
  if (req.url !== '/echo') return false;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(Buffer.concat(chunks));
  });
  return true;
}

function expressMount(name: string, factory: typeof express5): Mount {
  return {
    name,
    start: ({ options, prefix, bodyParser: parse }) => {
      const app = factory();
      if (parse) {
        app.use(factory.json());
        app.use(factory.urlencoded({ extended: false }));
      }
      app.get('/health', (_req, res) => {
        res.json({ ok: true });
      });
      app.post('/echo', (req, res) => {
        res.json(req.body);
      });
      if (prefix === '') app.use(expressRoutes(options));
      else app.use(prefix, expressRoutes(options));
      return listen(createServer(app));
    },
  };
}

/** Express 5. */
export const expressFive = expressMount('express 5', express5);
/** Express 4 (npm alias `express4`). */
export const expressFour = expressMount('express 4', express4);

/** Fastify 5. */
export const fastifyFive: Mount = {
  name: 'fastify 5',
  start: async ({ options, prefix }) => {
    const app = Fastify();
    // Fastify parses JSON for its own routes; ours keep their own parsing in their scope.
    app.get('/health', () => ({ ok: true }));
    app.post('/echo', (request) => request.body);
    await app.register(fastifyRoutes, { ...options, prefix });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
};

function koaMount(name: string, Koa: typeof Koa3): Mount {
  return {
    name,
    start: ({ options, prefix, bodyParser: parse }) => {
      const app = new Koa();
      const routes = koaRoutes({ ...options, prefix });
      // The documented order: our error catcher, the app's body parser, then the routes.
      app.use(routes.errors);
      if (parse) app.use(bodyParser());
      app.use(async (ctx, next) => {
        if (ctx.path === '/health') {
          ctx.body = { ok: true };
          return;
        }
        if (ctx.path === '/echo' && ctx.method === 'POST') {
          ctx.body = (ctx.request as { body?: unknown }).body ?? null;
          return;
        }
        await next();
      });
      app.use(routes);
      const callback = app.callback();
      return listen(createServer((req, res) => void callback(req, res)));
    },
  };
}

/** Koa 3. */
export const koaThree = koaMount('koa 3', Koa3);
/** Koa 2 (npm alias `koa2`). */
export const koaTwo = koaMount('koa 2', Koa2);

/**
 * The sidecar (`@chatgpt-rest/server`) in passthrough mode. A plain server in front answers the
 * app's own routes and hands everything else to the sidecar's listener, as a proxy in front would.
 */
export const sidecar: Mount = {
  name: 'sidecar',
  start: ({ options, prefix }) => {
    // The suite sets only these options (and a logger, to read lines); fetch is the sidecar's own.
    const { upstream = '', dialect = 'auto', timeouts, limits, encoding, auth, cors } = options;
    const server = createSidecar({
      upstream,
      dialect,
      ...(auth?.mode === 'server' ? { tokens: auth.tokens, apiKeys: auth.apiKeys } : {}),
      logger: options.logger ?? silentLogger,
      core: {
        prefix,
        ...(timeouts === undefined ? {} : { timeouts }),
        ...(limits === undefined ? {} : { limits }),
        ...(cors === undefined ? {} : { cors }),
        ...(encoding === undefined ? {} : { encoding }),
      },
    });
    return listen(
      createServer((req, res) => {
        if (!ownRoutes(req, res)) server.server.emit('request', req, res);
      }),
    );
  },
};
