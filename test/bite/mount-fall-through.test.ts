/**
 * Issue 12, tests that bite: the Express and Koa mounts with the app's own routes declared AFTER
 * ours (the conformance apps declare theirs before, so they cannot notice). A request for our
 * paths is served by us alone: the middleware after the mount never runs for it (an Express mount
 * that serves and also calls `next()` fails here). Any other path goes on: the app's later route
 * answers, and an unknown path gets the framework's own 404, not our JSON `not_found` (a Koa mount
 * that swallows unknown paths fails here).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import bodyParser from '@koa/bodyparser';
import { createBackendEmulator, type BackendEmulator } from '@chatgpt-rest/emulator';
import { chatGptRoutes as expressRoutes } from '@chatgpt-rest/express';
import { chatGptRoutes as koaRoutes } from '@chatgpt-rest/koa';
import express5 from 'express';
import express4 from 'express4';
import Koa3 from 'koa';
import Koa2 from 'koa2';
import t, { type Test } from 'tap';
import { guardProcess } from '../hardening/harness.js';

/** An app with our routes at the root, then its own: what it serves and what reached it. */
interface App {
  url: string;
  /** Paths the app's middleware after our mount saw. */
  seen: string[];
}

function listen(t: Test, server: Server): Promise<string> {
  t.teardown(
    () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

async function expressApp(t: Test, factory: typeof express5, upstream: string): Promise<App> {
  const seen: string[] = [];
  const app = factory();
  app.use(factory.json());
  app.use(expressRoutes({ upstream, dialect: 'legacy' }));
  app.use((req, _res, next) => {
    seen.push(req.path);
    next();
  });
  app.get('/after', (_req, res) => {
    res.json({ after: true });
  });
  app.post('/after', (req, res) => {
    res.json({ echoed: req.body as unknown });
  });
  return { url: await listen(t, createServer(app)), seen };
}

async function koaApp(t: Test, Koa: typeof Koa3, upstream: string): Promise<App> {
  const seen: string[] = [];
  const app = new Koa();
  const routes = koaRoutes({ upstream, dialect: 'legacy' });
  app.use(routes.errors);
  app.use(bodyParser());
  app.use(routes);
  app.use(async (ctx, next) => {
    seen.push(ctx.path);
    if (ctx.path === '/after') {
      ctx.body =
        ctx.method === 'POST'
          ? { echoed: (ctx.request as { body?: unknown }).body ?? null }
          : { after: true };
      return;
    }
    await next();
  });
  const callback = app.callback();
  return {
    url: await listen(
      t,
      createServer((req, res) => void callback(req, res)),
    ),
    seen,
  };
}

const APPS: {
  name: string;
  start: (t: Test, upstream: string) => Promise<App>;
  /** The framework's own 404 for `GET /nope`. */
  notFound: { type: RegExp; body: RegExp };
}[] = [
  {
    name: 'express 5',
    start: (t, upstream) => expressApp(t, express5, upstream),
    notFound: { type: /^text\/html/, body: /Cannot GET \/nope/ },
  },
  {
    name: 'express 4',
    start: (t, upstream) => expressApp(t, express4, upstream),
    notFound: { type: /^text\/html/, body: /Cannot GET \/nope/ },
  },
  {
    name: 'koa 3',
    start: (t, upstream) => koaApp(t, Koa3, upstream),
    notFound: { type: /^text\/plain/, body: /^Not Found$/ },
  },
  {
    name: 'koa 2',
    start: (t, upstream) => koaApp(t, Koa2, upstream),
    notFound: { type: /^text\/plain/, body: /^Not Found$/ },
  },
];

const AUTH = { authorization: 'Bearer fall-through-token' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function emulator(t: Test): Promise<BackendEmulator> {
  const started = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => started.close());
  return started;
}

for (const { name, start, notFound } of APPS) {
  t.test(`${name}: our paths are served by us alone`, async (t) => {
    const guard = guardProcess(t);
    const upstream = await emulator(t);
    const app = await start(t, upstream.url);
    const openapi = await fetch(`${app.url}/openapi.json`);
    t.equal(openapi.status, 200);
    t.match(await openapi.json(), { openapi: /^3\.1/ });
    const list = await fetch(`${app.url}/conversations`, { headers: AUTH });
    t.equal(list.status, 200);
    t.ok(Array.isArray(await list.json()));
    const created = await fetch(`${app.url}/conversations/new`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hello' }),
    });
    t.equal(created.status, 201);
    t.match(await created.json(), { response: { author: { role: 'assistant' } } });
    const streamed = await fetch(`${app.url}/conversations/new`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ prompt: 'hello again' }),
    });
    t.equal(streamed.status, 200);
    t.match(await streamed.text(), /event: done\n/);
    // Our own errors stay ours too (a 405 on a known path).
    const wrongMethod = await fetch(`${app.url}/conversations/new`, { headers: AUTH });
    t.equal(wrongMethod.status, 405);
    t.match(await wrongMethod.json(), { code: 'method_not_allowed' });
    // A `next()` called late (after our answer) would show up here.
    await sleep(50);
    t.same(app.seen, [], 'nothing after the mount ran for our paths');
    t.same(guard.escaped, []);
  });

  t.test(`${name}: a route declared after the mount answers`, async (t) => {
    const guard = guardProcess(t);
    const upstream = await emulator(t);
    const app = await start(t, upstream.url);
    const after = await fetch(`${app.url}/after`);
    t.equal(after.status, 200);
    t.same(await after.json(), { after: true });
    const posted = await fetch(`${app.url}/after`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mine: 1 }),
    });
    t.equal(posted.status, 200);
    t.same(await posted.json(), { echoed: { mine: 1 } }, "the app's parser still works");
    t.same(app.seen, ['/after', '/after']);
    t.equal(upstream.requests.length, 0, 'nothing went upstream');
    t.same(guard.escaped, []);
  });

  t.test(`${name}: an unknown path gets the framework's own 404`, async (t) => {
    const guard = guardProcess(t);
    const upstream = await emulator(t);
    const app = await start(t, upstream.url);
    const response = await fetch(`${app.url}/nope`, { headers: AUTH });
    t.equal(response.status, 404);
    t.match(response.headers.get('content-type'), notFound.type);
    const body = await response.text();
    t.match(body, notFound.body);
    t.notMatch(body, /not_found/, 'not our JSON error');
    t.same(app.seen, ['/nope'], 'it went past our mount');
    t.same(guard.escaped, []);
  });
}
