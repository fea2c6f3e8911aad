import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';

/** Files a bench run itself rewrites: changes there do not make the measured code differ. */
const OUTPUTS = ['bench/results/', 'docs/benchmarks'];

function git(args: string[]): string {
  return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** The commit measured, `+modified` when the working tree differs from it; `unknown` outside git. */
export function measuredRevision(): string {
  try {
    const commit = git(['rev-parse', '--short', 'HEAD']).trim();
    const changed = git(['status', '--porcelain'])
      .split('\n')
      .map((line) => line.slice(3))
      .filter((path) => path !== '' && !OUTPUTS.some((prefix) => path.startsWith(prefix)));
    return changed.length === 0 ? commit : `${commit}+modified`;
  } catch {
    return 'unknown';
  }
}

/** The machine's 1-minute load average when the run starts: other work on the cores skews a run. */
export const loadAtStart = (): number => Math.round((loadavg()[0] ?? 0) * 100) / 100;
