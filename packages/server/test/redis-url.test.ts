import t from 'tap';
import { Redis } from 'ioredis';
import { REDIS_MISSING, startRedisServer } from '@chatgpt-rest/test-kit';
import { main } from '../src/cli.js';
import { helpText, loadConfig } from '../src/config.js';

const PASSWORD = 'canary-cli-redis-password-3e9d';

function capture(): { io: Parameters<typeof main>[2]; lines: string[] } {
  const lines: string[] = [];
  const push = (line: string): number => lines.push(line);
  return { io: { out: push, err: push, log: push }, lines };
}

t.test('--redis-url / CHATGPT_REST_REDIS_URL: in the table, checked, never echoed', async (t) => {
  t.match(helpText(), /--redis-url <value>[\s\S]*\[env CHATGPT_REST_REDIS_URL\]/);
  const read = (argv: string[], env = {}) => {
    const loaded = loadConfig(argv, env);
    return loaded.help ? undefined : loaded.config.redisUrl;
  };
  t.equal(read([]), undefined, 'none: state in memory');
  t.equal(read([], { CHATGPT_REST_REDIS_URL: 'redis://h:6379' }), 'redis://h:6379');
  t.equal(read(['--redis-url', 'rediss://h:1/2']), 'rediss://h:1/2');
  const { io, lines } = capture();
  const bad = `http://:${PASSWORD}@h:1`;
  t.equal(await main([], { CHATGPT_REST_REDIS_URL: bad }, io), 2);
  t.match(lines.join('\n'), /CHATGPT_REST_REDIS_URL must be redis:\/\//);
  t.notOk(lines.join('\n').includes(PASSWORD), 'the refusal does not print the URL');
});

t.test(
  '--redis-cache-max / CHATGPT_REST_REDIS_CACHE_MAX: checked, only with a Redis URL',
  async (t) => {
    t.match(
      helpText(),
      /--redis-cache-max <value>[\s\S]*only with --redis-url[\s\S]*\[env CHATGPT_REST_REDIS_CACHE_MAX\]/,
    );
    const read = (argv: string[], env = {}) => {
      const loaded = loadConfig(argv, env);
      return loaded.help ? undefined : loaded.config.redisCacheMax;
    };
    const url = ['--redis-url', 'redis://h:1'];
    t.equal(read(url), undefined, "none: the Redis store's default");
    t.equal(read([...url, '--redis-cache-max', '50000']), 50_000);
    t.equal(read(url, { CHATGPT_REST_REDIS_CACHE_MAX: '7' }), 7);
    for (const bad of ['0', '-1', '1.5', 'many', '10000001']) {
      t.throws(() => read([...url, `--redis-cache-max=${bad}`]), {
        message: /--redis-cache-max \/ CHATGPT_REST_REDIS_CACHE_MAX must be an integer from 1/,
      });
    }
    const { io, lines } = capture();
    t.equal(
      await main([], { CHATGPT_REST_REDIS_CACHE_MAX: '5' }, io),
      2,
      'refused without --redis-url',
    );
    t.match(lines.join('\n'), /CHATGPT_REST_REDIS_CACHE_MAX applies only with --redis-url/);
  },
);

const redis = await startRedisServer({ password: PASSWORD });
if (redis === undefined) {
  t.comment(REDIS_MISSING);
} else {
  t.teardown(() => redis.stop());
  t.test('the CLI serves on Redis and prints the URL without its password', async (t) => {
    const { io, lines } = capture();
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const env = {
      CHATGPT_REST_REDIS_URL: redis.url,
      CHATGPT_REST_TOKENS: 'only=canary-cli-held-token',
      CHATGPT_REST_API_KEYS: 'cli-key',
    };
    const argv = ['--emulator', '--port', '0', '--redis-cache-max', '1'];
    const running = main(argv, env, io, stopped);
    while (!lines.some((line) => line.includes('shared state on Redis')))
      await new Promise((resolve) => setTimeout(resolve, 10));
    const url = /listening on (\S+)/.exec(lines.join('\n'))?.[1] ?? '';
    t.match(lines.join('\n'), `shared state on Redis redis://***@127.0.0.1:${redis.port}`);
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await fetch(`${url}/readyz`)).status;
      if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.equal(ready, 200, 'ready once Redis answers');
    for (const prompt of ['hello', 'again']) {
      const created = await fetch(`${url}/conversations/new`, {
        method: 'POST',
        headers: { authorization: 'Bearer cli-key', 'content-type': 'application/json' },
        body: JSON.stringify({ prompt }),
      });
      t.equal(created.status, 201);
    }
    const raw = new Redis(redis.url);
    t.teardown(() => raw.disconnect());
    t.equal(await raw.zcard('chatgpt-rest:convs'), 1, '--redis-cache-max 1: one cached in Redis');
    t.equal((await raw.keys('chatgpt-rest:conv:*')).length, 1);
    stop();
    t.equal(await running, 0);
    const all = lines.join('\n');
    t.notOk(all.includes(PASSWORD), 'no Redis password printed or logged');
    t.notOk(all.includes('canary-cli-held-token'), 'no held token printed or logged');
  });
}
