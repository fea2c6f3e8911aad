/**
 * Where the transport's requests go: a URL as `http.request` takes it. The upstream's origin is
 * the same for every call, so it is parsed once; plain paths are taken as they are.
 */
import { urlToHttpOptions } from 'node:url';

/** Where a request goes, as `http.request` takes it. */
export interface Target {
  protocol: string;
  hostname: string | null | undefined;
  port: number | string | null | undefined;
  auth: string | null | undefined;
  path: string | null | undefined;
}

/** The fields of a URL's request options that name a target. */
function targetOf(url: URL, path?: string): Target {
  const { protocol, hostname, port, auth, path: own } = urlToHttpOptions(url);
  return { protocol: protocol ?? '', hostname, port, auth, path: path ?? own };
}

/** A path that needs no normalising: no fragment, nothing to percent-encode (but `'` in a query). */
const PLAIN_PATH = /^\/[\w\-.~!$&'()*+,;=:@/?%]*$/;
/** A dot segment, plain or percent-encoded (`URL` resolves `%2e%2e` as `..`). */
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)|%2e/i;
const SPLIT_ORIGIN = /^(https?:\/\/[^/?#]+)(\/.*)?$/s;

/**
 * The request options of URLs: an origin is parsed once (the upstream's is the same for every
 * call), its plain paths taken as they are; anything else is parsed whole, as `URL` does.
 */
export class Targets {
  readonly #origins = new Map<string, Target>();

  of(input: string): Target {
    const split = SPLIT_ORIGIN.exec(input);
    const path = split?.[2] ?? '/';
    if (split?.[1] === undefined || !PLAIN_PATH.test(path) || DOT_SEGMENT.test(path)) {
      return targetOf(new URL(input));
    }
    const { protocol, hostname, port, auth } = this.#origin(split[1]);
    return { protocol, hostname, port, auth, path };
  }

  #origin(origin: string): Target {
    let target = this.#origins.get(origin);
    if (target === undefined) {
      target = targetOf(new URL(origin), '/');
      // Bounded: the upstream's origin, a health check's; a stray one is parsed each time.
      if (this.#origins.size < 16) this.#origins.set(origin, target);
    }
    return target;
  }
}
