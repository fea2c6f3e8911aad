/**
 * The health checks a host app serves itself next to the mounted routes (`createHealthChecks`,
 * the logic the sidecar's `/healthz` and `/readyz` use).
 */
import { createHealthChecks, TokenPool } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { chatGptRoutes } from '@chatgpt-rest/express';
import express from 'express';
import type { AddressInfo } from 'node:net';
import t from 'tap';

t.test('health checks served by a host app next to the mounted routes', async (t) => {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  const tokens = [{ label: 'main', token: 'held-token-1' }];
  const pool = new TokenPool({ tokens });
  const health = createHealthChecks({ upstream: emulator.url, pool, apiKeys: ['key-1'] });
  const app = express();
  app.get('/healthz', (_req, res) => {
    const { status, body } = health.live();
    res.status(status).json(body);
  });
  app.get('/readyz', (req, res) => {
    void health.ready(req.headers).then(({ status, body }) => res.status(status).json(body));
  });
  const auth = { mode: 'server' as const, tokens, apiKeys: ['key-1'], pool };
  app.use('/chat', chatGptRoutes({ upstream: emulator.url, auth }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => new Promise<void>((done) => server.close(() => done())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  t.same(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
  const anonymous = await fetch(`${base}/readyz`);
  t.equal(anonymous.status, 200);
  t.same(await anonymous.json(), { status: 'ready' }, 'no details without a key');
  const keyed = await fetch(`${base}/readyz`, { headers: { 'x-api-key': 'key-1' } });
  t.match(await keyed.json(), {
    status: 'ready',
    upstream: { reachable: true },
    auth: 'server',
    tokens: [{ label: 'main', state: 'ok', inFlight: 0, queued: 0 }],
  });
  // The routes and the checks share the pool: a 401 upstream takes the token out of both.
  emulator.tokens.expire('held-token-1');
  const listed = await fetch(`${base}/chat/conversations`, { headers: { 'x-api-key': 'key-1' } });
  t.equal(listed.status, 401);
  const after = await fetch(`${base}/readyz`, { headers: { authorization: 'Bearer key-1' } });
  t.equal(after.status, 503);
  t.match(await after.json(), {
    status: 'not_ready',
    tokens: [{ label: 'main', state: 'evicted' }],
  });
  t.notOk(JSON.stringify(await (await fetch(`${base}/readyz`)).json()).includes('held-token'));
});
