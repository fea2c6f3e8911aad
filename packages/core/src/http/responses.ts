import { RestError } from '../errors.js';
import { keepDirect } from './sse-response.js';

const WHOLE = Symbol('chatgpt-rest.whole-body');
type WithWhole = Response & { [WHOLE]?: string };

/**
 * A JSON response with the given status. It carries its text beside the web body, so a Node
 * writer sends it with its head in one write without reading the body ({@link wholeBody}).
 */
export function jsonResponse(
  status: number,
  body: unknown,
  headers?: Headers | Record<string, string>,
): Response {
  const text = JSON.stringify(body);
  const h = new Headers(headers);
  h.set('content-type', 'application/json; charset=utf-8');
  h.set('content-length', String(Buffer.byteLength(text)));
  const response = new Response(text, { status, headers: h });
  Object.defineProperty(response, WHOLE, { value: text });
  return response;
}

/**
 * The body text of a response {@link jsonResponse} made, unless its body was read or locked
 * (a host took it): then the body is the only way.
 */
export function wholeBody(response: Response): string | undefined {
  const text = (response as WithWhole)[WHOLE];
  if (text === undefined || response.bodyUsed || response.body?.locked === true) return undefined;
  return text;
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
    const copy = new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
    const text = (response as WithWhole)[WHOLE];
    if (text !== undefined && copy.body === response.body) {
      Object.defineProperty(copy, WHOLE, { value: text });
    }
    return keepDirect(response, copy);
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
