/** The logging interface the core writes to: a subset of pino's, so a pino logger fits as is. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /**
   * A logger whose lines all carry `bindings` (pino's child loggers). When present, the core
   * logs about a request through `child({ requestId })`; else it adds `requestId` to each line.
   */
  child?(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => undefined;

/** A logger that drops everything: the default, so the core prints nothing unless asked. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
