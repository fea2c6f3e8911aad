import t from 'tap';
import { MemoryStore } from '../src/store/memory-store.js';
import { TokenPool } from '../src/auth/token-pool.js';
import { poolFetch } from '../src/auth/pool-fetch.js';

const A = { label: 'a', token: 'token-a-0123456789' };
const CAP_START = '{"detail":{"code":"model_cap_exceeded","clears_in":600}}';

/** A 429 whose body sends its JSON, then neither ends nor sends again. */
function tricklingCap(): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(CAP_START));
    },
  });
  return new Response(body, { status: 429, headers: { 'content-type': 'application/json' } });
}

t.test('wrapFetch: a 429 body that never ends does not hold the answer back', async (t) => {
  const pool = new TokenPool({ tokens: [A], store: new MemoryStore().tokens });
  const inner = (() => Promise.resolve(tricklingCap())) as typeof fetch;
  const wrapped = poolFetch(pool, inner, 50);
  let timer: NodeJS.Timeout | undefined;
  const answer = await Promise.race([
    wrapped('https://chatgpt.com/backend-api/conversations', {
      headers: { authorization: `Bearer ${A.token}` },
    }),
    new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), 2_000))),
  ]);
  clearTimeout(timer);
  t.not(answer, 'stuck', 'the answer comes once the sniff deadline passes');
  if (answer === 'stuck') return;
  t.equal(answer.status, 429);
  t.equal(pool.status()[0]?.state, 'capped', 'the pool learned the cap from what came in time');
  await answer.body?.cancel();
});

t.test('wrapFetch: requests without a held token go straight through', async (t) => {
  const pool = new TokenPool({ tokens: [A], store: new MemoryStore().tokens });
  let calls = 0;
  const inner = (() => {
    calls += 1;
    return Promise.resolve(new Response('{}', { status: 200 }));
  }) as typeof fetch;
  const answer = await poolFetch(pool, inner)('https://chatgpt.com/backend-api/me', {
    headers: { authorization: 'Bearer someone-else-0123456789' },
  });
  t.equal(answer.status, 200);
  t.equal(calls, 1);
  t.equal(pool.status()[0]?.inFlight, 0, 'no lease taken');
});
