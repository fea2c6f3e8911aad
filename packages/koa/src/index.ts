/**
 * @chatgpt-rest/koa: `app.use(chatGptRoutes())` mounts the chatgpt-rest REST API in a Koa 2 or 3
 * app. All behaviour lives in @chatgpt-rest/core; this file only bridges.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHandler, serveNode, type ChatGptRestOptions } from '@chatgpt-rest/core';

export * from '@chatgpt-rest/core';

/** The parts of Koa's `ctx` the mount reads (structural, so Koa 2 and 3 both fit). */
interface KoaContext {
  path: string;
  url: string;
  req: IncomingMessage;
  res: ServerResponse;
  request: { body?: unknown };
  respond?: boolean;
}

/** Koa middleware: `(ctx, next)`. */
export type ChatGptMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;

/** Koa middleware serving the REST API; unknown paths go on to `next()`. */
export function chatGptRoutes(options: ChatGptRestOptions = {}): ChatGptMiddleware {
  const handler = createHandler(options);
  return async (ctx, next) => {
    if (!handler.handles(ctx.path)) return next();
    // We write the response ourselves (streams, back-pressure); Koa must not touch `res`.
    ctx.respond = false;
    await serveNode(handler, ctx.req, ctx.res, {
      url: ctx.url,
      body: ctx.request.body,
      bodyLimit: handler.options.limits.body,
    });
    return undefined;
  };
}
