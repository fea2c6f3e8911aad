/**
 * The REST API handler: wiring (options, upstream client, cache, auth), dispatch through the
 * router to the route modules in `routes/`, and failures turned into the spec's errors.
 */
import { createAuthenticator, tokenPoolOf, type Credentials } from './auth/authenticator.js';
import type { TokenPool } from './auth/token-pool.js';
import { RestError, isRestError } from './errors.js';
import { failureMapper } from './http/failures.js';
import { measureRequests } from './metrics/recorder.js';
import { requestIdOf, requestLogger, withRequestId } from './http/request-id.js';
import { requestTagOf } from './http/request-tag.js';
import { bodyParserError } from './http/request-body.js';
import { errorResponse } from './http/responses.js';
import { withNodeFace } from './http/node-face.js';
import { createRouter, type RouteMatch, type Router } from './http/router.js';
import { discardResponse } from './http/sse-response.js';
import { genuineResponse } from './http/whole-response.js';
import { uuidField } from './http/validation.js';
import type { Logger } from './logger.js';
import { resolveOptions, type ChatGptRestOptions, type ResolvedOptions } from './options.js';
import type { IdContext, Route, RouteContext, Services } from './routes/context.js';
import {
  conversationRoute,
  deleteAllRoute,
  listRoute,
  messagesRoute,
} from './routes/conversations.js';
import { completionsRoute, modelRoute, modelsRoute } from './routes/openai.js';
import { openapiRoute } from './routes/openapi.js';
import { askRoute, newConversationRoute, regenerateRoute } from './routes/turns.js';
import { openaiErrorResponse } from './openai/chat-response.js';
import { ThreadIndex } from './openai/thread-index.js';
import { UpstreamClient } from './upstream/upstream-client.js';
import { senderFor } from './upstream/web-sender.js';

/** The web-standard handler of the REST API. */
export interface ChatGptHandler {
  (request: Request): Promise<Response>;
  /** True when `pathname` is one of this API's routes (adapters call `next()` otherwise). */
  handles(pathname: string): boolean;
  /** The route template `pathname` matches (`/conversations/:id/ask`), for logs and metrics. */
  routeOf(pathname: string): string | undefined;
  /**
   * The answer to a host body parser's failure (`express.json()`, koa-bodyparser: malformed
   * JSON, too large, wrong type) on one of our paths, in that route's error shape (the REST
   * API's, or OpenAI's on `/v1`), with the CORS headers for `origin` (the request's `Origin`);
   * undefined for other paths and other errors.
   */
  parserFailure(pathname: string, error: unknown, origin?: string): Response | undefined;
  /** The resolved options. */
  readonly options: ResolvedOptions;
  /** The routes, for frameworks that register each one (Fastify). */
  readonly routes: readonly RouteInfo[];
}

/** A route of the API: its path pattern (`:id` marks the conversation id) and methods. */
export interface RouteInfo {
  path: string;
  methods: string[];
}

/** Every route, in match order (`new` and `all` before `:id`). */
const ROUTES: readonly Route[] = [
  openapiRoute,
  listRoute,
  newConversationRoute,
  deleteAllRoute,
  conversationRoute,
  askRoute,
  regenerateRoute,
  messagesRoute,
  completionsRoute,
  modelsRoute,
  modelRoute,
];

/** The credentials of a public route: it never calls the upstream. */
const ANONYMOUS: Credentials = { token: '', principal: '', label: 'anonymous' };

/** The 405 for a method the matched route does not serve, with `Allow`. */
function methodNotAllowed(route: Route): RestError {
  const allow = Object.keys(route.methods);
  return new RestError('method_not_allowed', `Use ${allow.join(' or ')} on this path.`, { allow });
}

/** `{ tag }` when the host gave `request` one (see `http/request-tag.ts`). */
/** The credentials the routes get: the authenticator's, with the request's logger and tag. */
function requestCredentials(found: Credentials, log: Logger, request: Request): Credentials {
  const credentials: Credentials = {
    token: found.token,
    principal: found.principal,
    label: found.label,
    log,
  };
  const tag = requestTagOf(request);
  if (tag !== undefined) credentials.tag = tag;
  if (found.unreserve !== undefined) credentials.unreserve = found.unreserve;
  return credentials;
}

/** A target's leading authority (`//a:b` of `//a:b/x`), which the URL parser may refuse. */
const AUTHORITY = /^[/\\]{2}[^/\\?#]*/;

/** The pathname the URL parser reads in `target`, relative to a dummy origin; none if it throws. */
function parsedPathname(target: string): string | undefined {
  try {
    return new URL(target, 'http://x').pathname;
  } catch {
    return undefined;
  }
}

/**
 * The pathname of a path or absolute URL, as routes are matched. A path whose authority the
 * parser refuses (`//a:b/x`, `//[`, `// /x`) is read as `//host/x` is, `/x`: a route there is
 * ours, and the raw path check refuses its empty segment with a 400, as on the Node bridge.
 * Never throws: `handles()` runs on every request of an Express or Koa app.
 */
function pathnameOf(target: string): string | undefined {
  return parsedPathname(target) ?? parsedPathname(target.replace(AUTHORITY, '//x'));
}

/** The route `target` (a path or absolute URL) matches, if any. */
function matchOf(router: Router<Route>, target: string): RouteMatch<Route> | undefined {
  const path = pathnameOf(target);
  return path === undefined ? undefined : router.match(path);
}

/** The handler's `parserFailure`. */
function parserFailureOf(router: Router<Route>, cors: ResolvedOptions['cors']) {
  return (pathname: string, error: unknown, origin?: string): Response | undefined => {
    const route = matchOf(router, pathname)?.route;
    const restError = route === undefined ? undefined : bodyParserError(error);
    if (restError === undefined) return undefined;
    const response = shapedError(restError, route);
    return cors === undefined ? response : cors.decorateFor(origin ?? null, response);
  };
}

/** `error` in the error shape of `route`: the REST API's, or OpenAI's. */
function shapedError(error: RestError, route: Route | undefined): Response {
  const response = errorResponse(error);
  return route?.errors === 'openai' ? openaiErrorResponse(error, response) : response;
}

/**
 * The route's own handler of `method`, if any. A fetch-style host passes any method token as it
 * came: `constructor` or `__proto__` must not find `Object.prototype`'s members.
 */
function ownMethod<H>(methods: Partial<Record<string, H>>, method: string): H | undefined {
  return Object.hasOwn(methods, method) ? methods[method] : undefined;
}

/** Calls the matched route's handler; a `:id` route gets the id, checked to be a UUID. */
function invoke(found: RouteMatch<Route>, base: RouteContext): Promise<Response> {
  const { route } = found;
  const method = base.request.method;
  if (route.kind === 'collection') {
    const run = ownMethod(route.methods, method);
    if (run === undefined) throw methodNotAllowed(route);
    return run(base);
  }
  const run = ownMethod(route.methods, method);
  if (run === undefined) throw methodNotAllowed(route);
  const check = route.checkId ?? ((raw: string) => uuidField('conversation_id', raw));
  // The context is this request's own: its id is added in place (a spread of it cost ~1 us).
  const context = base as IdContext;
  context.id = check(found.id ?? '');
  return run(context);
}

/**
 * The conversation a path names, as the pool keeps it (lower case, as the upstream sends it), so
 * that any spelling of a UUID goes to the token holding it; none for an id that is no conversation.
 */
function conversationOf(found: RouteMatch<Route>): string | undefined {
  if (found.id === undefined || found.route.kind === 'collection') return undefined;
  return found.route.checkId === undefined ? found.id.toLowerCase() : undefined;
}

/** The services the routes share, and the token pool behind them (none without held tokens). */
function createServices(options: ResolvedOptions): { services: Services; pool?: TokenPool } {
  // Held tokens: each upstream call takes a lease (load, one message at a time, 401s, caps).
  const pool = tokenPoolOf(options.auth, options.logger, options.store.tokens);
  const lease = pool === undefined ? undefined : pool.lease.bind(pool);
  // The tokens held now (a reload may change them), leaving ones included: never shown.
  const heldTokens = (): readonly string[] => pool?.heldTokens() ?? [];
  const services: Services = {
    options,
    upstream: new UpstreamClient(options, senderFor(options), lease),
    cache: options.store.conversations(options.cache),
    toRestError: failureMapper(heldTokens),
    threads: new ThreadIndex(10_000, 24 * 60 * 60 * 1000),
  };
  options.metrics.watch({ pool, cache: services.cache });
  return pool === undefined ? { services } : { services, pool };
}

/** Creates the REST API handler: `(request: Request) => Promise<Response>`. */
export function createHandler(userOptions: ChatGptRestOptions = {}): ChatGptHandler {
  const options = resolveOptions(userOptions);
  const { logger } = options;
  const { services, pool } = createServices(options);
  const authenticate = createAuthenticator(options.auth, pool);
  const router = createRouter(ROUTES, options.prefix);

  async function dispatch(request: Request, requestId: string, log: Logger): Promise<Response> {
    const url = new URL(request.url);
    const found = router.match(url.pathname);
    const scope = { request, requestId, log };
    let credentials: Credentials | undefined;
    try {
      if (found === undefined) {
        throw new RestError('not_found', `No route for ${request.method} ${url.pathname}.`);
      }
      const preflight = options.cors?.preflight(request, Object.keys(found.route.methods));
      if (preflight !== undefined) return preflight;
      // 405 before 401: which methods a path takes is no secret.
      if (ownMethod(found.route.methods, request.method) === undefined) {
        throw methodNotAllowed(found.route);
      }
      credentials =
        found.route.public === true
          ? ANONYMOUS
          : await authenticate(request.headers, conversationOf(found));
      // Built field by field: spreading objects of many shapes here cost ~5 us a request.
      const context: RouteContext = {
        request,
        requestId,
        log,
        url,
        credentials: requestCredentials(credentials, log, request),
        signal: request.signal,
        services,
      };
      return await invoke(found, context);
    } catch (error) {
      // A request refused before its upstream call (a bad body, say) frees its token's pick.
      credentials?.unreserve?.();
      if (request.signal.aborted && !isRestError(error)) {
        // The client left; nobody reads this answer.
        return new Response(null, { status: 499 });
      }
      const restError = services.toRestError(error, scope);
      log.info(
        {
          method: request.method,
          path: url.pathname,
          code: restError.code,
          status: restError.status,
        },
        'request failed',
      );
      return shapedError(restError, found?.route);
    }
  }

  const serve = async (request: Request): Promise<Response> => {
    // One id per request: the client's (or the bridge's) valid X-Request-Id, else a new one.
    const requestId = requestIdOf(request.headers);
    const response = await dispatch(request, requestId, requestLogger(logger, requestId));
    return finished(response, request, requestId, options.cors);
  };
  const routeOf = (pathname: string): string | undefined => matchOf(router, pathname)?.template;
  const measured = measureRequests(serve, routeOf, options.metrics);
  // The web face hands out genuine Responses; the Node bridge calls the Node face.
  const handler = async (request: Request): Promise<Response> =>
    genuineResponse(await measured(request));
  return Object.assign(withNodeFace(handler, measured), {
    handles: (pathname: string) => routeOf(pathname) !== undefined,
    routeOf,
    parserFailure: parserFailureOf(router, options.cors),
    options,
    routes: ROUTES.map((route) => ({ path: route.path, methods: Object.keys(route.methods) })),
  });
}

/** `response` with its CORS and request-id headers; discarded if adding them throws. */
function finished(
  response: Response,
  request: Request,
  requestId: string,
  cors: ResolvedOptions['cors'],
): Response {
  try {
    return withRequestId(
      cors === undefined ? response : cors.decorate(request, response),
      requestId,
    );
  } catch (error) {
    // A turn may be under way behind `response`: nobody will write it, so let it stop.
    discardResponse(response, error);
    throw error;
  }
}
