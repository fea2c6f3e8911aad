/**
 * The cost of sharing: the sidecar with server-held tokens on its default in-memory store and on
 * the Redis store (`@chatgpt-rest/redis-store`, a real redis-server on 127.0.0.1), measured in
 * the same run, windows alternating between the two so a drift of the machine hits both alike.
 * `GET /conversations` (a token chosen from the store's view: one MGET on Redis) and a streaming
 * new conversation (the token's lease taken, renewed and freed, the conversation remembered and
 * its tree cached). CPU is the sidecar's own and, for Redis, the redis-server's (INFO cpu).
 */
import { Redis } from 'ioredis';
import { startRedisServer } from '@chatgpt-rest/test-kit';
import { spawnChild, type Child } from './lib/ipc.js';
import type {
  HttpJob,
  HttpResult,
  RequestSpec,
  ServerConfig,
  ServerStats,
  StreamJob,
  StreamResult,
} from './lib/types.js';
import { foldHttp, foldStreams, spreadOf, type Spread } from './lib/windows.js';
import type { HttpCase, StreamRow } from './results.js';

/** One store's figures. */
export interface SharedStateRow {
  name: string;
  store: 'memory' | 'redis';
  list: HttpCase;
  stream: StreamRow;
  /** redis-server CPU per request / per reply in µs (median and spread of the windows). */
  redisCpuUs?: { list: Spread; stream: Spread };
}

export interface SharedState {
  heldTokens: number;
  rows: SharedStateRow[];
  /** Why nothing was measured (no redis-server). */
  note?: string;
}

export interface SharedStateSetup {
  load: Child;
  emulator: Child;
  upstream: string;
  children: Child[];
  connections: number;
  windows: number;
  warmupMs: number;
  durationMs: number;
  streamRounds: number;
  settings: { fast: object; paced: object };
  log: (line: string) => void;
}

const API_KEY = 'bench-shared-key';
const AUTH = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

async function redisCpuMs(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string): number =>
    Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

interface Measured<T> {
  result: T;
  server?: ServerStats;
  redisMs: number;
}

/** Measures `run` on each server in turn, `windows` times; returns each server's windows. */
async function alternate<T>(
  servers: Child[],
  windows: number,
  redis: Redis,
  run: (server: Child) => Promise<T>,
): Promise<Measured<T>[][]> {
  const out = servers.map((): Measured<T>[] => []);
  for (let window = 0; window < windows; window++) {
    for (const [i, server] of servers.entries()) {
      const redisBefore = await redisCpuMs(redis);
      await server.call('begin');
      const result = await run(server);
      const stats = await server.call<ServerStats>('end');
      out[i]?.push({ result, server: stats, redisMs: (await redisCpuMs(redis)) - redisBefore });
    }
  }
  return out;
}

const perUnit = (runs: Measured<unknown>[], units: (run: Measured<unknown>) => number): Spread =>
  spreadOf(runs.map((run) => (units(run) === 0 ? 0 : (run.redisMs * 1000) / units(run))));

export async function sharedStateCases(setup: SharedStateSetup): Promise<SharedState> {
  const { load, emulator, log } = setup;
  const heldTokens = setup.connections;
  const redisServer = await startRedisServer();
  if (redisServer === undefined) {
    log('shared state: redis-server not found (apt-get install redis-server); skipped');
    return { heldTokens, rows: [], note: 'redis-server not found: apt-get install redis-server' };
  }
  const redis = new Redis(redisServer.url);
  try {
    const tokens = Array.from({ length: heldTokens }, (_, i) => ({
      label: `held-${i}`,
      token: `bench-held-${i}`,
    }));
    await emulator.call('seed', { rich: [], conversations: 0, bare: tokens.map((t) => t.token) });
    const start = async (redisUrl?: string): Promise<Child> => {
      const config: ServerConfig = {
        kind: 'sidecar',
        upstream: setup.upstream,
        cache: true,
        held: { tokens, apiKeys: [API_KEY] },
        ...(redisUrl === undefined ? {} : { redisUrl }),
      };
      const child = await spawnChild('server-child.ts', [JSON.stringify(config)]);
      setup.children.push(child);
      return child;
    };
    const servers = [await start(), await start(redisServer.url)];
    const bases = await Promise.all(servers.map((s) => s.call<string>('url')));
    const baseOf = (server: Child): string => bases[servers.indexOf(server)] ?? '';

    log('shared state: GET /conversations, in memory vs Redis');
    await emulator.call('settings', setup.settings.fast);
    const list: RequestSpec[] = [{ method: 'GET', path: '/conversations?limit=10', headers: AUTH }];
    const job = (server: Child, durationMs: number): HttpJob => ({
      base: baseOf(server),
      connections: setup.connections,
      warmupMs: 0,
      durationMs,
      requests: list,
    });
    for (const server of servers) await load.call<HttpResult>('http', job(server, setup.warmupMs));
    const lists = await alternate(servers, setup.windows, redis, (server) =>
      load.call<HttpResult>('http', job(server, setup.durationMs)),
    );

    log('shared state: streaming new conversations, in memory vs Redis');
    await emulator.call('settings', setup.settings.paced);
    const ask: RequestSpec = {
      method: 'POST',
      path: '/conversations/new',
      headers: { ...AUTH, accept: 'text/event-stream' },
      body: JSON.stringify({ prompt: 'Go on.', stream: true }),
    };
    const streamJob = (server: Child): StreamJob => ({
      base: baseOf(server),
      requests: [ask],
      streams: setup.connections,
      batchSize: setup.connections,
      batchGapMs: 0,
      firstDeltaMarker: 'event: delta',
      endMarker: 'event: done',
      timeoutMs: 60_000,
      rounds: setup.streamRounds,
    });
    const streams = await alternate(servers, setup.windows, redis, (server) =>
      load.call<StreamResult>('streams', streamJob(server)),
    );
    await emulator.call('settings', setup.settings.fast);
    for (const server of servers) await server.stop();

    return {
      heldTokens,
      rows: (['memory', 'redis'] as const).map((store, i) => {
        const listRuns = lists[i] ?? [];
        const streamRuns = streams[i] ?? [];
        return {
          name: store === 'memory' ? 'sidecar, in-memory store' : 'sidecar, Redis store',
          store,
          list: foldHttp(listRuns),
          stream: foldStreams(streamRuns),
          ...(store === 'redis'
            ? {
                redisCpuUs: {
                  list: perUnit(listRuns, (run) => {
                    const result = run.result as HttpResult;
                    return result.requests + result.errors;
                  }),
                  stream: perUnit(streamRuns, (run) => (run.result as StreamResult).completed),
                },
              }
            : {}),
        };
      }),
    };
  } finally {
    await redis.quit();
    await redisServer.stop();
  }
}
