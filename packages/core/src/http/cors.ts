/**
 * CORS for browser apps on other origins: preflights answered, actual answers (errors and
 * streams included) marked with the origin they may be read from. Off unless configured.
 */
import { withHeaders } from './responses.js';

/** The `cors` option. */
export interface CorsOptions {
  /**
   * Origins allowed to call the API (`https://app.example.com`, exact match), `'*'` for any
   * origin, or a function deciding per origin: it allows by returning `true`; anything else
   * (a throw, a promise) refuses.
   */
  origins: '*' | readonly string[] | ((origin: string) => boolean);
  /**
   * Let the browser send cookies and HTTP auth with the call (`credentials: 'include'`); the
   * answer then names the origin, never `*`.
   * @default false
   */
  credentials?: boolean;
  /**
   * Response headers a page may read besides the CORS-safelisted ones.
   * @default ['X-Total-Count', 'Retry-After', 'WWW-Authenticate', 'X-Request-Id']
   */
  exposedHeaders?: readonly string[];
  /**
   * Request headers a page may send besides the CORS-safelisted ones.
   * @default ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-Id', 'Accept']
   */
  allowedHeaders?: readonly string[];
  /**
   * Seconds a browser may cache a preflight answer.
   * @default 600
   */
  maxAge?: number;
}

/** The policy the handler applies. */
export interface CorsPolicy {
  /** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`), else undefined. */
  preflight(request: Request, allow: readonly string[]): Response | undefined;
  /** `response` with the CORS headers for `request`'s origin (unchanged without an Origin). */
  decorate(request: Request, response: Response): Response;
  /** As `decorate`, for an answer that is no preflight's, given its request's `Origin`. */
  decorateFor(origin: string | null, response: Response): Response;
}

const DEFAULT_EXPOSED = [
  'X-Total-Count',
  'Retry-After',
  'WWW-Authenticate',
  'X-Request-Id',
  'X-ChatGPT-Conversation-Id',
];
const DEFAULT_ALLOWED = ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-Id', 'Accept'];
/** Request headers the official `openai` SDK adds (`x-stainless-os`, …), allowed by prefix. */
const SDK_HEADER = /^x-stainless-[\w-]+$/i;

function isPreflight(request: Request): boolean {
  return request.method === 'OPTIONS' && request.headers.has('access-control-request-method');
}

/** Checks the option and builds the policy; `undefined` or `false` means no CORS. */
export function corsPolicy(options: CorsOptions | false | undefined): CorsPolicy | undefined {
  if (options === undefined || options === false) return undefined;
  const { origins } = options;
  if (origins !== '*' && typeof origins !== 'function' && !Array.isArray(origins)) {
    throw new TypeError('chatgpt-rest: option cors.origins must be "*", a list or a function');
  }
  const credentials = options.credentials === true;
  const maxAge = options.maxAge ?? 600;
  if (!Number.isInteger(maxAge) || maxAge < 0) {
    throw new TypeError('chatgpt-rest: option cors.maxAge must be an integer >= 0');
  }
  const exposed = (options.exposedHeaders ?? DEFAULT_EXPOSED).join(', ');
  const allowedList = options.allowedHeaders ?? DEFAULT_ALLOWED;
  const allowed = new Set(allowedList.map((name) => name.toLowerCase()));
  const allows = (origin: string): boolean => {
    if (origins === '*') return true;
    if (typeof origins !== 'function') return (origins as readonly string[]).includes(origin);
    try {
      // Typed boolean, but from a host's JavaScript a promise (always truthy) may come back:
      // it refuses the origin, and its rejection must not go unhandled (that ends the process).
      const verdict: unknown = origins(origin);
      if (verdict instanceof Promise) verdict.catch(() => undefined);
      return verdict === true;
    } catch {
      // A host's check that throws (`new URL('null')`, say) refuses the origin: it must not
      // turn an answer already under way into a 500.
      return false;
    }
  };
  /** The `Access-Control-Allow-Origin` value for `origin`, or undefined when it is not allowed. */
  const allowOrigin = (origin: string | null): string | undefined => {
    if (origin === null || !allows(origin)) return undefined;
    return origins === '*' && !credentials ? '*' : origin;
  };
  const common = (headers: Headers, origin: string): void => {
    headers.set('access-control-allow-origin', origin);
    if (origin !== '*') headers.append('vary', 'Origin');
    if (credentials) headers.set('access-control-allow-credentials', 'true');
  };
  const decorateFor = (origin: string | null, response: Response): Response => {
    const allowedOrigin = allowOrigin(origin);
    if (allowedOrigin === undefined) return response;
    // Same body, more headers: a Node host still writes it directly.
    return withHeaders(response, (headers) => {
      common(headers, allowedOrigin);
      if (exposed !== '') headers.set('access-control-expose-headers', exposed);
    });
  };
  return {
    decorateFor,
    preflight(request, allow) {
      if (!isPreflight(request)) return undefined;
      const method = request.headers.get('access-control-request-method') ?? '';
      const headers = new Headers({ 'content-length': '0' });
      const origin = allowOrigin(request.headers.get('origin'));
      // A refused origin gets an answer without CORS headers: the browser then blocks the call.
      if (origin !== undefined && allow.includes(method.toUpperCase())) {
        common(headers, origin);
        headers.set('access-control-allow-methods', allow.join(', '));
        const asked = (request.headers.get('access-control-request-headers') ?? '')
          .split(',')
          .map((name) => name.trim())
          .filter(
            (name) =>
              name !== '' &&
              (allowed.has(name.toLowerCase()) ||
                (options.allowedHeaders === undefined && SDK_HEADER.test(name))),
          );
        if (asked.length > 0) headers.set('access-control-allow-headers', asked.join(', '));
        headers.set('access-control-max-age', String(maxAge));
      }
      return new Response(null, { status: 204, headers });
    },
    decorate(request, response) {
      // A preflight's answer is complete as `preflight` made it (a refusal has no CORS headers).
      return isPreflight(request) ? response : decorateFor(request.headers.get('origin'), response);
    },
  };
}
