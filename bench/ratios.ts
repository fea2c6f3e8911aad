/**
 * CPU per request as a ratio to a floor measured in the same run: the pass-through's CPU for the
 * same upstream calls, or (for the long conversation) the same target's ask in a short one.
 * Ratios are steadier than requests/s on shared cores, so they come first in the docs.
 */
import type { Spread } from './lib/windows.js';
import type { BenchResults, CaseName, HttpCase, StreamRow, TargetResult } from './results.js';
import { MOUNT_KINDS } from './results.js';

/** Server CPU per request (or per reply) in µs: the windows' median and spread, if measured. */
export function cpuOf(row: HttpCase | StreamRow | undefined, units: number): Spread | undefined {
  if (row === undefined) return undefined;
  if (row.cpuUs !== undefined) return row.cpuUs;
  if (row.server === undefined || units === 0) return undefined;
  const value = (row.server.cpuMs * 1000) / units;
  return { median: value, min: value, max: value };
}

/** A column of the ratio table. */
export interface RatioColumn {
  key: CaseName | 'stream';
  title: string;
  /** What the ratio divides by. */
  floor: 'passthrough' | 'own-ask';
}

export const RATIO_COLUMNS: readonly RatioColumn[] = [
  { key: 'list', title: '`GET /conversations`', floor: 'passthrough' },
  { key: 'messagesCold', title: '`/messages` cold', floor: 'passthrough' },
  { key: 'ask', title: 'ask, non-streaming', floor: 'passthrough' },
  { key: 'completions', title: '`/v1/chat/completions`', floor: 'passthrough' },
  { key: 'stream', title: 'streaming reply', floor: 'passthrough' },
  { key: 'askLong', title: '1,000-node ask ÷ short-conversation ask', floor: 'own-ask' },
];

/** A ratio with the spread of the target's windows over the floor's median. */
export type Ratio = Spread;

function cpuSpread(target: TargetResult | undefined, key: CaseName | 'stream') {
  if (target === undefined) return undefined;
  if (key === 'stream') return cpuOf(target.stream, target.stream?.completed ?? 0);
  const row = target.cases[key];
  return cpuOf(row, row === undefined ? 0 : row.requests + row.errors);
}

/** The pass-through case that makes the same upstream calls as a mount's case. */
function floorKey(key: CaseName | 'stream'): CaseName | 'stream' {
  return key === 'completions' || key === 'completionsStream' ? 'ask' : key;
}

/**
 * The pass-through's CPU for the same upstream calls as a mount's column: measured alongside
 * the mount (alternating windows) when it was, else the pass-through's own row of the run.
 */
function passThroughCpu(bench: BenchResults, target: TargetResult, column: RatioColumn) {
  const key = floorKey(column.key);
  const alongside =
    key === 'list' || key === 'ask' || key === 'stream' ? target.floor?.[key] : undefined;
  if (alongside !== undefined) {
    const units =
      'completed' in alongside ? alongside.completed : alongside.requests + alongside.errors;
    return cpuOf(alongside, units);
  }
  return cpuSpread(
    bench.targets.find((t) => t.kind === 'passthrough'),
    key,
  );
}

/** The ratio of one mount's column, or undefined when either side was not measured. */
export function cpuRatio(
  bench: BenchResults,
  target: TargetResult,
  column: RatioColumn,
): Ratio | undefined {
  const own = cpuSpread(target, column.key);
  const floor =
    column.floor === 'own-ask' ? cpuSpread(target, 'ask') : passThroughCpu(bench, target, column);
  if (own === undefined || floor === undefined || floor.median === 0) return undefined;
  return {
    median: own.median / floor.median,
    min: own.min / floor.median,
    max: own.max / floor.median,
  };
}

/** The mounts that were measured. */
export function measuredMounts(bench: BenchResults): TargetResult[] {
  return bench.targets.filter((t) => t.available && MOUNT_KINDS.includes(t.kind));
}
