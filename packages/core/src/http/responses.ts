import { RestError } from '../errors.js';
import { jsonText } from './json-text.js';
import { RecordHeaders } from './record-headers.js';
import { keepDirect } from './sse-response.js';
import { WholeResponse, contentText, unreadContent } from './whole-response.js';

/**
 * A JSON response with the given status. Its text is kept whole and its web body made only if
 * asked for, so a Node writer sends it with its head in one write ({@link wholeBody}).
 */
export function jsonResponse(
  status: number,
  body: unknown,
  headers?: Headers | Record<string, string>,
): Response {
  const text = jsonText(body);
  // A record of headers, filled into a `Headers` only if someone needs one (see RecordHeaders).
  const own = new RecordHeaders();
  if (headers instanceof Headers) headers.forEach((value, name) => own.append(name, value));
  else if (headers !== undefined)
    for (const name of Object.keys(headers)) own.append(name, headers[name] ?? '');
  own.set('content-type', 'application/json; charset=utf-8');
  own.set('content-length', String(Buffer.byteLength(text)));
  return new WholeResponse(text, { status, headers: own });
}

/**
 * The body text of a response {@link jsonResponse} made, unless its web body was asked for (a
 * host may have read or locked it): then the body is the only way.
 */
export function wholeBody(response: Response): string | undefined {
  const content = unreadContent(response);
  return content === undefined ? undefined : contentText(content);
}

/**
 * `response` with its headers changed by `change`: in place when they may change (ours), else
 * on a copy with the same body that keeps its direct writer and whole text (an immutable
 * `Response`, one a host's `fetch` made).
 */
export function withHeaders(response: Response, change: (headers: Headers) => void): Response {
  try {
    change(response.headers);
    return response;
  } catch {
    const headers = new Headers(response.headers);
    change(headers);
    const init = { status: response.status, statusText: response.statusText, headers };
    const content = unreadContent(response);
    if (content !== undefined) return new WholeResponse(content, init);
    return keepDirect(response, new Response(response.body, init));
  }
}

/**
 * The `WWW-Authenticate` challenge of a 401 (RFC 9110 §11.6.1 requires one): the realm, plus
 * `error="invalid_token"` (RFC 6750 §3.1) when a credential was sent and refused.
 */
export function authenticateChallenge(error: RestError): string {
  const refused = error.code === 'invalid_token' || error.code === 'token_expired';
  return refused
    ? 'Bearer realm="chatgpt-rest", error="invalid_token"'
    : 'Bearer realm="chatgpt-rest"';
}

/**
 * The spec's error response for a {@link RestError}: JSON body, `Retry-After` and `Allow` when
 * known, `WWW-Authenticate` on a 401.
 */
export function errorResponse(error: RestError): Response {
  return jsonResponse(error.status, error.toJSON(), restErrorHeaders(error));
}

/**
 * The headers of the spec's error answer for a {@link RestError}: JSON, `Retry-After` and
 * `Allow` when known, `WWW-Authenticate` on a 401. Shared by {@link errorResponse} (web) and
 * `writeRestError` (Node).
 */
export function restErrorHeaders(error: RestError): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  if (error.allow !== undefined) headers.allow = error.allow.join(', ');
  if (error.status === 401) headers['www-authenticate'] = authenticateChallenge(error);
  return headers;
}
