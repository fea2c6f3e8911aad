import t from 'tap';
import { createBackendEmulator } from '../src/index.js';

/** A plain authenticated GET of the conversation list (any endpoint would do). */
async function list(url: string, offset: number): Promise<number> {
  const res = await fetch(`${url}/conversations?offset=${offset}`, {
    headers: { authorization: 'Bearer token-a' },
  });
  await res.arrayBuffer();
  return res.status;
}

t.test('maxRecordedRequests keeps only the newest requests, oldest dropped first', async (t) => {
  const emulator = await createBackendEmulator({ maxRecordedRequests: 5 });
  t.teardown(() => emulator.close());
  for (let i = 0; i < 8; i += 1) t.equal(await list(emulator.url, i), 200);
  t.same(
    emulator.requests.map((r) => r.seq),
    [4, 5, 6, 7, 8],
    'the last 5 by seq',
  );
  t.same(
    emulator.requests.map((r) => r.query.offset),
    ['3', '4', '5', '6', '7'],
  );

  const kept = await emulator.waitForRequest(() => true, { since: 6, timeoutMs: 100 });
  t.equal(kept.seq, 7, 'waitForRequest finds a request still kept');
  const next = emulator.waitForRequest((r) => r.query.offset === '8', { since: 8 });
  t.equal(await list(emulator.url, 8), 200);
  t.equal((await next).seq, 9, 'waitForRequest still sees new requests');
  t.same(
    emulator.requests.map((r) => r.seq),
    [5, 6, 7, 8, 9],
  );

  emulator.reset();
  t.equal(await list(emulator.url, 0), 200);
  t.same(
    emulator.requests.map((r) => r.seq),
    [10],
    'reset forgets them; seq goes on',
  );
});

t.test('maxRecordedRequests: 0 records none; Infinity keeps all; others are refused', async (t) => {
  const none = await createBackendEmulator({ maxRecordedRequests: 0 });
  t.teardown(() => none.close());
  const seen = none.waitForRequest();
  t.equal(await list(none.url, 0), 200);
  t.equal((await seen).seq, 1, 'waiters still see the request');
  t.same(none.requests, []);

  const all = await createBackendEmulator({ maxRecordedRequests: Number.POSITIVE_INFINITY });
  t.teardown(() => all.close());
  for (let i = 0; i < 3; i += 1) await list(all.url, i);
  t.equal(all.requests.length, 3);

  for (const bad of [-1, 1.5, Number.NaN]) {
    await t.rejects(createBackendEmulator({ maxRecordedRequests: bad }), RangeError, String(bad));
  }
});
