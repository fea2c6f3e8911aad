/**
 * @chatgpt-rest/express: `app.use(chatGptRoutes())` mounts the chatgpt-rest REST API in an
 * Express 4 or 5 app. All behaviour lives in @chatgpt-rest/core; this file only bridges.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHandler, serveNode, type ChatGptRestOptions } from '@chatgpt-rest/core';

export * from '@chatgpt-rest/core';

/** The parts of Express's `req` the mount reads (structural, so Express 4 and 5 both fit). */
type ExpressRequest = IncomingMessage & { path?: string; url: string; body?: unknown };

/** Express middleware: `(req, res, next)`. */
export type ChatGptMiddleware = (
  req: ExpressRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/** Express middleware serving the REST API; unknown paths go on to `next()`. */
export function chatGptRoutes(options: ChatGptRestOptions = {}): ChatGptMiddleware {
  const handler = createHandler(options);
  return (req, res, next) => {
    // Express strips the mount path from `req.url`, so the core sees `/conversations/...`.
    if (!handler.handles(req.path ?? req.url)) {
      next();
      return;
    }
    void serveNode(handler, req, res, {
      url: req.url,
      body: req.body,
      bodyLimit: handler.options.limits.body,
    });
  };
}
