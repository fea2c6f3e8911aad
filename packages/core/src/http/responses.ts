import { RestError } from '../errors.js';

/** A JSON response with the given status. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers?: Headers | Record<string, string>,
): Response {
  const text = JSON.stringify(body);
  const h = new Headers(headers);
  h.set('content-type', 'application/json; charset=utf-8');
  h.set('content-length', String(Buffer.byteLength(text)));
  return new Response(text, { status, headers: h });
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
