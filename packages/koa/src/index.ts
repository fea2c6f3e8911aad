/**
 * @chatgpt-rest/koa: `app.use(chatGptRoutes())` mounts the chatgpt-rest REST API in a Koa 2 or 3
 * app. All behaviour lives in @chatgpt-rest/core; this file only bridges.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createHandler,
  frameworkResponse,
  nodeRequestId,
  type ChatGptRestOptions,
} from '@chatgpt-rest/core';

export * from '@chatgpt-rest/core';

/** The parts of Koa's `ctx` the mount reads (structural, so Koa 2 and 3 both fit). */
interface KoaContext {
  path: string;
  url: string;
  req: IncomingMessage;
  res: ServerResponse;
  request: { body?: unknown };
  status: number;
  body: unknown;
  type: string;
  set(field: string, value: string): void;
  append(field: string, value: string): void;
}

/** Koa middleware: `(ctx, next)`. */
export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;

/** The routes' middleware, with the error catcher that goes before the app's body parser. */
export type ChatGptMiddleware = KoaMiddleware & {
  /**
   * Mount it before a body parser (`app.use(routes.errors)`, then the parser, then `routes`):
   * the parser's failures on our paths (malformed JSON, too large, wrong type) become the
   * spec's JSON errors instead of Koa's `text/plain` ones. Other errors and paths pass through.
   */
  errors: KoaMiddleware;
};

/** Koa middleware serving the REST API; unknown paths go on to `next()`. */
export function chatGptRoutes(options: ChatGptRestOptions = {}): ChatGptMiddleware {
  const handler = createHandler(options);
  const routes: KoaMiddleware = async (ctx, next) => {
    if (!handler.handles(ctx.path)) return next();
    const answer = await frameworkResponse(handler, ctx.req, ctx.res, {
      url: ctx.url,
      body: ctx.request.body,
      bodyLimit: handler.options.limits.body,
    });
    // Koa writes it once the app's middleware around ours has seen it (and maybe changed it).
    ctx.body = answer.body ?? null; // before the status: Koa makes an empty body a 204
    ctx.status = answer.status;
    for (const [name, value] of answer.headers) {
      if (name === 'set-cookie') ctx.append(name, value);
      else ctx.set(name, value);
    }
    return undefined;
  };
  const errors: KoaMiddleware = async (ctx, next) => {
    try {
      return await next();
    } catch (error) {
      const answer = handler.parserFailure(ctx.path, error, ctx.req.headers.origin);
      if (answer === undefined) throw error;
      ctx.set('x-request-id', nodeRequestId(ctx.req, ctx.res));
      ctx.status = answer.status;
      for (const [name, value] of answer.headers) ctx.set(name, value);
      ctx.body = await answer.text();
      return undefined;
    }
  };
  return Object.assign(routes, { errors });
}
