import t from 'tap';
import { raw, start } from '../../packages/server/test/helpers.js';

const KEY = 'readyz-api-key-6b1f';
const TOKENS = [
  { label: 'label-alpha', token: 'readyz-held-token-a' },
  { label: 'label-beta', token: 'readyz-held-token-b' },
];

function upstreamChecks(requests: readonly { method: string; path: string }[]): number {
  return requests.filter((r) => r.method === 'GET' && r.path === '/backend-api/').length;
}

t.test('/readyz without a valid API key says only ready or not ready', async (t) => {
  const { port, emulator } = await start(t, { tokens: TOKENS, apiKeys: [KEY] });
  for (const headers of [{}, { authorization: 'Bearer wrong-key' }, { 'x-api-key': 'wrong' }]) {
    const reply = await raw(port, 'GET', '/readyz', headers);
    t.equal(reply.status, 200);
    t.same(JSON.parse(reply.body), { status: 'ready' }, 'nothing but the status');
    t.notMatch(reply.body, /label-|inFlight|upstream/);
  }
  emulator.tokens.expire(TOKENS[0]!.token);
  emulator.tokens.expire(TOKENS[1]!.token);
  for (let i = 0; i < TOKENS.length; i++) {
    // Each token gets its 401 through the pass-through and leaves rotation.
    await raw(port, 'GET', `/backend-api/conversation/${crypto.randomUUID()}`, {
      authorization: `Bearer ${KEY}`,
    });
  }
  const down = await raw(port, 'GET', '/readyz');
  t.equal(down.status, 503);
  t.same(JSON.parse(down.body), { status: 'not_ready' });
});

t.test('/readyz with a valid API key lists labels, states and in-flight counts', async (t) => {
  const { port } = await start(t, { tokens: TOKENS, apiKeys: [KEY] });
  for (const headers of [{ authorization: `Bearer ${KEY}` }, { 'x-api-key': KEY }]) {
    const reply = await raw(port, 'GET', '/readyz', headers);
    t.equal(reply.status, 200);
    t.match(JSON.parse(reply.body), {
      status: 'ready',
      upstream: { reachable: true },
      auth: 'server',
      tokens: [
        { label: 'label-alpha', state: 'ok', inFlight: 0, queued: 0 },
        { label: 'label-beta', state: 'ok', inFlight: 0, queued: 0 },
      ],
    });
    t.notMatch(reply.body, /readyz-held-token/, 'never a token');
  }
});

t.test('/readyz caches its upstream check (readyCacheMs, default 5 s)', async (t) => {
  const cached = await start(t);
  for (let i = 0; i < 5; i++) t.equal((await raw(cached.port, 'GET', '/readyz')).status, 200);
  const parallel = await Promise.all([1, 2, 3].map(() => raw(cached.port, 'GET', '/readyz')));
  t.same(
    parallel.map((reply) => reply.status),
    [200, 200, 200],
  );
  t.equal(upstreamChecks(cached.emulator.requests), 1, 'eight calls, one upstream GET');

  const uncached = await start(t, { readyCacheMs: 0 });
  for (let i = 0; i < 3; i++) await raw(uncached.port, 'GET', '/readyz');
  t.equal(upstreamChecks(uncached.emulator.requests), 3, 'readyCacheMs: 0 checks every time');
});
