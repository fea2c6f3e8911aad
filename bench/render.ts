/** Renders `latest.json` into `docs/benchmarks.md` and the throughput chart SVG. */
import { cpuOf, cpuRatio, measuredMounts, RATIO_COLUMNS } from './ratios.js';
import { signed } from './lib/stats.js';
import type { Spread } from './lib/windows.js';
import type { BenchResults, CaseName, HttpCase, StreamRow, TargetResult } from './results.js';
import type { SharedState } from './shared-state.js';

const fmt = (value: number, digits = 2): string => value.toFixed(digits);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

function table(header: string[], rows: string[][]): string {
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

const CASES: { name: CaseName; title: string; upstream: string }[] = [
  {
    name: 'list',
    title: '`GET /conversations`',
    upstream: '`GET /backend-api/conversations?offset=0&limit=10`',
  },
  {
    name: 'messagesCold',
    title: '`GET /conversations/{id}/messages`, cold (cache off: every call goes upstream)',
    upstream: '`GET /backend-api/conversation/{id}`',
  },
  {
    name: 'messagesWarm',
    title: '`GET /conversations/{id}/messages`, warm (from the cache)',
    upstream: '— (no upstream call)',
  },
  {
    name: 'ask',
    title: '`POST /conversations/{id}/ask` non-streaming, 50 clients closed loop (saturating)',
    upstream: '`POST /backend-api/conversation` read to `[DONE]`',
  },
  {
    name: 'askLong',
    title:
      '`POST /conversations/{id}/ask` non-streaming into conversations of about 1,000 nodes (cached), 50 clients closed loop',
    upstream: '`POST /backend-api/conversation` read to `[DONE]` (baselines: the ask row)',
  },
  {
    name: 'askPaced',
    title: '`POST /conversations/{id}/ask` non-streaming, 50 clients paced',
    upstream: '`POST /backend-api/conversation` read to `[DONE]`',
  },
  {
    name: 'completions',
    title:
      '`POST /v1/chat/completions` non-streaming (a new temporary conversation per call), 50 clients closed loop',
    upstream: '`POST /backend-api/conversation` read to `[DONE]` (baselines: the ask row)',
  },
  {
    name: 'completionsStream',
    title: '`POST /v1/chat/completions` streaming, read to `[DONE]`, 50 clients closed loop',
    upstream: '`POST /backend-api/conversation` read to `[DONE]` (baselines: the ask row)',
  },
];

/** The baselines' case a row is compared with: the same, or its raw upstream equivalent. */
function baselineCase(name: CaseName): CaseName {
  if (name === 'messagesWarm') return 'messagesCold';
  if (name === 'completions' || name === 'completionsStream' || name === 'askLong') return 'ask';
  return name;
}

function caseOf(target: TargetResult, name: CaseName): HttpCase | undefined {
  // Without a cache, the baselines' one `/conversation/{id}` call stands for warm and cold alike.
  const baseline = target.kind === 'direct' || target.kind === 'passthrough';
  if (name === 'messagesWarm' && baseline) return undefined;
  // The baselines make the same raw message POST for a completion as for an ask.
  return target.cases[baseline ? baselineCase(name) : name];
}

function cpuCell(row: HttpCase | StreamRow, units: number): string {
  const cpu = cpuOf(row, units);
  if (cpu === undefined) return '—';
  const spread = cpu.min === cpu.max ? '' : ` (${fmt(cpu.min, 0)}–${fmt(cpu.max, 0)})`;
  return `${fmt(cpu.median, 0)} µs${spread}`;
}

function httpTable(bench: BenchResults, name: CaseName): string {
  const direct = bench.targets.find((t) => t.kind === 'direct')?.cases[baselineCase(name)];
  const floor = bench.targets.find((t) => t.kind === 'passthrough')?.cases[baselineCase(name)];
  const rows = bench.targets.map((target) => {
    const own = caseOf(target, name);
    if (!target.available)
      return [target.name, target.note ?? 'not measured', '', '', '', '', '', '', ''];
    if (own === undefined) return [target.name, '—', '—', '—', '—', '—', '—', '—', '—'];
    const requests = own.requests + own.errors;
    return [
      target.name,
      fmt(own.rps, 0),
      fmt(own.p50),
      fmt(own.p99),
      direct === undefined || target.kind === 'direct' ? '—' : signed(own.p50 - direct.p50),
      direct === undefined || target.kind === 'direct' ? '—' : signed(own.p99 - direct.p99),
      floor === undefined ? '—' : `${((own.rps / floor.rps) * 100).toFixed(0)} %`,
      cpuCell(own, requests),
      String(own.errors),
    ];
  });
  return table(
    [
      'target',
      'req/s',
      'p50 ms',
      'p99 ms',
      'added p50 ms',
      'added p99 ms',
      'vs pass-through',
      'server CPU / req',
      'errors',
    ],
    rows,
  );
}

const ratio = (value: number): string => `${fmt(value)}×`;

/** The table the docs lead with: each mount's CPU per request over the floor, per case. */
function ratioSection(bench: BenchResults): string {
  const rows = measuredMounts(bench).map((mount) => [
    mount.name,
    ...RATIO_COLUMNS.map((column) => {
      const r = cpuRatio(bench, mount, column);
      if (r === undefined) return '—';
      return r.min === r.max ? ratio(r.median) : `${ratio(r.median)} (${fmt(r.min)}–${fmt(r.max)})`;
    }),
  ]);
  return [
    '## CPU per request, as a ratio to the floor\n',
    "The server process's CPU time per request (per reply for streams) divided by the http-proxy-3 pass-through's for the same upstream calls, measured in windows alternating with the mount's own (`GET /conversations`, the ask and `/v1/chat/completions`, the streaming reply; a drift of the machine over the run hits both alike; `/messages` cold divides by the pass-through's own row): the median of the measured windows, with the spread of the windows in brackets. The last column divides an ask into a conversation of about 1,000 nodes by the same mount's ask into a short one, both trees cached by the mount (windows alternate between the two): a cost that grows with the conversation shows there. 1.00× would be a byte pipe; lower is better.\n",
    table(['target', ...RATIO_COLUMNS.map((c) => c.title)], rows),
  ].join('\n');
}

/** What recording Prometheus metrics costs: the bridge with and without the `metrics` option. */
function metricsSection(bench: BenchResults): string {
  const off = bench.targets.find((t) => t.kind === 'node' && t.available);
  const on = bench.targets.find((t) => t.kind === 'node-metrics' && t.available);
  if (off === undefined || on === undefined) return '';
  const rows = RATIO_COLUMNS.filter((c) => c.floor === 'passthrough').map((column) => {
    const units = (t: TargetResult): number => {
      if (column.key === 'stream') return t.stream?.completed ?? 0;
      const row = t.cases[column.key];
      return row === undefined ? 0 : row.requests + row.errors;
    };
    const pick = (t: TargetResult) =>
      cpuOf(column.key === 'stream' ? t.stream : t.cases[column.key], units(t));
    const a = pick(off);
    const b = pick(on);
    if (a === undefined || b === undefined) return [column.title, '—', '—', '—'];
    return [
      column.title,
      `${fmt(a.median, 0)} µs`,
      `${fmt(b.median, 0)} µs`,
      `${signed(((b.median - a.median) / a.median) * 100)} %`,
    ];
  });
  return [
    '## The cost of metrics\n',
    'The Node bridge without and with the `metrics` option (every metric of docs/operations.md recorded into a prom-client registry), server CPU per request (per reply for the stream), medians of the measured windows; the difference is within the run-to-run spread when it is smaller than the spread in the table above.\n',
    table(['case', 'metrics off', 'metrics on', 'difference'], rows),
  ].join('\n');
}

function us(spread: Spread | undefined): string {
  if (spread === undefined) return '—';
  const range = spread.min === spread.max ? '' : ` (${fmt(spread.min, 0)}–${fmt(spread.max, 0)})`;
  return `${fmt(spread.median, 0)} µs${range}`;
}

/** Extra CPU per unit of the Redis row over the in-memory one: the sidecar's plus Redis's. */
function cost(state: SharedState, pick: 'list' | 'stream'): string {
  const [memory, redis] = state.rows;
  const base = memory?.[pick].cpuUs?.median;
  const own = redis?.[pick].cpuUs?.median;
  const server = redis?.redisCpuUs?.[pick].median;
  if (base === undefined || own === undefined || server === undefined) return '—';
  const extra = own + server - base;
  const figure = `${extra >= 0 ? '+' : '−'}${fmt(Math.abs(extra), 0)} µs (${fmt(((own + server) / base) * 100 - 100, 0)} %)`;
  // The sidecar's own CPU of the two stores: when their windows' ranges overlap, so does the cost.
  const a = memory?.[pick].cpuUs;
  const b = redis?.[pick].cpuUs;
  const overlap = a !== undefined && b !== undefined && b.min <= a.max && a.min <= b.max;
  return overlap ? `${figure}, within the windows' spread of the sidecar's CPU` : figure;
}

function renderSharedState(state: SharedState | undefined): string {
  if (state === undefined) return '';
  const out = ['## Shared state: the sidecar on Redis vs in memory\n'];
  if (state.rows.length === 0) {
    out.push(`Not measured: ${state.note ?? 'no rows'}.\n`);
    return out.join('\n');
  }
  out.push(
    `The sidecar with ${state.heldTokens} server-held tokens (clients send an API key), once on its default in-memory store and once on \`@chatgpt-rest/redis-store\` with a redis-server on 127.0.0.1, measured in the same run, windows alternating between the two. \`GET /conversations\` chooses a token from the store's view (one \`MGET\` on Redis); a streaming \`POST /conversations/new\` (paced upstream, as above) also takes the token's lease (a Lua script), renews and frees it, remembers the conversation's token and caches its tree. Sidecar CPU is the sidecar process's; Redis CPU is redis-server's (\`INFO cpu\`) over the same windows. "Cost of sharing" is the extra CPU of both processes per request over the in-memory store.\n`,
  );
  out.push(
    table(
      ['store', 'list req/s', 'p50 ms', 'p99 ms', 'sidecar CPU / req', 'Redis CPU / req', 'errors'],
      state.rows.map((row) => [
        row.name,
        fmt(row.list.rps, 0),
        fmt(row.list.p50),
        fmt(row.list.p99),
        us(row.list.cpuUs),
        us(row.redisCpuUs?.list),
        String(row.list.errors),
      ]),
    ),
  );
  out.push(
    table(
      [
        'store',
        'streams',
        'first delta p50 ms',
        'last byte p50 ms',
        'p99 ms',
        'sidecar CPU / reply',
        'Redis CPU / reply',
      ],
      state.rows.map((row) => [
        row.name,
        `${row.stream.completed}/${row.stream.streams}`,
        fmt(row.stream.firstDelta.p50),
        fmt(row.stream.lastByte.p50),
        fmt(row.stream.lastByte.p99),
        us(row.stream.cpuUs),
        us(row.redisCpuUs?.stream),
      ]),
    ),
  );
  out.push(
    `Cost of sharing, CPU of the sidecar and Redis over the in-memory store: ${cost(state, 'list')} per \`GET /conversations\`, ${cost(state, 'stream')} per streamed new conversation.\n`,
  );
  return out.join('\n');
}

export function renderMarkdown(bench: BenchResults): string {
  const { meta } = bench;
  const out: string[] = [];
  out.push('# Benchmarks\n');
  out.push(
    'What the middleware costs over calling the ChatGPT backend directly and over a bare `http-proxy-3` pass-through (the floor of any Node proxy), for every way the project runs, measured in one run on the same backend emulator. Generated by `npm run bench` from `bench/results/latest.json`; do not edit by hand.\n',
  );
  out.push(
    table(
      ['run', ''],
      [
        ['date', meta.date],
        ...(meta.commit === undefined ? [] : [['commit', meta.commit]]),
        ...(meta.loadAtStart === undefined
          ? []
          : [['load average at start', `${meta.loadAtStart} (1 minute, ${meta.cpus} cores)`]]),
        [
          'mode',
          `${meta.mode} (${meta.mode === 'quick' ? '`npm run bench -- --quick`' : '`npm run bench`'}), ${meta.durationSeconds} s in all`,
        ],
        [
          'machine',
          `${meta.cpus} × ${meta.cpuModel}, ${meta.memoryGiB} GiB, ${meta.platform}, kernel ${meta.kernel}`,
        ],
        ['Node.js', meta.node],
        [
          'load',
          `${meta.connections} keep-alive connections, ${meta.warmupMs} ms warm-up then ${meta.windows ?? 1} × ${meta.measureMs} ms measured per case (rates and percentiles: the median window; CPU: median and spread)`,
        ],
      ],
    ),
  );
  out.push(ratioSection(bench));
  out.push(metricsSection(bench));
  out.push('## Targets\n');
  out.push(
    table(
      ['target', 'measured', ''],
      bench.checks.map((check) => [check.target, check.measured, check.met ? '✓' : '✗']),
    ),
  );
  const misses = bench.checks.filter((c) => !c.met && c.limit !== undefined);
  if (misses.length > 0) {
    out.push('What limits the misses:\n');
    const seen = new Set<string>();
    for (const miss of misses) {
      if (miss.limit === undefined || seen.has(miss.limit)) continue;
      seen.add(miss.limit);
      out.push(`- ${miss.target.split(' — ')[0] ?? miss.target}: ${miss.limit}`);
    }
    out.push('');
  }

  out.push('## How it runs\n');
  out.push(
    [
      'Everything runs on 127.0.0.1, in separate processes: the orchestrator (`bench/run.ts`, idle while measuring), one **emulator** process (`createBackendEmulator`, `dialect: both`, one message at a time switched off), one **load-generator** process (`node:http` keep-alive clients, closed loop or paced, and an SSE client of its own; latencies are exact sorted samples) and **one server under test at a time** in its own process, loading the built packages (`dist/`, as an installed user does; `npm run bench` builds first), which measures itself: CPU time (`process.cpuUsage` deltas), peak RSS (sampled every 20 ms) and event-loop delay (`perf_hooks.monitorEventLoopDelay`). On a 2-core machine these three processes share the cores, so absolute figures are lower than on a dedicated box; the ratios compare like with like.',
      '',
      'Socket reads and writes are system calls. Where they are expensive, as in virtual machines with nested paging (the reference run below is a 2-vCPU Firecracker microVM, where a loopback `write` costs tens to hundreds of microseconds of CPU), the number of socket writes per request dominates every figure. The mounts write a small JSON answer’s head and body in one write and call the upstream through the core’s keep-alive `node:http` transport (the global `fetch` cost about twice the CPU per call here), which reads an upstream event stream straight from the Node response and keeps its idle guard itself. On Node mounts (the bridge, Express, Fastify, Koa) the REST and OpenAI event streams are written straight to `res` (or piped as one Node stream), the frames of one tick in one socket write; the web body of their `Response` is left for fetch-style hosts. The core’s own handler reads a request view instead of a web `Request` (body read straight from `req`), JSON answers and whole upstream bodies are `Response`s whose web body is made only if someone asks (in Node 20 a `ReadableStream` costs ~15 µs to build), an event stream’s web body likewise, and a message stream read to `[DONE]` gives its upstream connection back to the pool. They still parse every upstream event and re-encode the JSON, which a byte pipe does not.',
      '',
      '- **direct**: the raw `/backend-api` calls a REST call maps to, sent to the emulator.',
      '- **pass-through**: `createProxyServer` of `http-proxy-3` with a keep-alive agent, forwarding the same raw calls.',
      '- **mounts**: `createHandler` on the plain Node bridge (`createNodeListener`), `@chatgpt-rest/express` on Express 5, `@chatgpt-rest/fastify` on Fastify 5, `@chatgpt-rest/koa` on Koa 3, and the sidecar (`createServer` of `@chatgpt-rest/server`), all in passthrough auth, `legacy` dialect, default options (cache on; a second instance with `cache: false` for the cold `/messages` case).',
      `- Upstream configurations: request/response cases with pacing off (${meta.upstream.fast?.replyWords ?? 0}-word replies, ${meta.upstream.fast?.chunk.size ?? 0} tokens per event) so the proxy's own cost shows; streaming with realistic pacing (${meta.upstream.paced?.pacingMs ?? 0} ms per event of ${meta.upstream.paced?.chunk.size ?? 0} tokens); the 1,000/5,000-stream cases with ${meta.upstream.mass?.replyWords ?? 0}-word replies at ${meta.upstream.mass?.pacingMs ?? 0} ms per event of ${meta.upstream.mass?.chunk.size ?? 0} tokens (~${((1000 / (meta.upstream.mass?.pacingMs ?? 1)) * (meta.upstream.mass?.chunk.size ?? 0)).toFixed(0)} tokens/s per stream), each stream on its own access token and conversation.`,
      `- Paced asks: ${meta.connections} clients sending ${meta.pacedRate} requests/s in all, below every target's saturation, so latency is the delay one request sees. Closed-loop asks: each client sends again as soon as it has the answer, so p50 ≈ clients / throughput.`,
      '',
    ].join('\n'),
  );

  out.push('## Request/response\n');
  out.push(
    "\"added\" is the difference to the direct baseline's percentile; \"vs pass-through\" the requests/s as a share of the pass-through floor for the same upstream call; server CPU per request is the server process's CPU time over the measured window divided by the requests answered (median of the windows, their spread in brackets). A closed loop of 50 clients at saturation on 2 shared cores has a long tail on every target, the direct baseline included: in the run of 2026-12-03 the direct ask's p99 was 717–764 ms in two of three windows while neither the emulator's nor the load generator's event loop stalled longer than 112 ms, so a p99 in these rows says little about the server under test; each window in `latest.json` keeps its p99 beside those stalls (`upstreamStallMs`, `clientStallMs`), and the paced rows measure the delay one request sees.\n",
  );
  for (const c of CASES) {
    out.push(`### ${c.title}\n`);
    out.push(`Upstream call: ${c.upstream}.\n`);
    out.push(httpTable(bench, c.name));
  }
  out.push(
    '![Throughput as a share of the http-proxy-3 pass-through](benchmarks-throughput.svg)\n',
  );

  out.push('## Streaming asks at realistic pacing\n');
  out.push(
    `\`POST /conversations/{id}/ask\` with \`stream: true\` (direct and pass-through: the raw \`POST /backend-api/conversation\` stream), ${meta.streamClients} concurrent clients × ${meta.streamRounds} rounds. First delta: until the first \`event: delta\` (raw: the first event with text); last byte: until the stream closed.\n`,
  );
  out.push(
    table(
      [
        'target',
        'streams',
        'first delta p50 ms',
        'p99 ms',
        'last byte p50 ms',
        'p99 ms',
        'server CPU / reply',
      ],
      bench.targets
        .filter((t) => t.available && t.stream !== undefined)
        .map((t) => {
          const s = t.stream;
          if (s === undefined) return [t.name];
          return [
            t.name,
            `${s.completed}/${s.streams}`,
            fmt(s.firstDelta.p50),
            fmt(s.firstDelta.p99),
            fmt(s.lastByte.p50),
            fmt(s.lastByte.p99),
            cpuCell(s, s.completed),
          ];
        }),
    ),
  );

  out.push('## 1,000 and 5,000 concurrent streams\n');
  out.push(
    'Each size runs on a fresh server process (the mounts with their cache on, as configured by default), so its peak RSS is the streams\' and not what the earlier cases left in the heap and the cache (the pass-through has no cache). Streams are opened in batches of 50 every 200 ms (250 a second) and each lasts about half a minute (slow pacing, so that on this machine all of them are open at once: "peak open" counts responses the client held open at the same time). RSS per open stream is (peak RSS − RSS before) / streams; CPU per reply includes accepting the connection and opening the upstream one.\n',
  );
  out.push(
    table(
      [
        'target',
        'streams',
        'completed',
        'peak open',
        'RSS before',
        'peak RSS',
        'RSS / stream',
        'event-loop p99 ms',
        'max ms',
        'CPU / reply',
        'first delta p99 ms',
        'wall s',
      ],
      bench.mass.map((r) => [
        r.name,
        String(r.size),
        String(r.completed),
        String(r.peakOpen),
        mb(r.server.rssStart),
        mb(r.server.rssPeak),
        kib((r.server.rssPeak - r.server.rssStart) / r.size),
        fmt(r.server.eventLoopP99Ms),
        fmt(r.server.eventLoopMaxMs),
        r.completed === 0 ? '—' : `${fmt((r.server.cpuMs * 1000) / r.completed, 0)} µs`,
        fmt(r.firstDelta.p99),
        fmt(r.durationMs / 1000, 1),
      ]),
    ),
  );
  if (bench.mass.some((r) => r.failures.length > 0)) {
    out.push(
      `Failures: ${bench.mass.flatMap((r) => r.failures.map((f) => `${r.name} ${r.size}: ${f}`)).join('; ')}\n`,
    );
  }

  const shared = renderSharedState(bench.sharedState);
  if (shared !== '') out.push(shared);

  out.push("## Long replies: the stream reader's parse time\n");
  out.push(
    "`collectReply` (packages/core/src/stream/reply-reader.ts) over the raw bytes of one emulator reply, as they came off the socket, median of several runs in the otherwise idle orchestrator. Legacy events carry the whole message so far: at a fixed step per event the input itself grows with the square of the reply length, so the rows at a constant event count show the reader's growth with reply length, and ns per input byte shows it stays linear in what it reads.\n",
  );
  out.push(
    table(
      [
        'encoding',
        'events cut',
        'reply',
        'events',
        'stream bytes',
        'parse ms',
        'ns / input byte',
        'ns / reply byte',
      ],
      bench.parse.map((r) => [
        r.encoding,
        r.chunking,
        `${r.kib} KiB`,
        String(r.events),
        (r.inputBytes / 1e6).toFixed(2) + ' MB',
        fmt(r.ms, 2),
        fmt(r.nsPerInputByte, 2),
        fmt(r.nsPerTextByte, 1),
      ]),
    ),
  );
  out.push('## Reproduce\n');
  out.push(
    '```sh\nnpm run bench -- --quick   # about 2 minutes on 2 cores\nnpm run bench               # the full run, under 15 minutes\n```\n',
  );
  return `${out.join('\n').trim()}\n`;
}

/** Hand-written SVG bars: throughput of each mount as a share of the pass-through floor. */
export function renderChart(bench: BenchResults): string {
  const floor = bench.targets.find((t) => t.kind === 'passthrough');
  const mounts = bench.targets.filter(
    (t) => t.available && t.kind !== 'direct' && t.kind !== 'passthrough',
  );
  const series: { name: CaseName; label: string; color: string }[] = [
    { name: 'list', label: 'GET /conversations', color: '#4e79a7' },
    { name: 'messagesCold', label: 'GET …/messages (cold)', color: '#f28e2b' },
    { name: 'ask', label: 'POST …/ask (non-streaming)', color: '#59a14f' },
  ];
  const width = 760;
  const left = 220;
  const right = 40;
  const barH = 14;
  const groupGap = 14;
  const top = 56;
  const groupH = series.length * barH + groupGap;
  const height = top + mounts.length * groupH + 40;
  const maxRatio = 1.2;
  const x = (ratio: number): number =>
    left + (Math.min(ratio, maxRatio) / maxRatio) * (width - left - right);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(
    `<text x="${left}" y="20" font-size="14" font-weight="bold">Requests/s as a share of the http-proxy-3 pass-through</text>`,
  );
  parts.push(
    `<text x="${left}" y="36" fill="#555">${bench.meta.date.slice(0, 10)}, ${bench.meta.mode} run, ${bench.meta.cpus} CPUs, Node ${bench.meta.node}</text>`,
  );
  series.forEach((s, i) => {
    const lx = left + i * 180;
    parts.push(
      `<rect x="${lx}" y="${height - 22}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${height - 13}">${s.label}</text>`,
    );
  });
  for (const [ratio, label] of [
    [0.65, '65 %'],
    [0.8, '80 %'],
    [1, '100 %'],
  ] as const) {
    parts.push(
      `<line x1="${x(ratio)}" y1="${top - 8}" x2="${x(ratio)}" y2="${height - 32}" stroke="#999" stroke-dasharray="${ratio === 1 ? '' : '4 3'}"/>`,
    );
    parts.push(
      `<text x="${x(ratio)}" y="${top - 12}" text-anchor="middle" fill="#555">${label}</text>`,
    );
  }
  mounts.forEach((mount, m) => {
    const y0 = top + m * groupH;
    parts.push(
      `<text x="${left - 8}" y="${y0 + (series.length * barH) / 2 + 4}" text-anchor="end">${mount.name}</text>`,
    );
    series.forEach((s, i) => {
      const own = mount.cases[s.name];
      const base = floor?.cases[s.name];
      if (own === undefined || base === undefined || base.rps === 0) return;
      const ratio = own.rps / base.rps;
      const y = y0 + i * barH;
      parts.push(
        `<rect x="${left}" y="${y}" width="${(x(ratio) - left).toFixed(1)}" height="${barH - 2}" fill="${s.color}"/>`,
      );
      parts.push(
        `<text x="${(x(ratio) + 4).toFixed(1)}" y="${y + barH - 4}" fill="#333">${(ratio * 100).toFixed(0)} %</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
