/**
 * Issue 12 item 8: the Fastify and Koa mounts answer through the framework's own response path,
 * so what a host hangs on it (logging, metrics, CORS and security headers) sees our answers:
 * Fastify's onRequest/onSend/onResponse hooks, and Koa middleware registered before ours (the
 * code after `await next()`). Streams stay incremental, and a client leaving still aborts the
 * upstream request.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import bodyParser from '@koa/bodyparser';
import { silentLogger, type ChatGptRestOptions } from '@chatgpt-rest/core';
import { chatGptRoutes as fastifyRoutes } from '@chatgpt-rest/fastify';
import { chatGptRoutes as koaRoutes } from '@chatgpt-rest/koa';
import { createBackendEmulator, type BackendEmulator } from '@chatgpt-rest/emulator';
import Fastify from 'fastify';
import Koa3 from 'koa';
import Koa2 from 'koa2';
import t, { type Test } from 'tap';
import { readEvents } from '@chatgpt-rest/test-kit';

/** What a host hook saw of one of our answers. */
interface Seen {
  hook: string;
  status: number;
  route: string;
  type: string;
}

/** A host app with our routes under `/chat` and hooks recording what they see. */
interface Host {
  url: string;
  seen: Seen[];
}

const PACING_MS = 40;

function headerText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

async function emulatorFor(t: Test): Promise<BackendEmulator> {
  const emulator = await createBackendEmulator({ dialect: 'legacy', pacingMs: PACING_MS });
  t.teardown(() => emulator.close());
  return emulator;
}

function coreOptions(emulator: BackendEmulator): ChatGptRestOptions {
  return { upstream: emulator.url, dialect: 'legacy', logger: silentLogger, prefix: '/chat' };
}

/** Fastify: onRequest sets headers as CORS and helmet plugins do; onSend adds one; all record. */
async function fastifyHost(t: Test, emulator: BackendEmulator): Promise<Host> {
  const seen: Seen[] = [];
  const app = Fastify();
  const record = (
    hook: string,
    request: { routeOptions: { url?: string } },
    reply: { statusCode: number; getHeader(name: string): unknown },
  ): void => {
    seen.push({
      hook,
      status: reply.statusCode,
      route: request.routeOptions.url ?? '',
      type: headerText(reply.getHeader('content-type')),
    });
  };
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('access-control-allow-origin', 'https://host.example');
    reply.header('x-frame-options', 'DENY');
  });
  app.addHook('onSend', async (request, reply, payload) => {
    record('onSend', request, reply);
    reply.header('x-host-on-send', 'seen');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    record('onResponse', request, reply);
  });
  await app.register(fastifyRoutes, coreOptions(emulator));
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    app.server.closeAllConnections();
    await app.close();
  });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, seen };
}

/** Koa: a middleware before ours sets a header before `next()`, and after it records and sets one. */
async function koaHost(t: Test, emulator: BackendEmulator, Koa: typeof Koa3): Promise<Host> {
  const seen: Seen[] = [];
  const app = new Koa();
  const routes = koaRoutes(coreOptions(emulator));
  app.use(async (ctx, next) => {
    ctx.set('x-frame-options', 'DENY');
    await next();
    seen.push({ hook: 'after next', status: ctx.status, route: ctx.path, type: ctx.type });
    ctx.set('x-host-after-next', String(ctx.status));
  });
  app.use(routes.errors);
  app.use(bodyParser());
  app.use(routes);
  const callback = app.callback();
  const server = createServer((req, res) => void callback(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const AUTH = { authorization: 'Bearer host-hooks-token' };

function newStream(host: Host, signal?: AbortSignal): Promise<Response> {
  return fetch(`${host.url}/chat/conversations/new`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'slow', stream: true }),
    signal,
  });
}

/** Waits until `check` holds (hooks such as onResponse run after the client has its answer). */
async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

/** The first delta comes while the upstream is still sending; the rest follow to `done`. */
async function assertIncremental(
  t: Test,
  emulator: BackendEmulator,
  mark: number,
  response: Response,
) {
  const events = readEvents(response);
  const first = await events.next();
  t.equal(first.value?.event, 'delta', 'the first event is a delta');
  const upstream = emulator.requests.slice(mark).find((r) => r.method === 'POST');
  t.ok(upstream, 'the upstream request was made');
  t.equal(upstream?.closure, undefined, 'the upstream reply is still being sent');
  const names: string[] = [];
  for await (const event of events) names.push(event.event);
  t.same(names.slice(-2), ['reply', 'done'], 'the stream ends with reply and done');
}

/** A client leaving mid-stream aborts the upstream request. */
async function assertLeavingAborts(t: Test, emulator: BackendEmulator, host: Host) {
  const controller = new AbortController();
  const mark = emulator.requests.length;
  const response = await newStream(host, controller.signal);
  await readEvents(response).next();
  const upstream = emulator.requests.slice(mark).find((r) => r.method === 'POST');
  controller.abort();
  const closure = await upstream?.closed;
  t.equal(closure?.aborted, true, 'the upstream request was aborted');
}

t.test('fastify 5: onRequest, onSend and onResponse hooks see our answers', async (t) => {
  const emulator = await emulatorFor(t);
  const host = await fastifyHost(t, emulator);

  await t.test('a JSON answer', async (t) => {
    host.seen.length = 0;
    const response = await fetch(`${host.url}/chat/conversations?limit=1`, { headers: AUTH });
    t.equal(response.status, 200);
    await response.json();
    t.equal(response.headers.get('access-control-allow-origin'), 'https://host.example');
    t.equal(response.headers.get('x-frame-options'), 'DENY');
    t.equal(response.headers.get('x-host-on-send'), 'seen', 'a header set in onSend arrives');
    t.match(response.headers.get('content-type'), /^application\/json/);
    t.ok(response.headers.has('x-total-count'), 'our own headers are there too');
    await until(() => host.seen.length === 2);
    t.match(host.seen, [
      { hook: 'onSend', status: 200, route: '/chat/conversations', type: /application\/json/ },
      { hook: 'onResponse', status: 200, route: '/chat/conversations' },
    ]);
  });

  await t.test('an error answer keeps its status in the hooks', async (t) => {
    host.seen.length = 0;
    const response = await fetch(`${host.url}/chat/conversations/not-a-uuid/messages`, {
      headers: AUTH,
    });
    t.equal(response.status, 400);
    t.match(await response.json(), { code: 'invalid_request' });
    t.equal(response.headers.get('x-frame-options'), 'DENY');
    await until(() => host.seen.length === 2);
    t.match(host.seen, [
      { hook: 'onSend', status: 400, route: '/chat/conversations/:id/messages' },
      { hook: 'onResponse', status: 400, route: '/chat/conversations/:id/messages' },
    ]);
  });

  await t.test('a stream: hooks see it, and it is still incremental', async (t) => {
    host.seen.length = 0;
    const mark = emulator.requests.length;
    const response = await newStream(host);
    t.equal(response.status, 200);
    t.match(response.headers.get('content-type'), /^text\/event-stream/);
    t.equal(response.headers.get('x-frame-options'), 'DENY');
    t.equal(response.headers.get('x-host-on-send'), 'seen');
    t.match(host.seen, [{ hook: 'onSend', status: 200, type: /^text\/event-stream/ }]);
    await assertIncremental(t, emulator, mark, response);
    await until(() => host.seen.length === 2);
    t.match(host.seen[1], { hook: 'onResponse', status: 200, route: '/chat/conversations/new' });
  });

  await t.test('a client leaving mid-stream aborts the upstream', async (t) => {
    await assertLeavingAborts(t, emulator, host);
  });
});

for (const [name, Koa] of [
  ['koa 2', Koa2],
  ['koa 3', Koa3],
] as const) {
  t.test(`${name}: middleware before ours sees our answers after await next()`, async (t) => {
    const emulator = await emulatorFor(t);
    const host = await koaHost(t, emulator, Koa);

    await t.test('a JSON answer', async (t) => {
      host.seen.length = 0;
      const response = await fetch(`${host.url}/chat/conversations?limit=1`, { headers: AUTH });
      t.equal(response.status, 200);
      await response.json();
      t.equal(response.headers.get('x-frame-options'), 'DENY', 'set before next()');
      t.equal(response.headers.get('x-host-after-next'), '200', 'set after next()');
      t.ok(response.headers.has('x-total-count'), 'our own headers are there too');
      t.match(host.seen, [
        { hook: 'after next', status: 200, route: '/chat/conversations', type: 'application/json' },
      ]);
    });

    await t.test('an error answer keeps its status', async (t) => {
      host.seen.length = 0;
      const response = await fetch(`${host.url}/chat/conversations`);
      t.equal(response.status, 401);
      t.match(await response.json(), { code: 'missing_token' });
      t.equal(response.headers.get('x-host-after-next'), '401');
      t.match(host.seen, [{ hook: 'after next', status: 401 }]);
    });

    await t.test('a body parser error still becomes our JSON error', async (t) => {
      const response = await fetch(`${host.url}/chat/conversations/new`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: '{"prompt":',
      });
      t.equal(response.status, 400);
      t.match(await response.json(), { code: 'invalid_request' });
    });

    await t.test('a stream: middleware sees it, and it is still incremental', async (t) => {
      host.seen.length = 0;
      const mark = emulator.requests.length;
      const response = await newStream(host);
      t.equal(response.status, 200);
      t.match(response.headers.get('content-type'), /^text\/event-stream/);
      t.equal(response.headers.get('x-host-after-next'), '200');
      t.match(host.seen, [{ hook: 'after next', status: 200, type: 'text/event-stream' }]);
      await assertIncremental(t, emulator, mark, response);
    });

    await t.test('a client leaving mid-stream aborts the upstream', async (t) => {
      await assertLeavingAborts(t, emulator, host);
    });
  });
}
