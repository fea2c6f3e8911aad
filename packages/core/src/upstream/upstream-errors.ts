import { RestError } from '../errors.js';

const CLOUDFLARE_MARKERS = ['cf-please-wait', 'cf_chl_opt', 'Just a moment', 'challenge-platform'];

/** True when a body is a Cloudflare challenge page. */
export function isCloudflareChallenge(body: string): boolean {
  return CLOUDFLARE_MARKERS.some((marker) => body.includes(marker));
}

/** The `detail` of a backend error body, whether a string or an object, or undefined. */
function detailOf(parsed: unknown): { message?: string; code?: string; clearsIn?: number } {
  if (typeof parsed !== 'object' || parsed === null) return {};
  const detail = (parsed as { detail?: unknown }).detail;
  if (typeof detail === 'string') return { message: detail };
  if (typeof detail === 'object' && detail !== null) {
    const d = detail as { message?: unknown; code?: unknown; clears_in?: unknown };
    const clearsIn = retrySeconds(d.clears_in);
    return {
      ...(typeof d.message === 'string' ? { message: d.message } : {}),
      ...(typeof d.code === 'string' ? { code: d.code } : {}),
      ...(clearsIn === undefined ? {} : { clearsIn }),
    };
  }
  return {};
}

function tryParse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** Longest wait the upstream may announce: a week (weekly caps); more parks a token for good. */
const MAX_RETRY_SECONDS = 7 * 24 * 3600;

/**
 * Whole seconds to wait from an upstream number (`clears_in`, `Retry-After`): rounded up, at
 * most {@link MAX_RETRY_SECONDS}; undefined unless a finite number ≥ 0 (JSON's `1e999` parses
 * to Infinity, which would park a held token for ever and send `Retry-After: Infinity`).
 */
function retrySeconds(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
  return Math.min(Math.ceil(value), MAX_RETRY_SECONDS);
}

/** Seconds from a `Retry-After` header, when it holds a number. */
function retryAfterHeader(headers: Headers | undefined): number | undefined {
  const value = headers?.get('retry-after')?.trim();
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return retrySeconds(Number(value));
}

/**
 * Maps a failed backend answer (status and body, read once) to the REST error of the spec.
 * The body is parsed when it can be; HTML and upstream text never reach the returned message.
 */
export function upstreamErrorFromBody(status: number, body: string, headers?: Headers): RestError {
  const cause = { upstreamStatus: status };
  if (isCloudflareChallenge(body)) {
    return new RestError(
      'upstream_blocked',
      'The upstream answered with a Cloudflare challenge; point `upstream` at a proxy that passes it.',
      cause,
    );
  }
  const { message = '', code, clearsIn } = detailOf(tryParse(body));
  const lower = message.toLowerCase();

  if (status === 401 || code === 'token_expired' || code === 'invalid_jwt') {
    if (code === 'token_expired' || lower.includes('expired')) {
      return new RestError(
        'token_expired',
        'The access token has expired; sign in again to get a new one.',
        cause,
      );
    }
    return new RestError('invalid_token', 'The upstream rejected the access token.', cause);
  }
  if (code === 'conversation_not_found' || (status === 404 && lower.includes('conversation'))) {
    return new RestError('conversation_not_found', 'Conversation not found.', cause);
  }
  if (lower.includes('only one message at a time')) {
    return new RestError(
      'conversation_busy',
      'The upstream allows one message at a time per account; wait for the other reply to finish.',
      { ...cause, retryAfter: retryAfterHeader(headers) ?? 1 },
    );
  }
  if (status === 429) {
    const retryAfter = clearsIn ?? retryAfterHeader(headers);
    return new RestError(
      'rate_limited',
      'The upstream rate limit or usage cap was reached; try again later.',
      { ...cause, ...(retryAfter === undefined ? {} : { retryAfter }) },
    );
  }
  if (code === 'model_not_found') {
    return new RestError('invalid_request', 'The upstream does not offer this model.', {
      ...cause,
      field: 'model',
    });
  }
  if (status === 403 && lower.includes('unusual activity')) {
    return new RestError(
      'upstream_blocked',
      'The upstream reported unusual activity from this device and refused the request.',
      cause,
    );
  }
  if (status === 403) {
    return new RestError('upstream_blocked', 'The upstream refused the request (403).', cause);
  }
  if (status === 404) {
    return new RestError('upstream_error', 'The upstream answered 404 for this request.', cause);
  }
  return new RestError('upstream_error', `The upstream failed with status ${status}.`, cause);
}
