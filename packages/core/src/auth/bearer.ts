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
