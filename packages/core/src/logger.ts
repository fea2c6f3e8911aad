/** The logging interface the core writes to: a subset of pino's, so a pino logger fits as is. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;

/** A logger that drops everything: the default, so the core prints nothing unless asked. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
