/** Shapes shared by the bench processes (sent over IPC, written to `latest.json`). */

/** One HTTP request a load-generator connection sends. */
export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A request/response load job: N closed-loop connections for a fixed time. */
export interface HttpJob {
  base: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** Connection i sends `requests[i % requests.length]` over and over. */
  requests: RequestSpec[];
  /** When set, the whole job is paced at this many requests per second (open loop per connection). */
  rate?: number;
}

/** What a load job measured. */
export interface HttpResult {
  requests: number;
  errors: number;
  statusCounts: Record<string, number>;
  durationMs: number;
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  bytes: number;
  /** The first failed answer: its status and the start of its body, to say why. */
  firstError?: string;
}

/** A streaming job: `streams` SSE requests, started in batches, each read to its end. */
export interface StreamJob {
  base: string;
  /** Stream i sends `requests[i % requests.length]`. */
  requests: RequestSpec[];
  streams: number;
  /** Streams opened at once, then `batchGapMs` before the next batch. */
  batchSize: number;
  batchGapMs: number;
  /** The first occurrence of this string in the body is the first delta. */
  firstDeltaMarker: string;
  /** The body must contain this to count as complete. */
  endMarker: string;
  timeoutMs: number;
  /** Repeat each stream this many times in sequence (rounds); default 1. */
  rounds?: number;
}

export interface StreamResult {
  streams: number;
  completed: number;
  failed: number;
  failures: string[];
  peakOpen: number;
  durationMs: number;
  firstDelta: { p50: number; p99: number };
  lastByte: { p50: number; p99: number };
  bytes: number;
}

/** Figures of the server process over a measured window. */
export interface ServerStats {
  cpuMs: number;
  rssStart: number;
  rssPeak: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  openResponsesPeak: number;
}

/** What the server child is asked to run. */
export type TargetKind =
  'passthrough' | 'node' | 'node-metrics' | 'express' | 'fastify' | 'koa' | 'sidecar';

export interface ServerConfig {
  kind: TargetKind;
  upstream: string;
  cache: boolean;
  /** Server-held tokens and API keys (the sidecar only); passthrough without. */
  held?: { tokens: { label: string; token: string }[]; apiKeys: string[] };
  /** Shared state on this Redis (the sidecar only); in memory without. */
  redisUrl?: string;
}

/** A conversation a client may ask into: its id and the message to answer under. */
export interface Seeded {
  token: string;
  conversationId: string;
  parentId: string;
}
