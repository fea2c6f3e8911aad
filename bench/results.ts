/** The shape of `bench/results/latest.json`. */
import type { ParseRow } from './parse-time.js';
import type { HttpResult, ServerStats, StreamResult, TargetKind } from './lib/types.js';
import type { Spread, WindowFigures } from './lib/windows.js';
import type { SharedState } from './shared-state.js';

/** A case measured over several windows: rates and percentiles are the median window's. */
interface Windowed {
  /** The server process over all measured windows (absent for the direct baseline). */
  server?: ServerStats;
  /** Each measured window's figures. */
  windows?: WindowFigures[];
  /** Server CPU per request (per reply for streams) in µs: median and spread of the windows. */
  cpuUs?: Spread;
}

export interface HttpCase extends HttpResult, Windowed {}

export interface StreamRow extends StreamResult, Windowed {}

export interface MassRow extends StreamResult {
  name: string;
  kind: TargetKind | 'direct';
  size: number;
  server: ServerStats;
}

export type CaseName =
  | 'list'
  | 'messagesWarm'
  | 'messagesCold'
  | 'ask'
  | 'askLong'
  | 'askPaced'
  | 'completions'
  | 'completionsStream';

export interface TargetResult {
  name: string;
  kind: TargetKind | 'direct';
  available: boolean;
  note?: string;
  cases: Partial<Record<CaseName, HttpCase>>;
  /** Streaming asks at realistic pacing. */
  stream?: StreamRow;
  /**
   * A mount's floor: the pass-through measured in windows alternating with the mount's own, for
   * the same upstream calls (a drift of the machine over the run then hits both alike).
   */
  floor?: { list?: HttpCase; ask?: HttpCase; stream?: StreamRow };
}

export interface Check {
  target: string;
  measured: string;
  met: boolean;
  /** What limits a miss, when one is known. */
  limit?: string;
}

export interface BenchResults {
  meta: {
    date: string;
    /** The commit measured, `+modified` when the tree differed (older results: none). */
    commit?: string;
    /** 1-minute load average at the start: work beside the run skews it (older results: none). */
    loadAtStart?: number;
    mode: 'quick' | 'full';
    node: string;
    platform: string;
    kernel: string;
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    durationSeconds: number;
    connections: number;
    pacedRate: number;
    measureMs: number;
    /** Measured windows per case (older results: one). */
    windows?: number;
    warmupMs: number;
    streamClients: number;
    streamRounds: number;
    upstream: Record<
      string,
      { pacingMs: number; chunk: { by: string; size: number }; replyWords: number }
    >;
  };
  targets: TargetResult[];
  mass: MassRow[];
  parse: ParseRow[];
  /** The sidecar with held tokens on the in-memory store vs the Redis store (older results: none). */
  sharedState?: SharedState;
  checks: Check[];
}

/** The mounts (not the baselines). */
export const MOUNT_KINDS: readonly string[] = [
  'node',
  'node-metrics',
  'express',
  'fastify',
  'koa',
  'sidecar',
];
