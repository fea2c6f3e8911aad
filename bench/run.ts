/**
 * `npm run bench [-- --quick]`: what the middleware costs, side by side, in one run.
 *
 * Topology (all on 127.0.0.1): this orchestrator (idle while measuring) forks
 * - one emulator process (the upstream, re-configured between cases),
 * - one load-generator process (HTTP keep-alive clients and the SSE client),
 * - one server process at a time: the http-proxy-3 pass-through, the plain Node bridge, Express,
 *   Fastify, Koa or the sidecar, which measures its own CPU, RSS and event-loop delay.
 * The direct baseline sends the raw `/backend-api` calls a REST call maps to, to the emulator.
 * Writes `bench/results/latest.json`, `docs/benchmarks.md` and `docs/benchmarks-throughput.svg`.
 */
import { mkdirSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { spawnChild, type Child, type Stalls } from './lib/ipc.js';
import { loadAtStart, measuredRevision } from './lib/revision.js';
import { round } from './lib/stats.js';
import { foldHttp, foldStreams, type HttpWindow } from './lib/windows.js';
import type {
  HttpJob,
  HttpResult,
  RequestSpec,
  Seeded,
  ServerConfig,
  ServerStats,
  StreamJob,
  StreamResult,
  TargetKind,
} from './lib/types.js';
import { fetchStream, parseRow, timeParse, type ParseRow } from './parse-time.js';
import type { BenchResults, HttpCase, MassRow, StreamRow, TargetResult } from './results.js';
import { sharedStateCases } from './shared-state.js';
import { checkTargets } from './targets.js';
import { writeResults } from './write-docs.js';

const quick = process.argv.includes('--quick');
/** `--only=node,fastify`: measure only these targets (plus nothing else); for working on the bench. */
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');

/** `--mass-only`: only the many-stream cases (peak RSS), for working on per-stream memory. */
const massOnly = process.argv.includes('--mass-only');

const profile = quick
  ? {
      warmupMs: 250,
      durationMs: 1000,
      windows: 3,
      streamRounds: 1,
      parseRuns: 7,
      massKinds: ['node'],
      massSizes: [5000],
    }
  : {
      warmupMs: 1000,
      durationMs: 3000,
      windows: 3,
      streamRounds: 2,
      parseRuns: 15,
      massKinds: ['passthrough', 'node', 'fastify', 'sidecar'],
      massSizes: [1000, 5000],
    };

const CONNECTIONS = 50;
/** The paced ask: 50 clients, this many requests per second in all (well below saturation). */
const PACED_RATE = 50;
const STREAM_CLIENTS = 50;
/**
 * The long-conversation ask: this many conversations of this many turns (2 nodes each, ~1 MB of
 * JSON per tree), so that all of them fit the mounts' default cache (50 MiB) with room to grow.
 */
const LONG_CONVERSATIONS = 10;
const LONG_TURNS = 500;

/** Upstream configurations: replies at full speed, realistic pacing, and many slow streams. */
const FAST = { pacingMs: 0, chunk: { by: 'token', size: 2 }, replyWords: 40 } as const;
const PACED = { pacingMs: 25, chunk: { by: 'token', size: 2 }, replyWords: 40 } as const;
const MASS = { pacingMs: 5000, chunk: { by: 'token', size: 30 }, replyWords: 120 } as const;
/** Streams opened per batch and the gap between batches of the 1,000/5,000-stream cases. */
const MASS_BATCH = 50;
const MASS_GAP_MS = 200;

const TARGETS: { name: string; kind: TargetKind | 'direct' }[] = [
  { name: 'direct (emulator)', kind: 'direct' },
  { name: 'http-proxy-3 pass-through', kind: 'passthrough' },
  { name: 'Node bridge', kind: 'node' },
  { name: 'Node bridge, metrics on', kind: 'node-metrics' },
  { name: 'Express 5', kind: 'express' },
  { name: 'Fastify 5', kind: 'fastify' },
  { name: 'Koa 3', kind: 'koa' },
  { name: 'sidecar (@chatgpt-rest/server)', kind: 'sidecar' },
];

const log = (line: string): void => {
  process.stderr.write(
    `[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)}s] ${line}\n`,
  );
};
const startedAt = Date.now();
const revision = measuredRevision();
const startLoad = loadAtStart();

const json = { 'content-type': 'application/json' };
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** The raw backend call of an ask (what `POST /conversations/{id}/ask` sends upstream). */
function backendAsk(seeded: Seeded): RequestSpec {
  return {
    method: 'POST',
    path: '/backend-api/conversation',
    headers: { ...bearer(seeded.token), ...json, accept: 'text/event-stream' },
    body: JSON.stringify({
      action: 'next',
      model: 'auto',
      conversation_id: seeded.conversationId,
      parent_message_id: seeded.parentId,
      messages: [
        {
          id: '{uuid}',
          author: { role: 'user' },
          content: { content_type: 'text', parts: ['Go on.'] },
        },
      ],
    }),
  };
}

function restAsk(seeded: Seeded, stream: boolean): RequestSpec {
  return {
    method: 'POST',
    path: `/conversations/${seeded.conversationId}/ask`,
    headers: {
      ...bearer(seeded.token),
      ...json,
      ...(stream ? { accept: 'text/event-stream' } : {}),
    },
    body: JSON.stringify({ prompt: 'Go on.', parent_id: seeded.parentId, stream }),
  };
}

/** `POST /v1/chat/completions` (a new temporary conversation per call, as chat clients start). */
function completion(seeded: Seeded, stream: boolean): RequestSpec {
  return {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { ...bearer(seeded.token), ...json },
    body: JSON.stringify({
      model: 'auto',
      messages: [{ role: 'user', content: 'Go on.' }],
      stream,
    }),
  };
}

/** A case measured on its own server: where to send, what, and whose CPU to read. */
interface Measured {
  base: string;
  requests: RequestSpec[];
  server: Child | undefined;
}

interface Seeds {
  list: Seeded;
  messages: Seeded;
  ask: Seeded[];
  /** Conversations of about 1,000 nodes, seeded afresh for each mount (`seedLong`). */
  long: Seeded[];
  streams: Seeded[];
  parse: Seeded;
}

function specs(kind: TargetKind | 'direct', seeds: Seeds) {
  const raw = kind === 'direct' || kind === 'passthrough';
  return {
    list: [
      raw
        ? {
            method: 'GET',
            path: '/backend-api/conversations?offset=0&limit=10',
            headers: bearer(seeds.list.token),
          }
        : { method: 'GET', path: '/conversations?limit=10', headers: bearer(seeds.list.token) },
    ] satisfies RequestSpec[],
    messages: [
      raw
        ? {
            method: 'GET',
            path: `/backend-api/conversation/${seeds.messages.conversationId}`,
            headers: bearer(seeds.messages.token),
          }
        : {
            method: 'GET',
            path: `/conversations/${seeds.messages.conversationId}/messages`,
            headers: bearer(seeds.messages.token),
          },
    ] satisfies RequestSpec[],
    ask: seeds.ask.map((s) => (raw ? backendAsk(s) : restAsk(s, false))),
    askLong: seeds.long.map((s) => restAsk(s, false)),
    /** Reads each long and each short conversation once, so the mount caches both kinds. */
    prime: [...seeds.long, ...seeds.ask].map((s) => ({
      method: 'GET' as const,
      path: `/conversations/${s.conversationId}/messages`,
      headers: bearer(s.token),
    })),
    completions: (stream: boolean) => seeds.ask.map((s) => completion(s, stream)),
    stream: (n: number) =>
      seeds.streams.slice(0, n).map((s) => (raw ? backendAsk(s) : restAsk(s, true))),
    firstDelta: raw ? '"parts": \\["[^"]' : 'event: delta',
    end: raw ? '[DONE]' : 'event: done',
  };
}

/** Parse time of the stream reader for 16, 32 and 64 KiB replies, legacy and v1. */
async function parseMatrix(emulator: Child, upstream: string, token: string): Promise<ParseRow[]> {
  const rows: ParseRow[] = [];
  for (const kib of [16, 32, 64]) {
    const chars = kib * 1024;
    const variants: { encoding: 'legacy' | 'v1'; label: string; size: number }[] = [
      { encoding: 'legacy', label: '256 chars per event', size: 256 },
      { encoding: 'legacy', label: '64 events per reply', size: chars / 64 },
      { encoding: 'v1', label: '256 chars per event', size: 256 },
    ];
    for (const variant of variants) {
      await emulator.call('settings', {
        ...FAST,
        chunk: { by: 'char', size: variant.size },
        replyChars: chars,
      });
      const chunks = await fetchStream(upstream, token, variant.encoding);
      const ms = await timeParse(chunks, chars, profile.parseRuns);
      rows.push(parseRow(variant.encoding, variant.label, kib, chunks, ms));
    }
  }
  return rows;
}

/** Seeds the long conversations (`LONG_CONVERSATIONS` of `LONG_TURNS` turns) on tokens of `tag`. */
function seedLong(emulator: Child, tag: string): Promise<Seeded[]> {
  return emulator.call<Seeded[]>('long', {
    tokens: Array.from({ length: LONG_CONVERSATIONS }, (_, i) => `bench-long-${tag}-${i}`),
    turns: LONG_TURNS,
  });
}

/**
 * Reads each conversation of `requests` once so the mount caches it; a failed read is tried
 * again, twice at most (the last target's reads timed out, 504, in two full runs while every
 * target shared long conversations the earlier ones' asks had grown to ~13 MB each: the likely
 * cause, not a proven one).
 */
async function prime(
  load: Child,
  base: string,
  requests: RequestSpec[],
  name: string,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const primed = await load.call<HttpResult>('http', {
      base,
      connections: requests.length,
      warmupMs: 0,
      durationMs: 200,
      requests,
    });
    if (primed.errors === 0) return;
    const counts = `${JSON.stringify(primed.statusCounts)} (first: ${primed.firstError ?? '?'})`;
    if (attempt === 3) throw new Error(`priming the cache failed: ${counts}`);
    log(`${name}: priming the cache: ${counts}; again`);
  }
}

async function main(): Promise<void> {
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  log(`mode ${quick ? 'quick' : 'full'}; starting the emulator and the load generator`);
  const emulator = await spawnChild('emulator-child.ts');
  const load = await spawnChild('load-child.ts');
  const children: Child[] = [emulator, load];
  const stopAll = async (): Promise<void> => {
    await Promise.all(children.map((c) => c.stop()));
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    const upstream = await emulator.call<string>('url');
    const origin = new URL(upstream).origin;
    await emulator.call('settings', FAST);
    const streamTokens = Array.from({ length: 5000 }, (_, i) => `bench-stream-${i}`);
    const askTokens = Array.from({ length: CONNECTIONS }, (_, i) => `bench-ask-${i}`);
    const rich = await emulator.call<Seeded[]>('seed', {
      rich: ['bench-list'],
      conversations: 10,
      bare: [],
    });
    const [messages] = await emulator.call<Seeded[]>('seed', {
      rich: ['bench-msg'],
      conversations: 1,
      bare: [],
    });
    const bare = await emulator.call<Seeded[]>('seed', {
      rich: [],
      conversations: 0,
      bare: [...askTokens, ...streamTokens, 'bench-parse'],
    });
    log(`seeded ${bare.length + rich.length + 1} conversations`);
    await emulator.call('checkpoint');
    /** The emulator back to its seeded conversations, so no target pays for the earlier ones'. */
    const rewind = async (when: string): Promise<void> => {
      const { removed, heapMB } = await emulator.call<{ removed: number; heapMB: number }>(
        'rewind',
      );
      log(`${when}: emulator rewound (${removed} conversations forgotten; heap ${heapMB} MB)`);
    };

    const list = rich[0];
    const parse = bare.at(-1);
    if (list === undefined || messages === undefined || parse === undefined)
      throw new Error('seeding failed');
    const seeds: Seeds = {
      list,
      messages,
      ask: bare.slice(0, CONNECTIONS),
      long: [],
      streams: bare.slice(CONNECTIONS, CONNECTIONS + streamTokens.length),
      parse,
    };
    // The pass-through again, alive all run: each mount's ratio cases alternate windows with it.
    const floorServer = massOnly
      ? undefined
      : await spawnChild('server-child.ts', [
          JSON.stringify({ kind: 'passthrough', upstream, cache: true } satisfies ServerConfig),
        ]);
    if (floorServer !== undefined) children.push(floorServer);
    const floorBase = (await floorServer?.call<string>('url')) ?? origin;
    const http = async (
      base: string,
      requests: RequestSpec[],
      server: Child | undefined,
      rate?: number,
    ): Promise<HttpCase> => {
      const job = { ...httpJob(rate), base, requests };
      const [only] = await interleaved(job, [{ base, requests, server }]);
      if (only === undefined) throw new Error('no case measured');
      return only;
    };
    const httpJob = (rate?: number): HttpJob => ({
      base: '',
      connections: CONNECTIONS,
      warmupMs: 0,
      durationMs: profile.warmupMs,
      requests: [],
      ...(rate === undefined ? {} : { rate }),
    });
    /**
     * Cases measured in alternating windows, so that a drift of the machine hits each alike; each
     * case on its own server (a mount and the pass-through, say), whose CPU is read per window.
     */
    const interleaved = async (job: HttpJob, sets: Measured[]): Promise<HttpCase[]> => {
      for (const { base, requests } of sets) {
        await load.call<HttpResult>('http', { ...job, base, requests });
      }
      const runs = sets.map((): HttpWindow[] => []);
      const stalls = async () => {
        const [upstream, client] = await Promise.all(
          [emulator, load].map((child) => child.call<Stalls>('stalls')),
        );
        return {
          upstreamMs: upstream?.maxMs ?? 0,
          clientMs: client?.maxMs ?? 0,
          upstreamGcMaxMs: upstream?.gcMaxMs ?? 0,
          upstreamGcTotalMs: upstream?.gcTotalMs ?? 0,
        };
      };
      for (let window = 0; window < profile.windows; window++) {
        // Alternate the order too (A B, B A, …), so no case always follows the other.
        const order = [...sets.entries()];
        if (window % 2 === 1) order.reverse();
        for (const [i, { base, requests, server }] of order) {
          await server?.call('begin');
          await stalls();
          const result = await load.call<HttpResult>('http', {
            ...job,
            base,
            requests,
            durationMs: profile.durationMs,
          });
          const stats = await server?.call<ServerStats>('end');
          runs[i]?.push({
            result,
            stalls: await stalls(),
            ...(stats === undefined ? {} : { server: stats }),
          });
        }
      }
      return runs.map(foldHttp);
    };
    const streams = async (
      base: string,
      job: Omit<StreamJob, 'base'>,
      server: Child | undefined,
    ) => {
      await server?.call('begin');
      const result = await load.call<StreamResult>('streams', { ...job, base });
      const stats = await server?.call<ServerStats>('end');
      return { result, ...(stats === undefined ? {} : { server: stats }) };
    };

    const results: TargetResult[] = [];
    const massRows: MassRow[] = [];
    for (const target of TARGETS.filter((t) => only === undefined || only.includes(t.kind))) {
      await rewind(target.name);
      if (target.kind !== 'direct' && target.kind !== 'passthrough' && !massOnly) {
        // Long conversations of its own: each ask adds two nodes, and the earlier targets'
        // asks (~60,000 of them) had grown shared ones to ~13,000 nodes (~13 MB of JSON).
        const seeding = Date.now();
        // Built through HTTP turn by turn: at the mass cases' pacing (30 s an event) it never ends.
        await emulator.call('settings', FAST);
        seeds.long = await seedLong(emulator, target.kind);
        log(
          `${target.name}: seeded ${seeds.long.length} conversations of ${LONG_TURNS} turns (${((Date.now() - seeding) / 1000).toFixed(1)} s)`,
        );
      }
      const spec = specs(target.kind, seeds);
      const row: TargetResult = {
        name: target.name,
        kind: target.kind,
        available: true,
        cases: {},
      };
      results.push(row);
      let server: Child | undefined;
      let cold: Promise<Child> | undefined;
      let base = origin;
      const startServer = async (cache: boolean): Promise<Child> => {
        const config: ServerConfig = { kind: target.kind as TargetKind, upstream, cache };
        const child = await spawnChild('server-child.ts', [JSON.stringify(config)]);
        children.push(child);
        return child;
      };
      try {
        if (target.kind !== 'direct') {
          // The cache-off instance for the cold case starts alongside; it idles until then.
          if (target.kind !== 'passthrough' && !massOnly) cold = startServer(false);
          server = await startServer(true);
          base = await server.call<string>('url');
        }
      } catch (error) {
        row.available = false;
        row.note = `TODO: could not start (${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)})`;
        log(`${target.name}: ${row.note}`);
        continue;
      }
      if (!massOnly) {
        log(`${target.name}: request/response cases`);
        await emulator.call('settings', FAST);
        const mount = target.kind !== 'direct' && target.kind !== 'passthrough';
        // A mount's ratio cases alternate windows with the pass-through's for the same calls.
        const floorSpec = specs('passthrough', seeds);
        const floorOf = (requests: RequestSpec[]): Measured[] =>
          mount ? [{ base: floorBase, requests, server: floorServer }] : [];
        const floor: NonNullable<TargetResult['floor']> = {};
        if (mount) row.floor = floor;
        [row.cases.list, floor.list] = await interleaved({ ...httpJob(), base }, [
          { base, requests: spec.list, server },
          ...floorOf(floorSpec.list),
        ]);
        if (target.kind === 'direct' || target.kind === 'passthrough') {
          row.cases.messagesCold = await http(base, spec.messages, server);
        } else {
          row.cases.messagesWarm = await http(base, spec.messages, server);
        }
        if (target.kind === 'direct' || target.kind === 'passthrough') {
          row.cases.ask = await http(base, spec.ask, server);
        } else {
          // The long conversation's floor is this target's own ask into a small one; both cached.
          await prime(load, base, spec.prime, target.name);
          [row.cases.ask, row.cases.askLong, floor.ask] = await interleaved(
            { ...httpJob(), base },
            [
              { base, requests: spec.ask, server },
              { base, requests: spec.askLong, server },
              ...floorOf(floorSpec.ask),
            ],
          );
        }
        row.cases.askPaced = await http(base, spec.ask, server, PACED_RATE);
        if (target.kind !== 'direct' && target.kind !== 'passthrough') {
          // The baselines' raw message POST (the `ask` row) is the floor of these too.
          row.cases.completions = await http(base, spec.completions(false), server);
          row.cases.completionsStream = await http(base, spec.completions(true), server);
          await rewind(`${target.name}, after the completions`);
        }

        log(`${target.name}: paced streams`);
        await emulator.call('settings', PACED);
        const pacedRuns = [];
        const floorRuns = [];
        const pacedJob = (paced: typeof spec) => ({
          requests: paced.stream(STREAM_CLIENTS),
          streams: STREAM_CLIENTS,
          batchSize: STREAM_CLIENTS,
          batchGapMs: 0,
          firstDeltaMarker: paced.firstDelta,
          endMarker: paced.end,
          timeoutMs: 60_000,
          rounds: profile.streamRounds,
        });
        for (let window = 0; window < profile.windows; window++) {
          // A mount's windows alternate with the pass-through's, in turns (A B, B A, …).
          const own = () => streams(base, pacedJob(spec), server);
          const pass = () => streams(floorBase, pacedJob(floorSpec), floorServer);
          if (mount && window % 2 === 1) floorRuns.push(await pass());
          pacedRuns.push(await own());
          if (mount && window % 2 === 0) floorRuns.push(await pass());
        }
        if (floorRuns.length > 0) floor.stream = foldStreams(floorRuns);
        row.stream = foldStreams(pacedRuns) satisfies StreamRow;
      }
      if (server !== undefined) await server.stop();
      if (server !== undefined && profile.massKinds.includes(target.kind)) {
        await emulator.call('settings', MASS);
        for (const size of profile.massSizes) {
          // A fresh process per size: its peak RSS is the streams', not what the earlier cases
          // left in its heap and cache (the pass-through has no cache to fill).
          log(`${target.name}: ${size} concurrent streams (a fresh process)`);
          const fresh = await startServer(true);
          const mass = await streams(
            await fresh.call<string>('url'),
            {
              requests: spec.stream(size),
              streams: size,
              batchSize: MASS_BATCH,
              batchGapMs: MASS_GAP_MS,
              firstDeltaMarker: spec.firstDelta,
              endMarker: spec.end,
              timeoutMs: 150_000,
            },
            fresh,
          );
          await fresh.stop();
          if (mass.server === undefined) throw new Error('no server stats');
          massRows.push({
            name: target.name,
            kind: target.kind,
            size,
            ...mass.result,
            server: mass.server,
          });
        }
      }
      if (cold !== undefined) {
        log(`${target.name}: cold /messages (cache off)`);
        await emulator.call('settings', FAST);
        const coldServer = await cold;
        row.cases.messagesCold = await http(
          await coldServer.call<string>('url'),
          spec.messages,
          coldServer,
        );
        await coldServer.stop();
      }
    }

    await rewind('after the targets');
    const sharedState = massOnly
      ? undefined
      : await sharedStateCases({
          load,
          emulator,
          upstream,
          children,
          connections: CONNECTIONS,
          windows: profile.windows,
          warmupMs: profile.warmupMs,
          durationMs: profile.durationMs,
          streamRounds: profile.streamRounds,
          settings: { fast: FAST, paced: PACED },
          log,
        });

    log('long replies: parse time of the stream reader');
    let parseRows: ParseRow[] = [];
    // Two passes over the matrix; the first warms the reader up, the second is kept.
    for (let pass = 0; pass < (massOnly ? 0 : 2); pass++)
      parseRows = await parseMatrix(emulator, upstream, seeds.parse.token);
    await emulator.call('settings', FAST);

    const cpu = cpus();
    const bench: BenchResults = {
      meta: {
        date: new Date().toISOString(),
        commit: revision,
        loadAtStart: startLoad,
        mode: quick ? 'quick' : 'full',
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        kernel: release(),
        cpus: cpu.length,
        cpuModel: cpu[0]?.model.trim() ?? 'unknown',
        memoryGiB: round(totalmem() / 1024 ** 3, 1),
        durationSeconds: round((Date.now() - startedAt) / 1000, 0),
        connections: CONNECTIONS,
        pacedRate: PACED_RATE,
        measureMs: profile.durationMs,
        windows: profile.windows,
        warmupMs: profile.warmupMs,
        streamClients: STREAM_CLIENTS,
        streamRounds: profile.streamRounds,
        upstream: { fast: FAST, paced: PACED, mass: MASS },
      },
      targets: results,
      mass: massRows,
      parse: parseRows,
      sharedState,
      checks: [],
    };
    bench.checks = checkTargets(bench);
    bench.meta.durationSeconds = round((Date.now() - startedAt) / 1000, 0);
    await writeResults(bench);
    log('wrote bench/results/latest.json, docs/benchmarks.md and docs/benchmarks-throughput.svg');
    for (const check of bench.checks)
      log(`${check.met ? '✓' : '✗'} ${check.target}: ${check.measured}`);
  } finally {
    await stopAll();
  }
}

await main();
