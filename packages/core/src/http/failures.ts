/**
 * What a failure becomes for the client: a `RestError` as it is, an abort as an answer, anything
 * else an `internal_error` naming the request id (logged, without its message). Whatever it is,
 * the held tokens and the credential the client sent never appear in it.
 */
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
    if (secret.length >= MIN_SECRET_LENGTH) message = withoutSecret(message, secret);
  }
  if (message === error.message) return error;
  return new RestError(error.code, message, {
    ...(error.field === undefined ? {} : { field: error.field }),
    ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
    ...(error.allow === undefined ? {} : { allow: error.allow }),
    ...(error.upstreamStatus === undefined ? {} : { upstreamStatus: error.upstreamStatus }),
  });
}

/**
 * `message` without `secret`: each whole occurrence, and a part of it cut off at either end of
 * the text (an upstream excerpt is cut to its length, maybe inside an echoed token, and the cut
 * part is not the secret any more).
 */
function withoutSecret(message: string, secret: string): string {
  const whole = message.split(secret).join('[redacted]');
  const ellipsis = whole.endsWith('…') ? '…' : '';
  const text = whole.slice(0, whole.length - ellipsis.length);
  const head = secret.slice(0, MIN_SECRET_LENGTH);
  let cut = text;
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, at + 1)) {
    if (secret.startsWith(text.slice(at))) {
      cut = `${text.slice(0, at)}[redacted]`;
      break;
    }
  }
  const tail = secret.slice(-MIN_SECRET_LENGTH);
  const end = cut.indexOf(tail);
  if (end !== -1 && secret.endsWith(cut.slice(0, end + tail.length))) {
    cut = `[redacted]${cut.slice(end + tail.length)}`;
  }
  return cut + ellipsis;
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

/** What mapping a failure needs of its request: its signal, method, id and logger. */
interface MappedScope {
  request: Pick<Request, 'signal' | 'method'>;
  requestId: string;
  /** The request's logger (its lines carry the id). */
  log: Logger;
}

/** The request a failure belongs to; the credentials it carries are read from its headers. */
export interface FailureScope extends MappedScope {
  request: Pick<Request, 'signal' | 'method' | 'headers'>;
}

/** A scope that keeps nothing of its request but what mapping needs (a stream's): the credentials read. */
interface KeptScope extends MappedScope {
  sentSecrets: readonly string[];
}

/** The credentials the client of `scope` sent, to redact. */
function secretsOf(scope: FailureScope | KeptScope): readonly string[] {
  return 'sentSecrets' in scope ? scope.sentSecrets : sentCredentials(scope.request.headers);
}

function restErrorOf(error: unknown, { request, requestId, log }: MappedScope): RestError {
  if (isRestError(error)) return error;
  if (request.signal.aborted) {
    // The client left and the upstream read was aborted on its behalf: no bug, nobody to tell.
    return new RestError('upstream_error', 'The client closed the request.');
  }
  if (isAbort(error)) {
    // An abort this process chose (a shutdown ending live streams): an answer, not a bug.
    return new RestError('upstream_unavailable', 'The server stopped this request.');
  }
  log.error(
    { method: request.method, err: error instanceof Error ? error.name : 'unknown' },
    'internal error',
  );
  return new RestError('internal_error', `Internal error (request id ${requestId}).`);
}

/** Turns any failure of a request into the `RestError` its client may see. */
export type FailureMapper = (error: unknown, scope: FailureScope | KeptScope) => RestError;

/** The failure mapper of a handler: the held tokens it must never show. */
export function failureMapper(heldTokens: () => readonly string[]): FailureMapper {
  return (error, scope) =>
    redacted(restErrorOf(error, scope), [...heldTokens(), ...secretsOf(scope)]);
}

/**
 * What a stream that already started ends with when it fails: the mapped error (its `error`
 * event), logged as a failed request is, on the request's logger (so with its id).
 */
export function streamFailure(
  toRestError: FailureMapper,
  scope: FailureScope & { url: URL },
): (error: unknown) => RestError {
  // What the mapping and the log line need, not the request itself: a stream may stay open for
  // minutes, and the request view, its headers and URL would stay with it.
  const { signal, method } = scope.request;
  const kept: KeptScope = {
    request: { signal, method },
    requestId: scope.requestId,
    log: scope.log,
    sentSecrets: secretsOf(scope),
  };
  const path = scope.url.pathname;
  return (error) => {
    const restError = toRestError(error, kept);
    kept.log.info(
      { method, path, code: restError.code, status: restError.status },
      'stream failed',
    );
    return restError;
  };
}
