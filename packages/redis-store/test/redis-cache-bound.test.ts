import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import type { BackendConversation, PlacedMessage } from '@chatgpt-rest/core';
import { createRedisStore, hashOf, type RedisStoreOptions } from '@chatgpt-rest/redis-store';
import { REDIS_MISSING, startRedisServer } from '@chatgpt-rest/test-kit';

const redis = await startRedisServer();
const BOUNDS = { max: 100, maxSize: 1_000_000, ttl: 60_000 };

/** Two instances' stores on one Redis and a raw client to look inside, all closed at the end. */
async function twoStores(t: Test, options: RedisStoreOptions) {
  const [a, b] = [createRedisStore(options), createRedisStore(options)];
  const raw = new Redis(options.url ?? '');
  t.teardown(async () => {
    raw.disconnect();
    await Promise.all([a.close(), b.close()]);
  });
  await Promise.all([a.ready(), b.ready()]);
  return { a, b, raw };
}

function tree(id: string): BackendConversation {
  return {
    title: id,
    create_time: 1,
    update_time: 1,
    mapping: { root: { id: 'root', parent: null, children: [] } },
    current_node: 'root',
    conversation_id: id,
  };
}

function turn(id: string): PlacedMessage[] {
  const message = {
    id,
    author: { role: 'user' },
    content: { content_type: 'text', parts: ['hi'] },
  };
  return [{ message, parentId: 'root' }];
}

t.test('maxCachedConversations is a bound, never unbounded', (t) => {
  for (const bad of [0, -1, 1.5, Infinity, Number.NaN]) {
    t.throws(() => createRedisStore({ url: 'redis://h:1', maxCachedConversations: bad }), {
      message: /maxCachedConversations/,
    });
  }
  t.end();
});

if (redis === undefined) {
  t.comment(REDIS_MISSING);
} else {
  t.teardown(() => redis.stop());
  const url = redis.url;

  t.test('Redis holds at most maxCachedConversations, the least recently written go', async (t) => {
    const prefix = 'bound:';
    const options = { url, prefix, maxCachedConversations: 3 };
    const { a, b, raw } = await twoStores(t, options);
    const ca = a.conversations(BOUNDS);
    const cb = b.conversations(BOUNDS);
    const key = (p: string, c: string): string => `${prefix}conv:${hashOf(p)}:${hashOf(c)}`;
    const index = `${prefix}convs`;
    const hashes = async (): Promise<string[]> => (await raw.keys(`${prefix}conv:*`)).sort();
    const cached = (...pairs: [string, string][]): string[] =>
      pairs.map(([p, c]) => key(p, c)).sort();

    const written: [string, string][] = [
      ['p1', 'c1'],
      ['p1', 'c2'],
      ['p1', 'c3'],
      ['p2', 'c4'],
      ['p2', 'c5'],
    ];
    for (const [p, c] of written) {
      await ca.set(p, c, { conversation: tree(c), complete: true });
      if (c === 'c2') t.ok(await cb.get('p1', 'c2'), 'B keeps c2 in its near-cache');
      t.ok((await raw.zcard(index)) <= 3, `the index never exceeds the bound (after ${c})`);
    }
    t.same(await hashes(), cached(['p1', 'c3'], ['p2', 'c4'], ['p2', 'c5']), 'the newest 3');
    t.same((await raw.zrange(index, 0, -1)).sort(), await hashes(), 'the index names them');
    t.same(
      await raw.smembers(`${prefix}principal:${hashOf('p1')}`),
      [key('p1', 'c3')],
      'the principal set forgets the dropped ones',
    );
    t.equal(await cb.get('p1', 'c2'), undefined, "B's near-cache sees the drop at its next read");
    t.equal(await ca.get('p1', 'c1'), undefined);

    t.equal(await ca.addMessages('p1', 'c3', turn('m1')), true);
    await ca.set('p3', 'c6', { conversation: tree('c6'), complete: true });
    t.same(
      await hashes(),
      cached(['p1', 'c3'], ['p2', 'c5'], ['p3', 'c6']),
      'an append moves c3 to the newest end: c4 goes instead',
    );
    t.equal((await cb.get('p1', 'c3'))?.conversation.current_node, 'm1');
    const ttl = await raw.pttl(index);
    t.ok(ttl > 0 && ttl <= BOUNDS.ttl, 'the index expires with the data');

    await cb.delete('p3', 'c6');
    t.equal(await raw.zscore(index, key('p3', 'c6')), null, 'a delete removes its member');
    await cb.deletePrincipal('p2');
    t.same(await raw.zrange(index, 0, -1), [key('p1', 'c3')], 'so does delete-all');
    t.same(await hashes(), cached(['p1', 'c3']));
  });

  t.test('a corrupt operation count never sizes an allocation or a command', async (t) => {
    const prefix = 'count:';
    const { a, raw } = await twoStores(t, { url, prefix });
    const cache = a.conversations(BOUNDS);
    await cache.set('p', 'c', { conversation: tree('c'), complete: true });
    t.equal(await cache.addMessages('p', 'c', turn('m1')), true);
    t.equal((await cache.get('p', 'c'))?.conversation.current_node, 'm1', 'in the near-cache');
    const key = `${prefix}conv:${hashOf('p')}:${hashOf('c')}`;
    await raw.hset(key, 'n', String(1e9));
    const heap = process.memoryUsage().heapUsed;
    const start = performance.now();
    const got = await cache.get('p', 'c');
    const ms = performance.now() - start;
    const grown = process.memoryUsage().heapUsed - heap;
    t.ok(got === undefined || got.conversation.current_node === 'm1', 'a miss or the real tree');
    t.ok(ms < 2000, `returns quickly (${ms.toFixed(0)} ms)`);
    t.ok(grown < 50 * 1024 * 1024, `allocates little (${(grown / 2 ** 20).toFixed(1)} MiB)`);
  });

  t.test(
    'appends past the TTL keep the principal set alive: delete-all still finds it',
    async (t) => {
      const ttl = 1000;
      const options = { url, prefix: 'renew:' };
      const { a, b, raw } = await twoStores(t, options);
      const bounds = { ...BOUNDS, ttl };
      const [ca, cb] = [a.conversations(bounds), b.conversations(bounds)];
      await ca.set('p', 'c', { conversation: tree('c'), complete: true });
      // Expires no earlier than what the write set: once it is gone, so is the original TTL.
      await raw.set('renew:clock', '1', 'PX', ttl);
      const until = async (left: number): Promise<void> => {
        for (
          let ms = await raw.pttl('renew:clock');
          ms > left;
          ms = await raw.pttl('renew:clock')
        ) {
          await new Promise((resolve) => setTimeout(resolve, Math.max(1, ms - left)));
        }
      };
      await until(ttl / 2);
      t.equal(await ca.addMessages('p', 'c', turn('m1')), true, 'appended within the TTL');
      await until(-2); // PTTL -2: the key is gone
      t.equal(await ca.addMessages('p', 'c', turn('m2')), true, 'appended past the first TTL');
      t.equal((await cb.get('p', 'c'))?.conversation.current_node, 'm2', 'B reads it');
      await ca.deletePrincipal('p');
      t.equal(await cb.get('p', 'c'), undefined, 'delete-all reached it: B no longer serves it');
      t.same(await raw.keys('renew:conv:*'), [], 'its hash is gone');
    },
  );
}
