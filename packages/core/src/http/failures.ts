/**
 * What a failure becomes for the client: a `RestError` as it is, an abort as an answer, anything
 * else an `internal_error` with a request id (logged, without its message). Whatever it is, the
 * held tokens and the credential the client sent never appear in it.
 */
import { randomUUID } from 'node:crypto';
import { bearerToken } from '../auth/bearer.js';
import { RestError, isRestError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Shortest secret worth scanning for: shorter strings would redact ordinary words. */
const MIN_SECRET_LENGTH = 8;

/**
 * `error` with every occurrence of `secrets` in its message replaced: an upstream (or a proxy
 * before it) may echo the credential it was sent, and its text can reach an error message.
 */
export function redacted(error: RestError, secrets: readonly string[]): RestError {
  let message = error.message;
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH) message = message.split(secret).join('[redacted]');
  }
  if (message === error.message) return error;
  return new RestError(error.code, message, {
    ...(error.field === undefined ? {} : { field: error.field }),
    ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
    ...(error.allow === undefined ? {} : { allow: error.allow }),
    ...(error.upstreamStatus === undefined ? {} : { upstreamStatus: error.upstreamStatus }),
  });
}

/** The credentials a request carries in `Authorization` and `X-API-Key`, read by the one rule. */
function sentCredentials(headers: Headers): string[] {
  const sent = [bearerToken(headers.get('authorization')), headers.get('x-api-key')?.trim()];
  return sent.filter((value): value is string => value !== undefined && value !== '');
}

/** True for an abort this process asked for (shutdown, client gone): never an internal error. */
function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

function restErrorOf(error: unknown, request: Request, logger: Logger): RestError {
  if (isRestError(error)) return error;
  if (request.signal.aborted) {
    // The client left and the upstream read was aborted on its behalf: no bug, nobody to tell.
    return new RestError('upstream_error', 'The client closed the request.');
  }
  if (isAbort(error)) {
    // An abort this process chose (a shutdown ending live streams): an answer, not a bug.
    return new RestError('upstream_unavailable', 'The server stopped this request.');
  }
  const requestId = randomUUID().slice(0, 8);
  logger.error(
    { requestId, method: request.method, err: error instanceof Error ? error.name : 'unknown' },
    'internal error',
  );
  return new RestError('internal_error', `Internal error (request id ${requestId}).`);
}

/** Turns any failure of a request into the `RestError` its client may see. */
export type FailureMapper = (error: unknown, request: Request) => RestError;

/** The failure mapper of a handler: its logger, and the held tokens it must never show. */
export function failureMapper(logger: Logger, heldTokens: readonly string[]): FailureMapper {
  return (error, request) =>
    redacted(restErrorOf(error, request, logger), [
      ...heldTokens,
      ...sentCredentials(request.headers),
    ]);
}
