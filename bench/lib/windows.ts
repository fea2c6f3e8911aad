/**
 * Several measured windows of one case, folded into one row: counts add up, rates and
 * percentiles are the median window's, and CPU per request keeps its median and spread, since
 * on shared cores one window alone can be off by a third.
 */
import { median } from './stats.js';
import type { HttpResult, ServerStats, StreamResult } from './types.js';

/** A median with the smallest and largest window around it. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** One measured window of a case, as the tables show it. */
export interface WindowFigures {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU per request answered (per stream completed), in µs; absent without a server. */
  cpuUs?: number;
  /** The longest event-loop stall of the emulator and of the load generator in the window, ms. */
  upstreamStallMs?: number;
  clientStallMs?: number;
  /** The emulator's longest GC pause in the window and their sum, ms. */
  upstreamGcMaxMs?: number;
  upstreamGcTotalMs?: number;
}

export function spreadOf(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Server CPU per unit of work in µs, or undefined when nothing was measured. */
export function cpuPer(stats: ServerStats | undefined, units: number): number | undefined {
  return stats === undefined || units === 0 ? undefined : (stats.cpuMs * 1000) / units;
}

/** The server's figures over all windows: CPU adds up, peaks are the largest, delay the median. */
export function foldStats(all: readonly ServerStats[]): ServerStats | undefined {
  const first = all[0];
  if (first === undefined) return undefined;
  return {
    cpuMs: all.reduce((sum, s) => sum + s.cpuMs, 0),
    rssStart: first.rssStart,
    rssPeak: Math.max(...all.map((s) => s.rssPeak)),
    eventLoopP99Ms: median(all.map((s) => s.eventLoopP99Ms)),
    eventLoopMaxMs: Math.max(...all.map((s) => s.eventLoopMaxMs)),
    openResponsesPeak: Math.max(...all.map((s) => s.openResponsesPeak)),
  };
}

function cpuSpread(windows: readonly WindowFigures[]): Spread | undefined {
  const cpu = windows.flatMap((w) => (w.cpuUs === undefined ? [] : [w.cpuUs]));
  return cpu.length === 0 ? undefined : spreadOf(cpu);
}

/** One measured window of a request/response case. */
export interface HttpWindow {
  result: HttpResult;
  server?: ServerStats;
  /** Event-loop stalls of the emulator and the load generator over the window, ms. */
  stalls?: {
    upstreamMs: number;
    clientMs: number;
    upstreamGcMaxMs: number;
    upstreamGcTotalMs: number;
  };
}

/** Windows of a request/response case as one result. */
export function foldHttp(
  runs: readonly HttpWindow[],
): HttpResult & { server?: ServerStats; windows: WindowFigures[]; cpuUs?: Spread } {
  const results = runs.map((r) => r.result);
  const windows = runs.map(({ result, server, stalls }) => {
    const cpuUs = cpuPer(server, result.requests + result.errors);
    return {
      rps: result.rps,
      p50: result.p50,
      p99: result.p99,
      ...(cpuUs === undefined ? {} : { cpuUs }),
      ...(stalls === undefined
        ? {}
        : {
            upstreamStallMs: stalls.upstreamMs,
            clientStallMs: stalls.clientMs,
            upstreamGcMaxMs: stalls.upstreamGcMaxMs,
            upstreamGcTotalMs: stalls.upstreamGcTotalMs,
          }),
    };
  });
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const statusCounts: Record<string, number> = {};
  for (const r of results)
    for (const [status, n] of Object.entries(r.statusCounts))
      statusCounts[status] = (statusCounts[status] ?? 0) + n;
  const server = foldStats(runs.flatMap((r) => (r.server === undefined ? [] : [r.server])));
  const cpuUs = cpuSpread(windows);
  return {
    requests,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    statusCounts,
    durationMs: results.reduce((sum, r) => sum + r.durationMs, 0),
    rps: median(results.map((r) => r.rps)),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    mean: requests === 0 ? 0 : results.reduce((sum, r) => sum + r.mean * r.requests, 0) / requests,
    bytes: results.reduce((sum, r) => sum + r.bytes, 0),
    windows,
    ...(server === undefined ? {} : { server }),
    ...(cpuUs === undefined ? {} : { cpuUs }),
  };
}

/** Windows of a streaming case as one result (percentiles: the median window's). */
export function foldStreams(
  runs: readonly { result: StreamResult; server?: ServerStats }[],
): StreamResult & { server?: ServerStats; windows: WindowFigures[]; cpuUs?: Spread } {
  const results = runs.map((r) => r.result);
  const windows = runs.map(({ result, server }) => {
    const cpuUs = cpuPer(server, result.completed);
    return {
      rps: result.durationMs === 0 ? 0 : (result.completed * 1000) / result.durationMs,
      p50: result.lastByte.p50,
      p99: result.lastByte.p99,
      ...(cpuUs === undefined ? {} : { cpuUs }),
    };
  });
  const server = foldStats(runs.flatMap((r) => (r.server === undefined ? [] : [r.server])));
  const cpuUs = cpuSpread(windows);
  const sum = (pick: (r: StreamResult) => number): number =>
    results.reduce((total, r) => total + pick(r), 0);
  const mid = (pick: (r: StreamResult) => number): number => median(results.map(pick));
  return {
    streams: sum((r) => r.streams),
    completed: sum((r) => r.completed),
    failed: sum((r) => r.failed),
    failures: [...new Set(results.flatMap((r) => r.failures))].slice(0, 20),
    peakOpen: Math.max(...results.map((r) => r.peakOpen)),
    durationMs: sum((r) => r.durationMs),
    firstDelta: { p50: mid((r) => r.firstDelta.p50), p99: mid((r) => r.firstDelta.p99) },
    lastByte: { p50: mid((r) => r.lastByte.p50), p99: mid((r) => r.lastByte.p99) },
    bytes: sum((r) => r.bytes),
    windows,
    ...(server === undefined ? {} : { server }),
    ...(cpuUs === undefined ? {} : { cpuUs }),
  };
}
