/**
 * Values the upstream (or a host hook) hands us to send back in a header: the sentinel's
 * requirements token, the prepare call's conduit token, a challenge answer.
 */

/** A token sent back in a header: printable ASCII without spaces, as every real one is. */
const HEADER_TOKEN = /^[\x21-\x7e]+$/;
/** Longest such token: real ones are under 2 KB; servers refuse headers past 8–16 KiB. */
const MAX_HEADER_TOKEN = 16 * 1024;

/**
 * True when `value` can go out as a header token. A CR or LF made `http.request` throw, which read
 * as an unreachable upstream (503) instead of the upstream's malformed answer.
 */
export function isHeaderToken(value: string): boolean {
  return value.length <= MAX_HEADER_TOKEN && HEADER_TOKEN.test(value);
}
