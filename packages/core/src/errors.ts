/**
 * The one error type of the REST API. Every failure that reaches a client is a `RestError`
 * whose `code` decides the HTTP status through {@link STATUS_BY_CODE}; nothing else picks a status.
 */

/** Machine codes of the REST spec's error table, with their HTTP status. */
export const STATUS_BY_CODE = {
  invalid_request: 400,
  missing_token: 401,
  token_expired: 401,
  invalid_token: 401,
  not_found: 404,
  conversation_not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  conversation_busy: 429,
  upstream_blocked: 502,
  upstream_error: 502,
  upstream_unavailable: 503,
  upstream_timeout: 504,
  internal_error: 500,
} as const satisfies Record<string, number>;

/** A machine-readable error code of the REST API. */
export type ErrorCode = keyof typeof STATUS_BY_CODE;

/** Extra, client-visible facts about an error. */
export interface RestErrorDetails {
  /** The request field at fault (validation errors). */
  field?: string;
  /** Seconds until a retry may succeed (429). */
  retryAfter?: number;
  /** Allowed methods (405). */
  allow?: string[];
  /** Upstream HTTP status, for logs only; never sent to clients. */
  upstreamStatus?: number;
  /** The underlying cause, for logs only; never sent to clients. */
  cause?: unknown;
}

/** An error with a REST code; its `message` is a sentence for a person and never holds a secret. */
export class RestError extends Error {
  override readonly name = 'RestError';
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryAfter: number | undefined;
  readonly allow: string[] | undefined;
  readonly upstreamStatus: number | undefined;

  constructor(code: ErrorCode, message: string, details: RestErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.field = details.field;
    this.retryAfter = details.retryAfter;
    this.allow = details.allow;
    this.upstreamStatus = details.upstreamStatus;
  }

  /** The HTTP status of this error's code. */
  get status(): number {
    return STATUS_BY_CODE[this.code];
  }

  /** The JSON body of the spec: `{error, code}` plus `retry_after` or `field` when known. */
  toJSON(): { error: string; code: ErrorCode; retry_after?: number; field?: string } {
    return {
      error: this.message,
      code: this.code,
      ...(this.retryAfter === undefined ? {} : { retry_after: this.retryAfter }),
      ...(this.field === undefined ? {} : { field: this.field }),
    };
  }
}

/** True when `value` is a {@link RestError}. */
export function isRestError(value: unknown): value is RestError {
  return value instanceof RestError;
}
