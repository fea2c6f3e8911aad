import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Headers that describe one connection and never cross a proxy (RFC 9110 §7.6.1 and kin). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** The header names a `Connection` header lists (they are hop-by-hop too), lower case. */
function connectionNamed(value: string | string[] | number | undefined): Set<string> {
  const names = new Set<string>();
  const values = Array.isArray(value) ? value : value === undefined ? [] : [String(value)];
  for (const item of values) {
    for (const name of item.split(',')) {
      const trimmed = name.trim().toLowerCase();
      if (trimmed !== '') names.add(trimmed);
    }
  }
  return names;
}

/**
 * A copy of `headers` without hop-by-hop headers, the headers `Connection` names, and any name
 * `drop` refuses. Names come out lower case.
 */
export function endToEndHeaders(
  headers: IncomingHttpHeaders | OutgoingHttpHeaders,
  drop: (name: string) => boolean = () => false,
): OutgoingHttpHeaders {
  const named = connectionNamed(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || drop(name)) continue;
    out[name] = value;
  }
  return out;
}
