import t, { type Test } from 'tap';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { accountOf, createHandler } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { chatGptRoutes } from '@chatgpt-rest/express';
import { createRedisStore, hashOf } from '@chatgpt-rest/redis-store';
import { REDIS_MISSING, readReply, startRedisServer } from '@chatgpt-rest/test-kit';

// The core's `store` option takes a store made by @chatgpt-rest/redis-store (the README's
// snippet, on Express), from a URL or from the application's own ioredis client; the settings
// themselves (`{ redis: url }`) are refused with a sentence that says how, never echoing them.
const PASSWORD = 'canary-store-option-password';

t.test('store settings instead of a store: a TypeError that says how, no secret', (t) => {
  const url = `redis://:${PASSWORD}@cache.internal:6379`;
  for (const store of [{ redis: url }, { url }, 'redis://cache:6379', { tokens: {} }]) {
    const error = t.throws(() => createHandler({ store: store as never }), TypeError) as Error;
    t.match(error.message, /createRedisStore\(\{ url \} or \{ client \}\)/);
    t.notOk(error.message.includes(PASSWORD), 'the URL is not echoed');
  }
  t.end();
});

const redis = await startRedisServer();
if (redis === undefined) {
  t.comment(REDIS_MISSING);
} else {
  t.teardown(() => redis.stop());
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  const held = { label: 'shared', token: 'store-option-held-token' };
  const raw = new Redis(redis.url);
  t.teardown(() => raw.quit());

  /** The README's Express snippet with `store`; resolves with the base URL and a stop(). */
  const serve = async (
    store: ReturnType<typeof createRedisStore>,
  ): Promise<{ url: string; stop: () => Promise<void> }> => {
    const app = express();
    app.use(
      '/chat',
      chatGptRoutes({
        upstream: emulator.url,
        dialect: 'legacy',
        auth: { mode: 'server', tokens: [held], apiKeys: ['app-key'] },
        store,
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/chat`,
      stop: () => new Promise((resolve) => server.close(() => resolve())),
    };
  };
  const newConversation = async (t: Test, url: string): Promise<string> => {
    const reply = await readReply(
      await fetch(`${url}/conversations/new`, {
        method: 'POST',
        headers: { authorization: 'Bearer app-key', 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'hello' }),
      }),
    );
    t.equal(reply.status, 201);
    return String(reply.json.response.conversation_id);
  };

  t.test('Express with store: createRedisStore({ url }): its state is in Redis', async (t) => {
    const store = createRedisStore({ url: redis.url, prefix: 'opt-url:' });
    await store.ready();
    const app = await serve(store);
    t.teardown(async () => {
      await app.stop();
      await store.close();
    });
    await newConversation(t, app.url);
    const keys = await raw.keys('opt-url:*');
    t.ok(
      keys.some((key) => key.startsWith('opt-url:sticky:')),
      'the conversation→token map',
    );
    t.ok(
      keys.some((key) => key.startsWith('opt-url:conv:')),
      'the conversation cache',
    );
  });

  t.test('store: createRedisStore({ client }): the application keeps its client', async (t) => {
    const client = new Redis(redis.url);
    t.teardown(() => client.quit());
    const store = createRedisStore({ client, prefix: 'opt-client:' });
    await store.ready();
    const app = await serve(store);
    const id = await newConversation(t, app.url);
    await app.stop();
    await store.close();
    t.equal(client.status, 'ready', 'closing the store leaves the client open');
    t.equal(
      await client.get(`opt-client:sticky:${hashOf(id)}`),
      accountOf(held.token),
      'the conversation sticks to the held token (by its hash) through the given client',
    );
  });
}
