/**
 * Fault: a host middleware before ours sent the head already (`res.flushHeaders()`, an
 * early-hints or timing helper). The Express mount's error middleware then answered the app's
 * body-parser failure with a write that rejected, unhandled: the host process died. And any
 * route's answer threw on its first header and left the response open: the client waited for
 * ever. Now the error goes on to Express (which closes the connection), and a head that cannot
 * be written cuts the connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatGptRoutes } from '@chatgpt-rest/express';
import express from 'express';
import t, { type Test } from 'tap';
import { guardProcess } from './harness.js';

/** An upstream nobody calls: every request here fails before reaching it. */
const UPSTREAM = 'http://127.0.0.1:9/backend-api';

async function listen(t: Test, server: Server): Promise<string> {
  t.teardown(
    () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An Express app whose first middleware sends the head before the routes run. */
function app(): express.Express {
  const host = express();
  host.set('env', 'test'); // Express's own error page stays quiet
  host.use((_req, res, next) => {
    res.setHeader('x-early', '1');
    res.flushHeaders();
    next();
  });
  host.use(express.json());
  host.use(chatGptRoutes({ upstream: UPSTREAM, dialect: 'legacy' }));
  return host;
}

/** The request's outcome: it ends (a body or a cut connection) within `ms`, or hangs. */
async function outcome(url: string, init: RequestInit, ms = 2000): Promise<string> {
  const timer = new Promise<string>((resolve) => setTimeout(() => resolve('hung'), ms));
  const answer = (async () => {
    try {
      const response = await fetch(url, init);
      await response.text();
      return 'ended';
    } catch {
      return 'cut';
    }
  })();
  return Promise.race([answer, timer]);
}

const headers = { 'content-type': 'application/json', authorization: 'Bearer early-token' };

t.test('a body-parser failure after a host sent the head does not crash the host', async (t) => {
  const guard = guardProcess(t);
  const url = await listen(t, createServer(app()));
  const end = await outcome(`${url}/conversations/new`, {
    method: 'POST',
    headers,
    body: '{"prompt": "unterminated',
  });
  t.not(end, 'hung', `the request ends (${end})`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(guard.escaped, [], 'nothing escaped to the process');
});

t.test('an answer after a host sent the head cuts the connection, not hangs', async (t) => {
  const guard = guardProcess(t);
  const url = await listen(t, createServer(app()));
  const end = await outcome(`${url}/conversations/not-a-uuid`, { headers });
  t.equal(end, 'cut', 'the client learns at once that no answer comes');
  t.same(guard.escaped, [], 'nothing escaped to the process');
});
