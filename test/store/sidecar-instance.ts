/**
 * One sidecar instance in a process of its own, on a Redis store, for the multi-instance test
 * (which SIGKILLs one mid-stream, as a crashing host would). Reads its settings as JSON from
 * argv[2], prints `{"url": …}` on one stdout line once it listens and Redis is ready, and exits
 * when its stdin ends (the test closed it, or the test process died).
 */
import { silentLogger, type HeldToken } from '@chatgpt-rest/core';
import { createRedisStore } from '@chatgpt-rest/redis-store';
import { createServer } from '@chatgpt-rest/server';

/** What the test hands an instance. */
export interface InstanceSettings {
  upstream: string;
  redisUrl: string;
  prefix: string;
  tokens: HeldToken[];
  apiKeys: string[];
  leaseTtlMs: number;
  pollMs: number;
  queueSize: number;
  queueWait: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as InstanceSettings;
const store = createRedisStore({
  url: settings.redisUrl,
  prefix: settings.prefix,
  leaseTtlMs: settings.leaseTtlMs,
  pollMs: settings.pollMs,
});
const sidecar = createServer({
  upstream: settings.upstream,
  dialect: 'legacy',
  tokens: settings.tokens,
  apiKeys: settings.apiKeys,
  queueSize: settings.queueSize,
  queueWait: settings.queueWait,
  store,
  logger: silentLogger,
  port: 0,
  host: '127.0.0.1',
});
const url = await sidecar.listen();
await store.ready();
process.stdout.write(`${JSON.stringify({ url })}\n`);

process.stdin.resume();
process.stdin.once('end', () => {
  void sidecar
    .close(0)
    .then(() => store.close())
    .finally(() => process.exit(0));
});
