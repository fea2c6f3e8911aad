import { RestError } from '../errors.js';
import { jsonText } from '../http/json-text.js';
import { upstreamErrorFromBody } from '../upstream/upstream-errors.js';
import { isObject, type Json } from '../backend/json.js';

const EXCERPT_LENGTH = 160;

/**
 * A short, safe excerpt of upstream error text for a client-visible message: no HTML, no
 * token-like strings, no control characters, at most 160 characters. Empty when nothing is safe.
 */
export function sanitizeExcerpt(text: string): string {
  if (/<[a-z!/][^>]*>/i.test(text)) return '';
  const cleaned = text
    .replace(/eyJ[\w-]+\.[\w-]+(\.[\w-]*)?/g, '[redacted]')
    .replace(/\b(Bearer|Basic)\s+\S+/gi, '$1 [redacted]')
    .replace(/\b(sk|sess|rt)-[\w-]{8,}/g, '[redacted]')
    .replace(/\b[A-Za-z0-9+/_-]{40,}={0,2}/g, '[redacted]')
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned.length > EXCERPT_LENGTH ? `${cleaned.slice(0, EXCERPT_LENGTH - 1)}…` : cleaned;
}

/**
 * The HTTP status a backend error would have had, guessed from its `detail` (or `error`) code and
 * message, for errors that arrive inside a 200 stream; undefined when nothing points to one.
 */
export function inferErrorStatus(detail: unknown): number | undefined {
  const code = isObject(detail) && typeof detail.code === 'string' ? detail.code : '';
  const message =
    typeof detail === 'string'
      ? detail
      : isObject(detail) && typeof detail.message === 'string'
        ? detail.message
        : '';
  const lower = message.toLowerCase();
  if (
    ['token_expired', 'invalid_jwt', 'invalid_token', 'invalid_api_key'].includes(code) ||
    lower === 'invalid_token' ||
    /authentication token|access token|unauthori[sz]ed/.test(lower)
  ) {
    return 401;
  }
  if (code === 'conversation_not_found' || code === 'model_not_found') return 404;
  if (
    code === 'model_cap_exceeded' ||
    code === 'rate_limit_exceeded' ||
    /too many|only one message at a time|rate limit/.test(lower)
  ) {
    return 429;
  }
  if (lower.includes('unusual activity')) return 403;
  return undefined;
}

/** A backend `{"detail": …}` error body that arrived as a stream event (a 401 was seen this way). */
export function detailError(data: Json, raw: string): RestError {
  const status = inferErrorStatus(data.detail);
  if (status !== undefined) return upstreamErrorFromBody(status, raw);
  return new RestError('upstream_error', 'The upstream reported an error inside the stream.', {
    upstreamStatus: 200,
  });
}

/**
 * The error of a 200 event-stream whose body is a bare JSON error instead of events (a 401 was
 * seen this way): a `detail` body maps like an error status would, an `error` field like an
 * in-stream error. Undefined when the text is not such a body.
 */
export function bareBodyError(text: string): RestError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  if (parsed.detail != null) return detailError(parsed, text);
  return inStreamError(parsed);
}

function errorValueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isObject(value)) {
    if (typeof value.message === 'string') return value.message;
    if (typeof value.code === 'string') return value.code;
  }
  return '';
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '' && value !== false;
}

/**
 * The error carried by a stream event's `error` or `error_code` field, or undefined when both are
 * empty. Known codes (an expired token, a usage cap) keep their REST code; anything else becomes
 * `upstream_error` with a sanitized excerpt of the upstream text.
 */
export function inStreamError(data: Json): RestError | undefined {
  const { error } = data;
  const errorCode = data.error_code;
  if (!isSet(error) && !isSet(errorCode)) return undefined;
  const code = isObject(error) && typeof error.code === 'string' ? error.code : errorCode;
  const text = errorValueText(error);
  const detail = { code, message: text };
  const status = inferErrorStatus(detail);
  if (status !== undefined) return upstreamErrorFromBody(status, jsonText({ detail }));
  const excerpt = sanitizeExcerpt(text || (typeof errorCode === 'string' ? errorCode : ''));
  return new RestError(
    'upstream_error',
    excerpt === ''
      ? 'The upstream reported an error in the stream.'
      : `The upstream reported an error in the stream: ${excerpt}`,
    { upstreamStatus: 200 },
  );
}

/** The error for a moderation event whose `moderation_response.blocked` is true, else undefined. */
export function moderationError(data: Json): RestError | undefined {
  const response = data.moderation_response;
  if (!isObject(response) || response.blocked !== true) return undefined;
  return new RestError('upstream_error', 'The reply was withheld by the upstream moderation.', {
    upstreamStatus: 200,
  });
}
