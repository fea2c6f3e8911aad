/**
 * Issue 12, tests that bite: the Express mount's error middleware turns the app's body-parser
 * failures into our JSON errors only on OUR paths. Mounted at the root, with `express.json()`
 * before it, malformed JSON sent to one of the host's own routes declared after the mount must
 * reach the host's error handling (its own error middleware, or Express's default page), never
 * our `{"error", "code"}` body. Without the "our path" guard this fails.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatGptRoutes } from '@chatgpt-rest/express';
import express5 from 'express';
import express4 from 'express4';
import t, { type Test } from 'tap';
import { guardProcess } from '../hardening/harness.js';

/** An upstream nobody calls: every request here fails before reaching it. */
const UPSTREAM = 'http://127.0.0.1:9/backend-api';
const MALFORMED = '{"prompt": "unterminated';

async function start(
  t: Test,
  factory: typeof express5,
  hostErrorHandler: boolean,
): Promise<{ url: string; hostRouteCalls: () => number }> {
  let calls = 0;
  const app = factory();
  app.use(factory.json());
  app.use(chatGptRoutes({ upstream: UPSTREAM, dialect: 'legacy' }));
  app.post('/host/items', (req, res) => {
    calls++;
    res.status(201).json({ created: req.body as unknown });
  });
  if (hostErrorHandler) {
    app.use(
      (
        error: { type?: unknown; status?: unknown },
        _req: express5.Request,
        res: express5.Response,
        _next: express5.NextFunction,
      ) => {
        res.status(422).json({ host: 'error', type: error.type, status: error.status });
      },
    );
  }
  const server = createServer(app);
  t.teardown(
    () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  const url = await new Promise<string>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
  return { url, hostRouteCalls: () => calls };
}

function post(url: string, body: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer guard-token' },
    body,
  });
}

for (const [name, factory] of [
  ['express 5', express5],
  ['express 4', express4],
] as const) {
  t.test(`${name}: malformed JSON to a host route reaches the host's error handler`, async (t) => {
    const guard = guardProcess(t);
    const app = await start(t, factory, true);
    const response = await post(`${app.url}/host/items`, MALFORMED);
    t.equal(response.status, 422, "the host's error middleware answered");
    t.same(await response.json(), { host: 'error', type: 'entity.parse.failed', status: 400 });
    t.equal(app.hostRouteCalls(), 0);
    // The host route itself works with a good body.
    const good = await post(`${app.url}/host/items`, '{"a":1}');
    t.equal(good.status, 201);
    t.same(await good.json(), { created: { a: 1 } });
    t.same(guard.escaped, []);
  });

  t.test(`${name}: without a host error handler, Express's own page answers`, async (t) => {
    const guard = guardProcess(t);
    const app = await start(t, factory, false);
    const response = await post(`${app.url}/host/items`, MALFORMED);
    t.equal(response.status, 400);
    t.match(response.headers.get('content-type'), /^text\/html/);
    const body = await response.text();
    t.notMatch(body, /"code"\s*:\s*"invalid_request"/, 'not our JSON error');
    t.same(guard.escaped, []);
  });

  t.test(`${name}: malformed JSON to OUR path still gets our JSON error`, async (t) => {
    const guard = guardProcess(t);
    const app = await start(t, factory, true);
    const response = await post(`${app.url}/conversations/new`, MALFORMED);
    t.equal(response.status, 400);
    t.match(response.headers.get('content-type'), /^application\/json/);
    t.match(await response.json(), { code: 'invalid_request' });
    t.same(guard.escaped, []);
  });
}
