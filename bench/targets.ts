/** The targets of issues 7 and 15, checked against a run's figures. */
import { cpuRatio, measuredMounts, RATIO_COLUMNS } from './ratios.js';
import { median, signed } from './lib/stats.js';
import type { BenchResults, CaseName, Check, HttpCase, TargetResult } from './results.js';
import { MOUNT_KINDS } from './results.js';

const ms = (value: number): string => `${value.toFixed(2)} ms`;
const pct = (value: number): string => `${(value * 100).toFixed(0)} %`;

function find(bench: BenchResults, kind: string): TargetResult | undefined {
  return bench.targets.find((t) => t.kind === kind && t.available);
}

/** Issue 15's ceilings on CPU per request over the floor, per ratio-table column and mount. */
function ratioGoal(column: string, kind: string): number | undefined {
  switch (column) {
    case 'list':
      return kind === 'express' || kind === 'koa' ? 2 : 1.5;
    case 'ask':
      return 1.5;
    case 'stream':
      return 1.3;
    case 'askLong':
      return 1.2;
    default:
      return undefined;
  }
}

const RATIO_LIMIT =
  'CPU profiles of the Node bridge (`--cpu-prof`, 50 clients, the server pinned to one core and the load to the other, 2026-12-03). A hand-written `node:http` server that makes the same upstream call and reshapes the same JSON costs 0.9× the pass-through per list (126–137 against 144–157 µs), so the parse and re-encode are not the gap: the objects and hops per request are. After this session took out a per-call AbortController and timer, two Headers copies per answer and a URL parse per call (−15 % CPU per list in alternating A/B runs, ~330 → 270–307 µs), and the next (2026-12-03/04) read headers from records (`RecordHeaders`: the request view’s, the upstream answer’s and ours, with no undici Headers filled on the Node path), built the route context and the upstream request’s options field by field instead of spreading objects of many shapes, set a whole body’s idle timer only when the body is not already in and merged a call’s request listeners (alternating A/B of the list: ~250–300 → ~235–255 µs, each step within the machine’s noise alone), the bridge still spends per list, beyond that hand-written floor: ~7 µs on the client-gone AbortSignal, ~10 µs in timers, ~10 µs in GC, a Response object per answer, and our own functions spread thin (route, auth, request id, reshape, write). A streamed reply adds per upstream event ~5 µs (UTF-8 decoding, the SSE parse, the legacy snapshot compare and the message object it makes). Reaching 1.5× takes a Node path with no web objects at all (header records and a lighter response type from the transport to the writer), a larger change than one session’s. The floor moves from VM to VM (the pass-through’s list: 96–286 µs over the AMD runs, 72 µs on the Intel VM of 2026-12-05), hence the windows alternating with it, and the ratios move with it: where the socket work both pay alike is cheap, our JavaScript shows more (likely, not proven by so few runs). On that Intel VM, in a separate probe (the bridge and the pass-through each alone in front of the emulator, 50 clients, no alternation, no profiler), a non-streaming ask cost the bridge ~200 µs more than the pass-through (385–389 against 185 µs), and its profile (50 µs sampling) is again flat: writev 16 % of the busy time, GC 5 %, the http client’s socket reads 4 %, the legacy snapshot parse 6.5 % in all (its object copy 2.5 %), UTF-8 decoding 3 %, AbortSignals, microtasks and nextTick ~7 %, each other function at most 2 %. Express’s own routing costs 48 µs per request on that VM (a bare Express 5 route answering a JSON body: 61 µs of CPU against 12.7 µs for the same answer from `node:http`; Fastify 15 µs, Koa 15 µs), two thirds of the pass-through’s whole list: Express’s ≤ 2× would need the rest of the mount at ≤ 1.33× the floor, where the bridge alone is at 1.73×.';

/** What limits the paced ask's added latency (issue 15's ≤ 1 ms over direct). */
const PACED_LIMIT =
  'The floor itself takes most of the budget: the bare pass-through adds 0.58–0.76 ms over direct at this rate on this machine (its row beside). The bridge is at its cheapest here only after the closed-loop cases warmed it: run cold, with its code not yet optimised, its paced ask’s p50 was 3.4 ms against 1.6 ms direct. Warm, a syscall trace of the bridge at 50 asks/s (strace -ttt, 2026-12-04) splits one ask into 0.66 ms from reading the client’s request to writing the upstream call, 1.05 ms for the emulator and 0.48 ms from the upstream reply’s read to our answer’s write, with no other syscall in between: it is CPU, and at 50 requests/s it runs with cold caches at 2–3× its cost under load. A CPU profile of those asks (100 µs sampling) is flat: Node’s own http client for the upstream call (ClientRequest and Agent.addRequest ~13 %, its writev ~11 %), the reply’s SSE parse ~9 %, the request parse ~9 %, AbortSignals ~3 %, the passthrough token’s SHA-256 ~4 %, timers ~3 %, the rest in our own functions spread thin. Only doing less per request brings it down, the same work as the CPU ratios above.';

function ratioChecks(bench: BenchResults): Check[] {
  const checks: Check[] = [];
  for (const column of RATIO_COLUMNS) {
    for (const mount of measuredMounts(bench)) {
      const goal = ratioGoal(column.key, mount.kind);
      const r = cpuRatio(bench, mount, column);
      if (goal === undefined || r === undefined) continue;
      const met = r.median <= goal;
      checks.push({
        target: `CPU per request ≤ ${goal}× the floor: ${column.title.replaceAll('`', '')} — ${mount.name}`,
        measured: `${r.median.toFixed(2)}× (windows ${r.min.toFixed(2)}–${r.max.toFixed(2)})`,
        met,
        ...(met || column.key === 'askLong' ? {} : { limit: RATIO_LIMIT }),
      });
    }
  }
  return checks;
}

/** The closed-loop cases, where the server is saturated. */
const SATURATED: readonly { key: CaseName; title: string }[] = [
  { key: 'list', title: 'GET /conversations' },
  { key: 'messagesCold', title: '/messages cold' },
  { key: 'messagesWarm', title: '/messages warm' },
  { key: 'ask', title: 'ask' },
  { key: 'askLong', title: '1,000-node ask' },
  { key: 'completions', title: '/v1/chat/completions' },
  { key: 'completionsStream', title: 'streamed /v1/chat/completions' },
];

/** p99 ÷ p50 of a case: the median over its windows (one stalled window is not the server's). */
function tailRatio(run: HttpCase | undefined): number | undefined {
  if (run === undefined) return undefined;
  const ratios = (run.windows ?? [run]).filter((w) => w.p50 > 0).map((w) => w.p99 / w.p50);
  return ratios.length === 0 ? undefined : median(ratios);
}

const TAIL_LIMIT =
  'On 2 cores shared with the emulator and the load generator, a window’s p99 follows their stalls too: each window in `latest.json` keeps the longest event-loop stall of both (`upstreamStallMs`, `clientStallMs`) and the emulator’s longest GC pause (`upstreamGcMaxMs`), and the direct baseline’s own ratio is given beside. The longest stalls are mostly CPU contention, not the emulator’s heap: the windows keep both, and in a run of the pass-through, the bridge and Fastify (2026-12-05) the emulator stalled 100–360 ms in the ask and completion windows while its longest GC pause in the same windows was 5–26 ms (in a few ask windows of other runs a GC pause of 76–150 ms was most of a stall), and the emulator alone under the same ask load (its own process, 2,300 asks/s, nothing else running) stalls 22–90 ms: with three busy processes on two cores it gets the CPU late and then answers a backlog in one loop turn.';

/** Issue 15: at saturation, p99 ≤ 3× p50 on every mount (its worst closed-loop case). */
function tailChecks(mounts: readonly TargetResult[], direct: TargetResult | undefined): Check[] {
  return mounts.flatMap((mount) => {
    const ratios = SATURATED.flatMap((c) => {
      const ratio = tailRatio(mount.cases[c.key]);
      return ratio === undefined ? [] : [{ ...c, ratio }];
    });
    const worst = ratios.reduce<(typeof ratios)[number] | undefined>(
      (a, b) => (a === undefined || b.ratio > a.ratio ? b : a),
      undefined,
    );
    if (worst === undefined) return [];
    const base = tailRatio(direct?.cases[worst.key]);
    const met = worst.ratio <= 3;
    return [
      {
        target: `At saturation (50 clients, closed loop), p99 ≤ 3× p50 in every case — ${mount.name}`,
        measured: `worst ${worst.ratio.toFixed(2)}× (${worst.title}${base === undefined ? '' : `; direct ${base.toFixed(2)}×`}); median of the windows' p99 ÷ p50`,
        met,
        ...(met ? {} : { limit: TAIL_LIMIT }),
      },
    ];
  });
}

export function checkTargets(bench: BenchResults): Check[] {
  const checks: Check[] = ratioChecks(bench);
  const direct = find(bench, 'direct');
  const floor = find(bench, 'passthrough');
  const mounts = MOUNT_KINDS.map((kind) => find(bench, kind)).filter((t) => t !== undefined);

  // 1. Added latency of a non-streaming ask over direct: p50 ≤ 1 ms at 50 concurrent clients.
  for (const [caseName, label] of [
    ['askPaced', `50 clients, ${bench.meta.pacedRate} req/s in all`],
    ['ask', '50 clients, closed loop (saturating)'],
  ] as const) {
    const base = direct?.cases[caseName];
    const floorOwn = floor?.cases[caseName];
    const floorAdded =
      base === undefined || floorOwn === undefined
        ? ''
        : `; the pass-through adds ${ms(floorOwn.p50 - base.p50)}`;
    for (const mount of mounts) {
      const own = mount.cases[caseName];
      if (base === undefined || own === undefined) continue;
      const added = own.p50 - base.p50;
      checks.push({
        target: `Added p50 latency of a non-streaming ask over direct ≤ 1 ms — ${mount.name}, ${label}`,
        measured: `${ms(added)} (p50 ${ms(own.p50)} vs ${ms(base.p50)}; p99 ${signed(own.p99 - base.p99)} ms${floorAdded})`,
        met: added <= 1,
        ...(added <= 1
          ? {}
          : caseName === 'ask'
            ? {
                limit:
                  'At saturation a closed loop of 50 clients waits 50 / throughput per request, so this measures CPU per request on 2 shared cores (load generator, emulator and server compete), not the delay one request sees; the paced row measures that.',
              }
            : {
                limit: PACED_LIMIT,
              }),
      });
    }
  }

  // 2. GET /conversations ≥ 80 % (Fastify, plain bridge) or ≥ 65 % (Express, Koa) of the floor.
  const floorList = floor?.cases.list;
  for (const mount of mounts) {
    const own = mount.cases.list;
    if (floorList === undefined || own === undefined) continue;
    const goal =
      mount.kind === 'fastify' || mount.kind === 'node'
        ? 0.8
        : mount.kind === 'sidecar'
          ? undefined
          : 0.65;
    if (goal === undefined) continue;
    const ratio = own.rps / floorList.rps;
    checks.push({
      target: `GET /conversations ≥ ${pct(goal)} of the pass-through's requests/s — ${mount.name}`,
      measured: `${pct(ratio)} (${own.rps.toFixed(0)} vs ${floorList.rps.toFixed(0)} req/s)`,
      met: ratio >= goal,
      ...(ratio >= goal
        ? {}
        : {
            limit:
              'The pass-through pipes bytes; the REST call also authenticates, calls the upstream, parses and re-serialises the JSON list. CPU per request (see the table) bounds requests/s when server, emulator and load generator share 2 cores.',
          }),
    });
  }

  // 3. Warm /messages ≥ 3× cold.
  for (const mount of mounts) {
    const warm = mount.cases.messagesWarm;
    const cold = mount.cases.messagesCold;
    if (warm === undefined || cold === undefined) continue;
    const ratio = warm.rps / cold.rps;
    checks.push({
      target: `Warm /messages ≥ 3× the requests/s of cold — ${mount.name}`,
      measured: `${ratio.toFixed(2)}× (${warm.rps.toFixed(0)} vs ${cold.rps.toFixed(0)} req/s)`,
      met: ratio >= 3,
      ...(ratio >= 3
        ? {}
        : {
            limit:
              'A warm hit still pays for HTTP parsing, the framework and rebuilding the thread from the cached tree; with the emulator answering a small tree in well under a millisecond, the upstream call the cache saves is cheap here.',
          }),
    });
  }

  // 4. 5,000 concurrent streams: all complete, peak RSS < 500 MB and ≤ 2× the pass-through's
  // (issue 15), event-loop delay p99 < 50 ms.
  const floorMass = bench.mass.find((r) => r.size === 5000 && r.kind === 'passthrough');
  for (const row of bench.mass.filter((r) => r.size === 5000 && r.kind !== 'passthrough')) {
    const rssMb = row.server.rssPeak / 1e6;
    const ratio =
      floorMass === undefined ? undefined : row.server.rssPeak / floorMass.server.rssPeak;
    const met =
      row.completed === row.streams &&
      rssMb < 500 &&
      (ratio === undefined || ratio <= 2) &&
      row.server.eventLoopP99Ms < 50;
    checks.push({
      target: `5,000 concurrent streams: all complete, peak RSS < 500 MB and ≤ 2× the pass-through's, event-loop delay p99 < 50 ms — ${row.name}`,
      measured: `${row.completed}/${row.streams} complete (peak ${row.peakOpen} open), peak RSS ${rssMb.toFixed(0)} MB${ratio === undefined ? '' : ` (${ratio.toFixed(2)}× the pass-through's ${((floorMass?.server.rssPeak ?? 0) / 1e6).toFixed(0)} MB)`}, event-loop p99 ${ms(row.server.eventLoopP99Ms)}`,
      met,
      ...(met
        ? {}
        : {
            limit:
              'Every open stream holds a client socket, an upstream socket and their buffers, as the pass-through’s do; on top, heap snapshots of 1,000 open streams (`npm run bench:memory`, built packages, 2026-12-03) hold 36.8 KiB per stream on the bridge, 43.7 KiB on Fastify and 40.0 KiB on the sidecar, against 16 KiB for the pass-through: the async generators from the upstream reader to the SSE writer (frames and pending promises), three AbortSignals (the client’s, the turn’s, the upstream call’s; ~0.6 KiB each with their listeners), Headers of the request and of the upstream response, the reply assembler’s state (the last event, parsed and raw), the OpenAI route’s context; RSS adds the heap’s room to grow between collections, and ended streams’ objects are old-generation garbage until the next full collection. On 2 cores shared with the emulator and the load generator, the per-event CPU decides the event-loop delay.',
          }),
    });
  }

  checks.push(...tailChecks(mounts, direct));

  // 5. Parse time grows linearly with reply length (legacy, 16/32/64 KiB).
  const legacyFixed = bench.parse.filter(
    (r) => r.encoding === 'legacy' && r.chunking.startsWith('64 events'),
  );
  const legacyStep = bench.parse.filter(
    (r) => r.encoding === 'legacy' && r.chunking.startsWith('256'),
  );
  const at = (rows: typeof legacyFixed, kib: number) => rows.find((r) => r.kib === kib);
  const f16 = at(legacyFixed, 16);
  const f64 = at(legacyFixed, 64);
  const s16 = at(legacyStep, 16);
  const s64 = at(legacyStep, 64);
  if (f16 !== undefined && f64 !== undefined && s16 !== undefined && s64 !== undefined) {
    const growth = f64.ms / f16.ms;
    const perByte = s64.nsPerInputByte / s16.nsPerInputByte;
    const met = growth <= 6 && perByte <= 1.5;
    checks.push({
      target: '64 KiB legacy reply: parse time grows linearly with reply length (16, 32, 64 KiB)',
      measured: `4× the text → ${growth.toFixed(2)}× the parse time at a constant event count (${f16.ms} → ${f64.ms} ms); at a fixed 256 characters per event, time per input byte at 64 KiB is ${perByte.toFixed(2)}× that at 16 KiB (${s64.ms} ms for ${(s64.inputBytes / 1e6).toFixed(1)} MB)`,
      met,
      ...(met
        ? {}
        : {
            limit:
              'Legacy events carry the whole message so far, so the parser must at least JSON-parse every byte it receives; anything above that is the reader’s own cost.',
          }),
    });
  }
  return checks;
}
