/** The targets of issues 7 and 15, checked against a run's figures. */
import { cpuRatio, measuredMounts, RATIO_COLUMNS } from './ratios.js';
import type { BenchResults, Check, TargetResult } from './results.js';
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
  'CPU profiles of the Node bridge (`--cpu-prof`, 50 clients, 2026-12-03) after the Node-face work: in `GET /conversations` the socket writes are ~20 % (as many as the pass-through makes, but each costs more here: a loopback write that wakes a sleeping peer is expensive in this VM, and the pass-through keeps its peers busier), Node’s HTTP client and server ~25 % (the pass-through pays them too), what is left of undici (Headers) and timers ~10 %, our own code ~15 % spread over many functions (JSON parse and re-encoding, auth hashing, ISO times); in an ask or a streamed reply the stream reader is 8–13 % (a legacy event carries the whole message so far and is parsed whole), the upstream event stream is still one web ReadableStream, and every event passes through five async generators. No single hot spot is left.';

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
    for (const mount of mounts) {
      const own = mount.cases[caseName];
      if (base === undefined || own === undefined) continue;
      const added = own.p50 - base.p50;
      checks.push({
        target: `Added p50 latency of a non-streaming ask over direct ≤ 1 ms — ${mount.name}, ${label}`,
        measured: `${ms(added)} (p50 ${ms(own.p50)} vs ${ms(base.p50)}; p99 +${ms(own.p99 - base.p99)})`,
        met: added <= 1,
        ...(added <= 1
          ? {}
          : caseName === 'ask'
            ? {
                limit:
                  'At saturation a closed loop of 50 clients waits 50 / throughput per request, so this measures CPU per request on 2 shared cores (load generator, emulator and server compete), not the delay one request sees; the paced row measures that.',
              }
            : {
                limit:
                  'The ask goes through the core’s turn runner: body parse, the upstream call, SSE parse of every event and JSON re-encoding; per-request CPU shows up as latency on a 2-core machine shared with the emulator and the load generator.',
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
              'The pass-through pipes bytes; the REST call also builds a web Request, authenticates, calls the upstream and re-serialises the JSON list. CPU per request (see the table) bounds requests/s when server, emulator and load generator share 2 cores.',
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

  // 4. 5,000 concurrent streams: all complete, peak RSS < 500 MB, event-loop delay p99 < 50 ms.
  for (const row of bench.mass.filter((r) => r.size === 5000)) {
    const rssMb = row.server.rssPeak / 1e6;
    const met = row.completed === row.streams && rssMb < 500 && row.server.eventLoopP99Ms < 50;
    checks.push({
      target: `5,000 concurrent streams: all complete, peak RSS < 500 MB, event-loop delay p99 < 50 ms — ${row.name}`,
      measured: `${row.completed}/${row.streams} complete (peak ${row.peakOpen} open), peak RSS ${rssMb.toFixed(0)} MB, event-loop p99 ${ms(row.server.eventLoopP99Ms)}`,
      met,
      ...(met
        ? {}
        : {
            limit:
              'Every open stream holds a client socket, an upstream socket and their buffers; every upstream event is parsed and re-encoded. On 2 cores shared with the emulator and the load generator, the per-event CPU decides the event-loop delay.',
          }),
    });
  }

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
