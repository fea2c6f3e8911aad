/**
 * Soak run (`npm run soak`, not part of `npm test`): mixed REST, streaming and pass-through
 * traffic against the sidecar on the built-in emulator, with injected upstream faults and random
 * client aborts, for SOAK_SECONDS (default 300). At the end it checks what a long-lived host
 * cares about: no leaked sockets or handles, the heap back near its start after GC, no 5xx but
 * the injected ones, no crash. Prints one JSON summary (and writes it with SOAK_OUT=path).
 *
 * Run with `--expose-gc` (the npm script does). Load, sidecar and emulator share this process,
 * so resource counts cover all three; every client connection is closed after its request.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { createBackendEmulator, type Fault } from '@chatgpt-rest/emulator';
import { silentLogger } from '@chatgpt-rest/core';
import { createServer } from '@chatgpt-rest/server';

const seconds = Number(process.env.SOAK_SECONDS ?? 300);
const workers = Number(process.env.SOAK_WORKERS ?? 16);
const MiB = 1024 * 1024;

/** Faults drawn for one request in ten; each answer may then be a 5xx (counted apart). */
const FAULTS: Fault[] = [
  { type: 'server_error' },
  { type: 'reset', afterEvents: 3 },
  { type: 'stall_mid_stream', afterEvents: 2, ms: 1500 },
  { type: 'end_without_done', afterEvents: 4 },
  { type: 'malformed_json', afterEvents: 2 },
  { type: 'cloudflare' },
  { type: 'rate_limit' },
  { type: 'stall_before_headers', ms: 1500 },
];

interface Tally {
  requests: number;
  byStatus: Record<string, number>;
  unexpected5xx: number;
  injected: number;
  aborted: number;
  crashes: number;
}

const tally: Tally = {
  requests: 0,
  byStatus: {},
  unexpected5xx: 0,
  injected: 0,
  aborted: 0,
  crashes: 0,
};
process.on('uncaughtException', (error) => {
  tally.crashes++;
  console.error('uncaught', error);
});
process.on('unhandledRejection', (error) => {
  tally.crashes++;
  console.error('unhandled rejection', error);
});

/** One request on a fresh connection; `abortAfterMs` cuts it mid-answer like a leaving client. */
function send(
  base: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
  abortAfterMs?: number,
): Promise<number> {
  const url = new URL(path, base);
  return new Promise((resolve) => {
    const request = http.request(url, {
      method,
      agent: false,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
    });
    request.on('error', () => resolve(0));
    request.on('response', (res) => {
      if (abortAfterMs !== undefined) {
        setTimeout(() => {
          request.destroy();
          resolve(-1);
        }, abortAfterMs);
      }
      let head = '';
      res.on('data', (chunk: Buffer) => {
        if (head.length < 300) head += chunk.toString();
      });
      res.on('end', () => {
        if (res.statusCode === 500 && samples.length < 5) samples.push(`${method} ${path} ${head}`);
        resolve(res.statusCode ?? 0);
      });
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The first few 500 answers, to show what went wrong. */
const samples: string[] = [];

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

/** One worker: random calls until the deadline. */
async function worker(
  index: number,
  base: string,
  emulator: Awaited<ReturnType<typeof createBackendEmulator>>,
  deadline: number,
): Promise<void> {
  const own = `soak-token-${index}`;
  let conversation: string | undefined;
  for (let n = 0; Date.now() < deadline; n++) {
    const inject = Math.random() < 0.1;
    // A faulted call gets a token of its own: a fault its call did not use (a stream fault on
    // a JSON call) must not land on a later, unfaulted one.
    const token = inject ? `soak-fault-${index}-${n}` : own;
    if (inject) emulator.inject({ match: { token }, fault: pick(FAULTS) });
    const roll = Math.random();
    let status: number;
    if (roll < 0.3) {
      status = await send(base, 'POST', '/conversations/new', token, {
        prompt: 'soak',
        stream: false,
      });
    } else if (roll < 0.55) {
      const abort = Math.random() < 0.3 ? 5 + Math.random() * 40 : undefined;
      status = await send(
        base,
        'POST',
        '/conversations/new',
        token,
        { prompt: 's', stream: true },
        abort,
      );
    } else if (roll < 0.7) {
      status = await send(base, 'GET', '/conversations?limit=5', token);
    } else if (roll < 0.8 && conversation !== undefined) {
      status = await send(base, 'GET', `/conversations/${conversation}/messages`, token);
    } else {
      status = await send(base, 'GET', '/backend-api/conversations?offset=0&limit=3', token);
    }
    if (conversation === undefined && status === 201 && !inject) {
      conversation = await firstId(base, token);
    }
    record(status, inject);
  }
}

async function firstId(base: string, token: string): Promise<string | undefined> {
  const response = await fetch(new URL('/conversations?limit=1', base), {
    headers: { authorization: `Bearer ${token}` },
  });
  const list = (await response.json().catch(() => [])) as { id?: string }[];
  return Array.isArray(list) ? list[0]?.id : undefined;
}

function record(status: number, injected: boolean): void {
  tally.requests++;
  if (status === -1) tally.aborted++;
  tally.byStatus[status] = (tally.byStatus[status] ?? 0) + 1;
  if (injected) tally.injected++;
  else if (status >= 500 || status === 0) tally.unexpected5xx++;
}

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc (npm run soak does)');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const emulator = await createBackendEmulator({ dialect: 'both', pacingMs: 2 });
  const sidecar = createServer({
    upstream: emulator.url,
    dialect: 'legacy',
    logger: silentLogger,
    core: { timeouts: { headers: 1000, idle: 1000 } },
  });
  const base = await sidecar.listen();
  // Warm up (JIT, pools), then take the baseline.
  await Promise.all(
    Array.from({ length: workers }, (_, i) => worker(i, base, emulator, Date.now() + 3000)),
  );
  emulator.reset();
  await settle(6000);
  const start = { heap: heapAfterGc(), rss: process.memoryUsage().rss, resources: resources() };
  Object.assign(tally, { requests: 0, byStatus: {}, unexpected5xx: 0, injected: 0, aborted: 0 });
  const began = Date.now();
  const deadline = began + seconds * 1000;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 500);
  // The emulator shares this process and records every request and conversation: forget them
  // now and then, so that the heap measured is the sidecar's (its later 404s are not 5xx).
  const forget = setInterval(() => emulator.reset(), 10_000);
  await Promise.all(Array.from({ length: workers }, (_, i) => worker(i, base, emulator, deadline)));
  clearInterval(sampler);
  clearInterval(forget);
  emulator.reset();
  await settle(6000); // stalls, idle timeouts and keep-alive sockets (5 s) end
  const end = { heap: heapAfterGc(), rss: process.memoryUsage().rss, resources: resources() };
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    seconds,
    workers,
    requests: tally.requests,
    requestsPerSecond: Math.round(tally.requests / ((Date.now() - began) / 1000)),
    byStatus: tally.byStatus,
    injectedFaults: tally.injected,
    clientAborts: tally.aborted,
    unexpected5xx: tally.unexpected5xx,
    crashes: tally.crashes,
    heapStartMiB: +(start.heap / MiB).toFixed(1),
    heapEndMiB: +(end.heap / MiB).toFixed(1),
    peakRssMiB: +(peakRss / MiB).toFixed(1),
    resourcesStart: start.resources,
    resourcesEnd: end.resources,
    liveStreams: sidecar.passThrough?.active ?? 0,
    samplesOf500: samples,
  };
  await sidecar.close(1000);
  await emulator.close();
  const text = JSON.stringify(summary, null, 2);
  console.log(text);
  if (process.env.SOAK_OUT !== undefined) writeFileSync(process.env.SOAK_OUT, `${text}\n`);
  const sockets = (r: Record<string, number>) => r.TCPSocketWrap ?? 0;
  const leaked = sockets(end.resources) > sockets(start.resources);
  const grew = end.heap > start.heap * 1.5 + 8 * MiB;
  const ok = !leaked && !grew && tally.unexpected5xx === 0 && tally.crashes === 0;
  console.log(ok ? 'soak: ok' : 'soak: FAILED');
  process.exitCode = ok ? 0 : 1;
}

await main();
