/**
 * The credential of an `Authorization` header: `Bearer <token>`, or a bare token as the seed's
 * clients send it. The one rule for every reader of that header (REST auth, the token pool, the
 * sidecar's pass-through and readiness).
 */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (header == null) return undefined;
  const value = header.trim();
  const match = /^bearer\s+(.*)$/i.exec(value);
  const token = (match?.[1] ?? value).trim();
  return token === '' ? undefined : token;
}

/**
 * The API key a request carries (server-held mode): `X-API-Key`, else the `Authorization`
 * credential. A blank `X-API-Key` is a blank key (refused), not a fall-through. The one rule
 * for the authenticator, the sidecar's readiness details and its redaction of the caller's key.
 */
export function apiKeyOf(headers: Headers): string | undefined {
  return headers.get('x-api-key')?.trim() ?? bearerToken(headers.get('authorization'));
}
