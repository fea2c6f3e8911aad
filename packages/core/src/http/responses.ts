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

/** The spec's error response for a {@link RestError}: JSON body, `Retry-After` and `Allow` when known. */
export function errorResponse(error: RestError): Response {
  const headers = new Headers();
  if (error.retryAfter !== undefined) headers.set('retry-after', String(error.retryAfter));
  if (error.allow !== undefined) headers.set('allow', error.allow.join(', '));
  return jsonResponse(error.status, error.toJSON(), headers);
}
