/**
 * Checks a raw request target before anything routes it. A path that a URL parser, a proxy or
 * the upstream could read as another host or another directory never goes further.
 */

/** A request target split into its path and its query (`?…`, or ''). */
export interface RequestTarget {
  path: string;
  query: string;
}

// Encoded dot, slash, backslash, NUL and percent (double encoding) in a path: never needed by
// this API or the backend, and the classic ways around a path check.
const ENCODED_TRICKS = /%(?:2e|2f|5c|00|25)/i;

/** The target's path and query, or the reason it is refused (a sentence for a 400). */
export function checkRequestTarget(raw: string | undefined): RequestTarget | { refused: string } {
  const target = raw ?? '/';
  if (!target.startsWith('/')) {
    return { refused: 'The request target must be a path (absolute-form targets are refused).' };
  }
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (path.startsWith('//')) {
    return { refused: 'The request target must not start with "//".' };
  }
  if (path.includes('//')) return { refused: 'The request path must not hold empty segments.' };
  if (path.includes('\\')) return { refused: 'The request path must not contain a backslash.' };
  if (ENCODED_TRICKS.test(path)) {
    return { refused: 'The request path must not contain encoded dots, slashes or percents.' };
  }
  const segments = path.split('/').slice(1);
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    return { refused: 'The request path must not contain "." or ".." segments.' };
  }
  return { path, query };
}
