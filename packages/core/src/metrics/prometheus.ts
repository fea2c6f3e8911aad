/**
 * The Prometheus recorder: the core's metrics as prom-client metrics in a registry the host
 * passes (`metrics: { registry }`), so an app that already serves `/metrics` gets ours in it.
 *
 * prom-client is an optional peer dependency, loaded only when the option is given: a host
 * that owns a Registry already has it, and both then share one copy (one Registry type, one
 * `metrics()`); a host without the option never loads it. Metrics are made once per registry
 * (several handlers on one registry add to the same series); what is read at scrape time
 * (held tokens, the cache) lives in `collectors.ts`.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type * as PromClient from 'prom-client';
import { watchSources, type Sources } from './collectors.js';
import type {
  MetricsOptions,
  MetricsRecorder,
  MetricsRegistry,
  StreamApi,
  StreamOutcome,
  StreamProbe,
  UpstreamEndpoint,
} from './recorder.js';

/** Every metric name starts with this. */
export const METRIC_PREFIX = 'chatgpt_rest_';

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STREAM_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const PROOF_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

type Prom = typeof PromClient;

/** prom-client, from the host's install; a clear error when it is missing. */
function loadPromClient(): Prom {
  try {
    return createRequire(import.meta.url)('prom-client') as Prom;
  } catch {
    throw new TypeError(
      'chatgpt-rest: option metrics needs the prom-client package (npm install prom-client)',
    );
  }
}

/** The metrics of one registry. */
interface Metrics {
  requests: PromClient.Counter;
  requestSeconds: PromClient.Histogram;
  upstream: PromClient.Counter;
  upstreamFirstByte: PromClient.Histogram;
  upstreamSeconds: PromClient.Histogram;
  streamsOpen: PromClient.Gauge;
  streams: PromClient.Counter;
  streamSeconds: PromClient.Histogram;
  streamBytes: PromClient.Counter;
  firstDelta: PromClient.Histogram;
  autocontinue: PromClient.Counter;
  proofs: PromClient.Counter;
  proofSeconds: PromClient.Histogram;
  cacheHits: PromClient.Counter;
  cacheMisses: PromClient.Counter;
}

/** Makes a metric in `registry`, or takes the one a handler before this one made there. */
function maker(registry: MetricsRegistry) {
  const registers = [registry as unknown as PromClient.Registry];
  return <M>(name: string, make: (config: { name: string; registers: typeof registers }) => M) =>
    (registry.getSingleMetric(METRIC_PREFIX + name) as M | undefined) ??
    make({ name: METRIC_PREFIX + name, registers });
}

function requestMetrics(prom: Prom, make: ReturnType<typeof maker>) {
  return {
    requests: make('requests_total', (c) => {
      const help = 'Requests answered, by route template, method and status.';
      return new prom.Counter({ ...c, help, labelNames: ['route', 'method', 'status'] });
    }),
    requestSeconds: make('request_duration_seconds', (c) => {
      const help = 'Time from a request to its response head, by route template.';
      return new prom.Histogram({ ...c, help, labelNames: ['route'], buckets: HTTP_BUCKETS });
    }),
    upstream: make('upstream_requests_total', (c) => {
      const help =
        'Upstream calls, by endpoint and status (or the error code of a call without one).';
      return new prom.Counter({ ...c, help, labelNames: ['endpoint', 'status'] });
    }),
    upstreamFirstByte: make('upstream_first_byte_seconds', (c) => {
      const help = 'Time from an upstream call to its response head, by endpoint.';
      return new prom.Histogram({ ...c, help, labelNames: ['endpoint'], buckets: HTTP_BUCKETS });
    }),
    upstreamSeconds: make('upstream_request_duration_seconds', (c) => {
      const help = 'Time from a JSON upstream call to its answer read whole, by endpoint.';
      return new prom.Histogram({ ...c, help, labelNames: ['endpoint'], buckets: HTTP_BUCKETS });
    }),
  };
}

function streamMetrics(prom: Prom, make: ReturnType<typeof maker>) {
  return {
    streamsOpen: make('streams_open', (c) => {
      const help = 'Event streams being written to clients, by API (rest, openai).';
      return new prom.Gauge({ ...c, help, labelNames: ['api'] });
    }),
    streams: make('streams_total', (c) => {
      const help = 'Event streams ended, by API and outcome (done, error, aborted).';
      return new prom.Counter({ ...c, help, labelNames: ['api', 'outcome'] });
    }),
    streamSeconds: make('stream_duration_seconds', (c) => {
      const help = 'Time from a stream’s first read to its end, by API.';
      return new prom.Histogram({ ...c, help, labelNames: ['api'], buckets: STREAM_BUCKETS });
    }),
    streamBytes: make('stream_sent_bytes_total', (c) => {
      const help = 'Bytes of event-stream frames handed to clients, pings included, by API.';
      return new prom.Counter({ ...c, help, labelNames: ['api'] });
    }),
    firstDelta: make('first_delta_seconds', (c) => {
      const help = 'Time from sending a message upstream to the first text of its reply.';
      return new prom.Histogram({ ...c, help, buckets: HTTP_BUCKETS });
    }),
    autocontinue: make('autocontinue_rounds_total', (c) => {
      const help = 'Continues sent for replies cut at max_tokens (autocontinue).';
      return new prom.Counter({ ...c, help });
    }),
  };
}

function workMetrics(prom: Prom, make: ReturnType<typeof maker>) {
  return {
    proofs: make('proof_of_work_total', (c) => {
      const help = 'Proofs of work asked for, by outcome (solved, fallback, failed).';
      return new prom.Counter({ ...c, help, labelNames: ['outcome'] });
    }),
    proofSeconds: make('proof_of_work_duration_seconds', (c) => {
      const help = 'Time a proof of work took, a wait for a free solver included.';
      return new prom.Histogram({ ...c, help, buckets: PROOF_BUCKETS });
    }),
    cacheHits: make('cache_hits_total', (c) => {
      const help = 'Conversation trees found in the cache.';
      return new prom.Counter({ ...c, help });
    }),
    cacheMisses: make('cache_misses_total', (c) => {
      const help = 'Conversation trees not in the cache (read from the upstream).';
      return new prom.Counter({ ...c, help });
    }),
  };
}

/** What one registry holds: its metrics and the sources read at scrape time. */
interface RegistryState {
  metrics: Metrics;
  sources: Sources;
}

const states = new WeakMap<MetricsRegistry, RegistryState>();

function stateOf(registry: MetricsRegistry): RegistryState {
  let state = states.get(registry);
  if (state === undefined) {
    const prom = loadPromClient();
    const make = maker(registry);
    const metrics = {
      ...requestMetrics(prom, make),
      ...streamMetrics(prom, make),
      ...workMetrics(prom, make),
    };
    state = { metrics, sources: watchSources(prom, make) };
    states.set(registry, state);
  }
  return state;
}

const seconds = (startedAt: number): number => (performance.now() - startedAt) / 1000;

/** The probe of one stream: the open gauge, then its bytes, duration and outcome. */
function streamProbe(metrics: Metrics, api: StreamApi): StreamProbe {
  const labels = { api };
  let openedAt: number | undefined;
  let closed = false;
  return {
    open() {
      if (openedAt !== undefined || closed) return;
      openedAt = performance.now();
      metrics.streamsOpen.inc(labels);
    },
    frame(bytes) {
      const count = typeof bytes === 'number' ? bytes : Buffer.byteLength(bytes);
      metrics.streamBytes.inc(labels, count);
    },
    close(outcome: StreamOutcome) {
      if (closed) return;
      closed = true;
      if (openedAt !== undefined) {
        metrics.streamsOpen.dec(labels);
        metrics.streamSeconds.observe(labels, seconds(openedAt));
      }
      metrics.streams.inc({ api, outcome });
    },
  };
}

/** The recorder that feeds `options.registry`; throws when prom-client is not installed. */
export function prometheusRecorder(options: MetricsOptions): MetricsRecorder {
  const registry = options.registry as Partial<MetricsRegistry> | undefined;
  if (typeof registry?.getSingleMetric !== 'function' || typeof registry.metrics !== 'function') {
    throw new TypeError('chatgpt-rest: option metrics.registry must be a prom-client Registry');
  }
  const { metrics, sources } = stateOf(options.registry);
  return {
    enabled: true,
    request(route, method, status, startedAt) {
      const verb = METHODS.has(method) ? method : 'other';
      metrics.requests.inc({ route, method: verb, status: String(status) });
      metrics.requestSeconds.observe({ route }, seconds(startedAt));
    },
    upstreamCall(endpoint: UpstreamEndpoint, status, firstByteSeconds) {
      metrics.upstream.inc({ endpoint, status });
      if (firstByteSeconds !== undefined) {
        metrics.upstreamFirstByte.observe({ endpoint }, firstByteSeconds);
      }
    },
    upstreamDuration: (endpoint, startedAt) =>
      metrics.upstreamSeconds.observe({ endpoint }, seconds(startedAt)),
    firstDelta: (startedAt) => metrics.firstDelta.observe(seconds(startedAt)),
    autocontinue: () => metrics.autocontinue.inc(),
    proofOfWork(outcome, startedAt) {
      metrics.proofs.inc({ outcome });
      metrics.proofSeconds.observe(seconds(startedAt));
    },
    cacheLookup: (hit) => (hit ? metrics.cacheHits : metrics.cacheMisses).inc(),
    stream: (api) => streamProbe(metrics, api),
    watch: (watched) => sources.add(watched),
  };
}
