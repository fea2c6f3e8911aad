import { RestError } from '../errors.js';

/**
 * `JSON.stringify(value)`, for values that hold what the upstream sent: the engine encodes
 * recursively (it parses without a depth limit), so a structure nested thousands deep throws a
 * `RangeError` (as does a text past V8's string length). That is the upstream's answer we cannot
 * relay (502), not a bug of ours.
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new RestError(
      'upstream_error',
      'The upstream answer is nested too deeply (or is too large) to relay.',
    );
  }
}
