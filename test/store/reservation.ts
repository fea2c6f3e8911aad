/**
 * The token pool's reservations on each store: a pick counts as its token's load until its first
 * upstream call, so a read the cache answers must drop it at once.
 */
import type { Test } from 'tap';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { TokenPool, createHandler } from '@chatgpt-rest/core';
import type { StoreMaker } from './contract.js';

const KEY = 'reservation-api-key';
const TOKENS = [
  { label: 'a', token: 'token-a-0123456789' },
  { label: 'b', token: 'token-b-0123456789' },
];

/** A handler on `maker`'s store with two held tokens, its pool, the emulator and a caller. */
async function setup(t: Test, maker: StoreMaker) {
  const [store] = await maker.pair(t);
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  const pool = new TokenPool({ tokens: TOKENS, store: store.tokens });
  const handler = createHandler({
    upstream: emulator.url,
    store,
    auth: { mode: 'server', tokens: TOKENS, apiKeys: [KEY], pool },
  });
  const call = (path: string, init: RequestInit = {}): Promise<Response> =>
    handler(
      new Request(`http://api.local${path}`, {
        ...init,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      }),
    );
  return { emulator, pool, call };
}

export function reservationContract(t: Test, maker: StoreMaker): void {
  t.test(
    'a request refused before its upstream call leaves its token no reserved load',
    async (t) => {
      const { emulator, pool, call } = await setup(t, maker);
      // Refused for its body after a token was picked for it: no upstream call follows.
      const refused = await call('/conversations/new', { method: 'POST', body: '{"prompt": 1}' });
      t.equal(refused.status, 400);
      t.equal(emulator.requests.length, 0, 'nothing went upstream');
      const end = pool.begin('b');
      t.teardown(end);
      t.equal(pool.pick().label, 'a', 'a counts nothing: the refused request freed its pick');
    },
  );

  t.test('a read answered from the cache leaves its token no reserved load', async (t) => {
    const { emulator, pool, call } = await setup(t, maker);
    const created = await call('/conversations/new', {
      method: 'POST',
      body: JSON.stringify({ prompt: 'hello' }),
    });
    t.equal(created.status, 201);
    const { response } = (await created.json()) as { response: { conversation_id: string } };
    const messages = `/conversations/${response.conversation_id}/messages`;
    t.equal((await call(messages)).status, 200, 'read once (from the upstream or the cache)');
    const upstreamCalls = emulator.requests.length;
    t.equal((await call(messages)).status, 200, 'read again');
    t.equal(emulator.requests.length, upstreamCalls, 'the second read came from the cache');

    // b is busy with one request; a (the conversation's token, picked last) must count nothing.
    const end = pool.begin('b');
    t.teardown(end);
    t.same(
      pool.status().map(({ label, inFlight }) => [label, inFlight]),
      [
        ['a', 0],
        ['b', 1],
      ],
    );
    t.equal(
      pool.pick().label,
      'a',
      'a new conversation goes to a: the cached read reserved nothing',
    );
  });
}
