/**
 * The load generator, in its own process so its CPU does not share an event loop with the server
 * under test: closed-loop (or rate-paced) HTTP/1.1 keep-alive connections on `node:http`, and an
 * SSE client that opens many streams and times their first delta and last byte.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from './lib/ipc.js';
import { percentile } from './lib/stats.js';
import type { HttpJob, HttpResult, RequestSpec, StreamJob, StreamResult } from './lib/types.js';

interface Answer {
  status: number;
  bytes: number;
  /** The start of a failed answer's body (its first 300 bytes). */
  excerpt?: string;
}

/** The body with every `{uuid}` replaced by a fresh UUID (message ids must be new each time). */
function bodyOf(spec: RequestSpec): string | undefined {
  return spec.body?.replaceAll('{uuid}', () => randomUUID());
}

function send(base: URL, spec: RequestSpec, agent: Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...spec.headers };
    const body = bodyOf(spec);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        method: spec.method,
        path: spec.path,
        headers,
        agent,
      },
      (res) => {
        let bytes = 0;
        const status = res.statusCode ?? 0;
        let excerpt = status >= 200 && status < 300 ? undefined : '';
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (excerpt !== undefined && excerpt.length < 300) {
            excerpt = (excerpt + chunk.toString('utf8')).slice(0, 300);
          }
        });
        res.on('end', () =>
          resolve({ status, bytes, ...(excerpt === undefined ? {} : { excerpt }) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function runHttp(job: HttpJob): Promise<HttpResult> {
  const base = new URL(job.base);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: job.connections,
    maxFreeSockets: job.connections,
  });
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  let firstError: string | undefined;
  let bytes = 0;
  const started = performance.now();
  const measureFrom = started + job.warmupMs;
  const stopAt = measureFrom + job.durationMs;
  const interval = job.rate === undefined ? 0 : (job.connections * 1000) / job.rate;

  async function connection(index: number): Promise<void> {
    const spec = job.requests[index % job.requests.length];
    if (spec === undefined) throw new Error('no request spec');
    // Paced runs: connections start spread over one interval, then send once per interval.
    let next = started + (interval * index) / job.connections;
    for (;;) {
      if (interval > 0) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next += interval;
      }
      const t0 = performance.now();
      if (t0 >= stopAt) return;
      let status = 0;
      let why = '';
      try {
        const answer = await send(base, spec, agent);
        status = answer.status;
        why = answer.excerpt ?? '';
        if (t0 >= measureFrom) bytes += answer.bytes;
      } catch (error) {
        status = 0;
        why = error instanceof Error ? error.message : String(error);
      }
      const t1 = performance.now();
      if (t0 < measureFrom) continue;
      statusCounts[String(status)] = (statusCounts[String(status)] ?? 0) + 1;
      if (status < 200 || status >= 300) {
        errors++;
        firstError ??= `${status} after ${(t1 - t0).toFixed(0)} ms: ${why}`;
      } else latencies.push(t1 - t0);
    }
  }

  await Promise.all(Array.from({ length: job.connections }, (_, i) => connection(i)));
  const elapsed = Math.max(performance.now(), stopAt) - measureFrom;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const total = latencies.reduce((sum, value) => sum + value, 0);
  return {
    requests: latencies.length,
    errors,
    statusCounts,
    durationMs: elapsed,
    rps: (latencies.length * 1000) / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: latencies.length === 0 ? 0 : total / latencies.length,
    bytes,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

interface StreamTiming {
  firstDelta: number;
  lastByte: number;
  bytes: number;
}

async function runStreams(job: StreamJob): Promise<StreamResult> {
  const base = new URL(job.base);
  const first = new RegExp(job.firstDeltaMarker);
  const firstDelta: number[] = [];
  const lastByte: number[] = [];
  const failures: string[] = [];
  const live = new Set<IncomingMessage>();
  /** Requests sent and not yet closed (answered or not). */
  const pending = new Set<ClientRequest>();
  let open = 0;
  let peakOpen = 0;
  let bytes = 0;
  let timedOut = false;
  let failed = 0;
  const rounds = job.rounds ?? 1;

  function stream(spec: RequestSpec): Promise<StreamTiming> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const headers: Record<string, string> = { ...spec.headers };
      const body = bodyOf(spec);
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          method: spec.method,
          path: spec.path,
          headers,
          agent: false,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`status ${String(res.statusCode)}`));
            return;
          }
          live.add(res);
          open++;
          if (open > peakOpen) peakOpen = open;
          res.setEncoding('utf8');
          let tail = '';
          let firstAt = 0;
          let size = 0;
          let ended = false;
          res.on('data', (chunk: string) => {
            size += chunk.length;
            const window = tail + chunk;
            if (firstAt === 0 && first.test(window)) firstAt = performance.now();
            if (!ended && window.includes(job.endMarker)) ended = true;
            tail = window.slice(-256);
          });
          res.on('close', () => {
            live.delete(res);
            open--;
            const end = performance.now();
            if (!ended) reject(new Error(timedOut ? 'timed out' : 'ended without the end marker'));
            else resolve({ firstDelta: firstAt - t0, lastByte: end - t0, bytes: size });
          });
        },
      );
      pending.add(req);
      req.once('close', () => pending.delete(req));
      req.on('error', reject);
      req.end(body);
    });
  }

  async function slot(index: number): Promise<void> {
    const spec = job.requests[index % job.requests.length];
    if (spec === undefined) throw new Error('no request spec');
    for (let round = 0; round < rounds; round++) {
      try {
        const timing = await stream(spec);
        firstDelta.push(timing.firstDelta);
        lastByte.push(timing.lastByte);
        bytes += timing.bytes;
      } catch (error) {
        if (failures.length < 20)
          failures.push(error instanceof Error ? error.message : String(error));
        else failures.length = 20;
        failed++;
      }
    }
  }

  const started = performance.now();
  const timer = setTimeout(() => {
    timedOut = true;
    for (const res of live) res.destroy();
    // Requests still waiting for their answer too: a job ends at its timeout, whatever the server does.
    for (const req of pending) req.destroy(new Error('timed out before the answer'));
  }, job.timeoutMs);
  const slots: Promise<void>[] = [];
  for (let i = 0; i < job.streams; i++) {
    slots.push(slot(i));
    if ((i + 1) % job.batchSize === 0 && i + 1 < job.streams) await sleep(job.batchGapMs);
  }
  await Promise.all(slots);
  clearTimeout(timer);
  firstDelta.sort((a, b) => a - b);
  lastByte.sort((a, b) => a - b);
  return {
    streams: job.streams * rounds,
    completed: lastByte.length,
    failed,
    failures: [...new Set(failures)],
    peakOpen,
    durationMs: performance.now() - started,
    firstDelta: { p50: percentile(firstDelta, 50), p99: percentile(firstDelta, 99) },
    lastByte: { p50: percentile(lastByte, 50), p99: percentile(lastByte, 99) },
    bytes,
  };
}

serve({ http: (job: HttpJob) => runHttp(job), streams: (job: StreamJob) => runStreams(job) });
