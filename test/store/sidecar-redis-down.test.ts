import t from 'tap';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { createRedisStore } from '@chatgpt-rest/redis-store';
import { createJsonLogger, createServer } from '@chatgpt-rest/server';
import { REDIS_MISSING, startRedisServer } from '@chatgpt-rest/test-kit';

// The sidecar on a Redis store, Redis killed mid-test: requests that need a held token get a
// clear 503 at once, /readyz says not ready and why, nothing crashes, and it all comes back
// when Redis does. A held token and the Redis password never reach a log line or an answer.
const PASSWORD = 'canary-redis-password-7f3a';
const TOKEN = 'canary-held-token-down-91c2';
const KEY = 'down-api-key';
const AUTH = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

const redis = await startRedisServer({ password: PASSWORD });
if (redis === undefined) {
  t.plan(0, REDIS_MISSING);
} else {
  t.teardown(() => redis.stop());
  const logLines: string[] = [];
  const logger = createJsonLogger({ level: 'debug', write: (line) => logLines.push(line) });
  const store = createRedisStore({ url: redis.url, commandTimeoutMs: 300, logger });
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  const sidecar = createServer({
    upstream: emulator.url,
    port: 0,
    tokens: [{ label: 'only', token: TOKEN }],
    apiKeys: [KEY],
    store,
    logger,
    readyCacheMs: 0,
  });
  const url = await sidecar.listen();
  t.teardown(async () => {
    await sidecar.close(0);
    await store.close();
    await emulator.close();
  });
  await store.ready();
  const ask = (): Promise<Response> =>
    fetch(`${url}/conversations/new`, {
      method: 'POST',
      headers: AUTH,
      body: JSON.stringify({ prompt: 'hello' }),
    });
  const ready = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${url}/readyz`, { headers: { 'x-api-key': KEY } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const bodies: string[] = [];

  t.test('with Redis up: served, ready', async (t) => {
    t.equal((await ask()).status, 201);
    const state = await ready();
    t.equal(state.status, 200);
    t.match(state.body.store, { kind: 'redis', ok: true, state: 'ready' });
  });

  t.test('Redis killed: 503 upstream_unavailable at once, not ready, no crash', async (t) => {
    await redis.stop(true);
    const started = Date.now();
    const refused = await ask();
    const text = await refused.text();
    bodies.push(text);
    t.equal(refused.status, 503);
    t.match(JSON.parse(text), { code: 'upstream_unavailable', error: /shared state store/ });
    t.ok(Date.now() - started < 1500, `answered in ${Date.now() - started} ms`);
    const state = await ready();
    bodies.push(JSON.stringify(state.body));
    t.equal(state.status, 503);
    t.match(state.body.store, { kind: 'redis', ok: false });
    t.equal((await fetch(`${url}/healthz`)).status, 200, 'the process lives');
  });

  t.test('Redis back: it reconnects on its own', async (t) => {
    await redis.restart();
    await store.ready(5000);
    t.equal((await ready()).status, 200);
    const again = await ask();
    bodies.push(await again.clone().text());
    t.equal(again.status, 201);
  });

  t.test('no held token and no Redis password in logs or answers', (t) => {
    const all = [...logLines, ...bodies].join('\n');
    t.ok(
      logLines.some((line) => line.includes('Redis is unreachable')),
      'the outage is logged',
    );
    t.notOk(all.includes(TOKEN), 'no token');
    t.notOk(all.includes(PASSWORD), 'no Redis password');
    t.end();
  });
}
