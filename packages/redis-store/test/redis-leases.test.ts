import t from 'tap';
import { Redis } from 'ioredis';
import { TokenPool, accountOf } from '@chatgpt-rest/core';
import { createRedisStore, redactRedisUrl } from '@chatgpt-rest/redis-store';
import { REDIS_MISSING, startRedisServer } from '@chatgpt-rest/test-kit';

const redis = await startRedisServer();
const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const SLOT = { queueSize: 8, waitMs: 5000 };

t.test('the URL as printed never holds its password', (t) => {
  t.equal(
    redactRedisUrl('redis://:s3cret@cache.internal:6380/2'),
    'redis://***@cache.internal:6380/2',
  );
  t.equal(redactRedisUrl('rediss://user:pw@h:1'), 'rediss://***@h:1');
  t.equal(redactRedisUrl('redis://h:1'), 'redis://h:1');
  t.equal(redactRedisUrl('not a url s3cret'), '(invalid Redis URL)');
  t.throws(() => createRedisStore({ url: 'http://:s3cret@h:1' }), {
    message: /must be redis:\/\/host:port/,
  });
  t.throws(() => createRedisStore({ url: 'redis://:s3cret@h:1', leaseTtlMs: 0 }), {
    message: /leaseTtlMs/,
  });
  // A Node timer longer than 2^31 - 1 ms fires after 1 ms: no timer option may exceed it.
  t.throws(() => createRedisStore({ url: 'redis://h:1', commandTimeoutMs: 2 ** 31 }), {
    name: 'TypeError',
    message: /commandTimeoutMs/,
  });
  t.throws(() => createRedisStore({ url: 'redis://h:1', leaseTtlMs: 100 * 24 * 60 * 60 * 1000 }), {
    name: 'TypeError',
    message: /leaseTtlMs/,
  });
  t.throws(() => createRedisStore({ url: 'redis://h:1', pollMs: 2 ** 31 }), {
    name: 'TypeError',
    message: /pollMs/,
  });
  t.throws(() => createRedisStore({ url: 'redis://h:1', prefix: 'bad prefix' }), {
    message: /prefix/,
  });
  t.throws(() => createRedisStore({}), { message: /needs a url or a client/ });
  t.end();
});

if (redis === undefined) {
  t.comment(REDIS_MISSING);
} else {
  t.teardown(() => redis.stop());
  const url = redis.url;

  t.test(
    'a crashed holder frees its account after the lease TTL; a live one keeps it',
    async (t) => {
      const a = createRedisStore({ url, prefix: 'ttl:', leaseTtlMs: 300, pollMs: 50 });
      const b = createRedisStore({ url, prefix: 'ttl:', leaseTtlMs: 300, pollMs: 50 });
      t.teardown(() => Promise.all([a.close(), b.close()]));
      await Promise.all([a.ready(), b.ready()]);
      const held = await a.tokens.acquireSlot('acct', SLOT);
      await tick(700);
      await t.rejects(
        b.tokens.acquireSlot('acct', { queueSize: 8, waitMs: 200 }),
        {
          code: 'conversation_busy',
        },
        'renewed while held: still busy after twice its TTL',
      );
      held();
      const next = await b.tokens.acquireSlot('acct', SLOT);
      // A dies holding it: its connection drops, nothing renews or frees the lease.
      const c = createRedisStore({ url, prefix: 'ttl:', leaseTtlMs: 300, pollMs: 50 });
      await c.ready();
      next();
      await c.tokens.acquireSlot('acct', SLOT);
      c.client.disconnect();
      await c.close();
      const started = Date.now();
      const taken = await b.tokens.acquireSlot('acct', SLOT);
      const waited = Date.now() - started;
      t.ok(waited >= 150 && waited < 1500, `taken ${waited} ms after the holder died (TTL 300 ms)`);
      taken();
    },
  );

  t.test('a waiter whose instance died does not block the queue', async (t) => {
    const a = createRedisStore({ url, prefix: 'dead:', leaseTtlMs: 2000, pollMs: 50 });
    const b = createRedisStore({ url, prefix: 'dead:', leaseTtlMs: 2000, pollMs: 50 });
    t.teardown(() => Promise.all([a.close(), b.close()]));
    await Promise.all([a.ready(), b.ready()]);
    const held = await a.tokens.acquireSlot('acct', SLOT);
    // A ghost waiter at the head of the queue, as a dead instance leaves it.
    await a.client.zadd('dead:queue:acct', 0, 'ghost');
    await a.client.hset('dead:beats:acct', 'ghost', 0);
    const waiting = b.tokens.acquireSlot('acct', SLOT);
    await tick(100);
    held();
    const started = Date.now();
    const release = await waiting;
    t.ok(Date.now() - started < 1500, 'the ghost was dropped');
    release();
  });

  t.test('Redis down: leases fail closed at once, the cache misses, it reconnects', async (t) => {
    const store = createRedisStore({ url, prefix: 'down:', commandTimeoutMs: 300, pollMs: 50 });
    const logs: string[] = [];
    const pool = new TokenPool({
      tokens: [{ label: 'a', token: 'canary-held-token-0001' }],
      store: store.tokens,
      logger: {
        debug: () => undefined,
        info: (obj, msg) => logs.push(JSON.stringify(obj) + String(msg)),
        warn: (obj, msg) => logs.push(JSON.stringify(obj) + String(msg)),
        error: (obj, msg) => logs.push(JSON.stringify(obj) + String(msg)),
      },
    });
    t.teardown(() => store.close());
    await store.ready();
    const cache = store.conversations({ max: 10, maxSize: 100_000, ttl: 60_000 });
    t.equal((await pool.choose()).label, 'a');
    await redis.stop(true);
    await tick(100);
    t.equal(store.health().ok, false, 'health says so');
    const started = Date.now();
    await t.rejects(pool.acquireMessageSlot('a'), { code: 'upstream_unavailable', status: 503 });
    await t.rejects(pool.choose(), { code: 'upstream_unavailable', message: /shared state store/ });
    t.ok(Date.now() - started < 1000, 'refused at once, not after a timeout');
    t.equal(await cache.get('p', 'c'), undefined, 'the cache misses');
    await cache.set('p', 'c', {
      conversation: { title: 't', mapping: {}, current_node: '', conversation_id: 'c' },
      complete: true,
    } as never);
    pool.observe(
      'a',
      429,
      JSON.stringify({ detail: { code: 'model_cap_exceeded', clears_in: 5 } }),
    );
    await tick(50);
    t.notOk(logs.join('\n').includes('canary-held-token'), 'no token in the logs');
    await redis.restart();
    await store.ready(5000);
    t.equal(store.health().ok, true, 'reconnected on its own');
    const release = await pool.acquireMessageSlot('a');
    release();
  });

  t.test('nothing secret in Redis: keys and values hold hashes only', async (t) => {
    const token = 'canary-token-in-redis-XYZ';
    const store = createRedisStore({ url, prefix: 'scan:' });
    t.teardown(() => store.close());
    await store.ready();
    const pool = new TokenPool({ tokens: [{ label: 'x', token }], store: store.tokens });
    await pool.choose();
    pool.remember('11111111-1111-4111-8111-111111111111', 'x');
    pool.observe(
      'x',
      429,
      JSON.stringify({ detail: { code: 'model_cap_exceeded', clears_in: 60 } }),
    );
    pool.observe('x', 401, JSON.stringify({ detail: { code: 'token_expired' } }));
    const release = await pool.acquireMessageSlot('x');
    const cache = store.conversations({ max: 10, maxSize: 100_000, ttl: 60_000 });
    await cache.set(token, 'conv', {
      conversation: { title: 't', mapping: {}, current_node: '', conversation_id: 'conv' },
      complete: true,
    } as never);
    await tick(50);
    const raw = new Redis(url);
    t.teardown(() => raw.quit());
    const keys = await raw.keys('scan:*');
    t.ok(keys.length >= 5, `${keys.length} keys written`);
    const dump: string[] = [...keys];
    for (const key of keys) {
      const type = await raw.type(key);
      if (type === 'string') dump.push((await raw.get(key)) ?? '');
      if (type === 'hash') dump.push(JSON.stringify(await raw.hgetall(key)));
      if (type === 'set') dump.push(...(await raw.smembers(key)));
      if (type === 'zset') dump.push(...(await raw.zrange(key, 0, -1)));
      t.ok((await raw.pttl(key)) > 0, `${key} has a TTL`);
    }
    const text = dump.join('\n');
    t.notOk(text.includes(token), 'the token is nowhere');
    t.ok(text.includes(accountOf(token)), 'its hash names it');
    release();
  });
}
