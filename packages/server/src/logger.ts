import type { Logger } from '@chatgpt-rest/core';

/** Log levels, least to most severe; `silent` prints nothing. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

/** A log level name. */
export type LogLevel = (typeof LOG_LEVELS)[number];

// pino's numbers, so tools that read pino lines read these.
const LEVEL_NUMBERS = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity } as const;

/** Options of {@link createJsonLogger}. */
export interface JsonLoggerOptions {
  /** Lowest level written. @default 'info' */
  level?: LogLevel;
  /** Where each line goes. @default a write to stdout */
  write?: (line: string) => void;
  /** The clock. @default Date.now */
  now?: () => number;
}

/**
 * The sidecar's logger as the core sees it: the sidecar writes one line per request, so the
 * core's per-failure `info` line (a second one) goes to `debug`. No `child()`: the core then
 * adds the request id to each of its lines itself.
 */
export function coreLogger(logger: Logger): Logger {
  return {
    debug: (obj, msg) => logger.debug(obj, msg),
    info: (obj, msg) => logger.debug(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    error: (obj, msg) => logger.error(obj, msg),
  };
}

/** A tiny pino-compatible logger: one JSON object per line (`level`, `time`, `msg`, fields). */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = LEVEL_NUMBERS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const now = options.now ?? Date.now;
  const at =
    (level: Exclude<LogLevel, 'silent'>) =>
    (obj: object, msg?: string): void => {
      const number = LEVEL_NUMBERS[level];
      if (number < threshold) return;
      let line: string;
      try {
        line = JSON.stringify({ level: number, time: now(), ...obj, msg });
      } catch {
        // A field that cannot be serialised (a cycle) must not cost the line.
        line = JSON.stringify({ level: number, time: now(), msg });
      }
      write(`${line}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
