/**
 * A logger that keeps what it is told, for tests that read log lines: pino's shape (`child()`
 * merges bindings), every line as `{level, msg, ...fields}`, and a wait for a line to come.
 */
import type { Logger } from '@chatgpt-rest/core';

/** One line: its level, message and fields (bindings of child loggers included). */
export type LogLine = Record<string, unknown> & { level: string; msg: string | undefined };

/** The logger, its lines, and a way to wait for one. */
export interface CapturedLogs {
  logger: Logger;
  lines: LogLine[];
  /** Resolves with the first line (kept or to come) that `match` accepts. */
  line(match: (line: LogLine) => boolean): Promise<LogLine>;
}

/** A capturing logger; `child: false` leaves `child()` out (the core then adds fields itself). */
export function captureLogs(options: { child?: boolean } = {}): CapturedLogs {
  const lines: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; found: (l: LogLine) => void }>();
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (obj: object, msg?: string): void => {
        const line: LogLine = { ...bindings, ...obj, level, msg };
        lines.push(line);
        for (const waiter of waiters) {
          if (!waiter.match(line)) continue;
          waiters.delete(waiter);
          waiter.found(line);
        }
      };
    const logger: Logger = {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
    };
    if (options.child !== false) logger.child = (more) => make({ ...bindings, ...more });
    return logger;
  };
  return {
    logger: make({}),
    lines,
    line: (match) => {
      const kept = lines.find(match);
      if (kept !== undefined) return Promise.resolve(kept);
      return new Promise((found) => waiters.add({ match, found }));
    },
  };
}
