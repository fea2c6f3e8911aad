/**
 * The one check of a raw request path before a URL parser sees it. A WHATWG URL resolves dot
 * segments, plain or `%2e`-encoded, so `/chat/x/%2e%2e/conversations` would be served as
 * `/chat/conversations` after the host app routed (and guarded) the raw path: such paths are
 * refused, never normalised.
 */

// Encoded dot, slash, backslash, NUL and percent (double encoding): never needed by this API,
// and the classic ways around a path check.
const ENCODED_TRICKS = /%(?:2e|2f|5c|00|25)/i;

/** Why a raw path (query excluded or not) is refused, as a sentence for a 400; undefined if fine. */
export function unsafePathReason(target: string): string | undefined {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (path.includes('\\')) return 'The request path must not contain a backslash.';
  if (path.includes('\0')) return 'The request path must not contain NUL.';
  if (ENCODED_TRICKS.test(path)) {
    return 'The request path must not contain encoded dots, slashes or percents.';
  }
  if (path.includes('//')) return 'The request path must not hold empty segments.';
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'The request path must not contain "." or ".." segments.';
  }
  return undefined;
}
