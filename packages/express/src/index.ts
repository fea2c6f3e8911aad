/**
 * @chatgpt-rest/express: `app.use(chatGptRoutes())` mounts the chatgpt-rest REST API in an
 * Express 4 or 5 app. All behaviour lives in @chatgpt-rest/core; this file only bridges.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createHandler,
  nodeRequestId,
  serveNode,
  writeWebResponse,
  type ChatGptRestOptions,
} from '@chatgpt-rest/core';

export * from '@chatgpt-rest/core';

/** The parts of Express's `req` the mount reads (structural, so Express 4 and 5 both fit). */
type ExpressRequest = IncomingMessage & {
  path?: string;
  url: string;
  baseUrl?: string;
  body?: unknown;
};
type Next = (error?: unknown) => void;

/** Express middleware: `(req, res, next)`. */
export type ChatGptMiddleware = (req: ExpressRequest, res: ServerResponse, next: Next) => void;
/** Express error middleware: `(err, req, res, next)`. */
export type ChatGptErrorMiddleware = (
  error: unknown,
  req: ExpressRequest,
  res: ServerResponse,
  next: Next,
) => void;

/**
 * Express middleware serving the REST API; unknown paths go on to `next()`. The second entry
 * answers the app's own body parser failures on our paths (malformed JSON, too large) with the
 * spec's JSON errors instead of Express's HTML page.
 */
export function chatGptRoutes(
  options: ChatGptRestOptions = {},
): [ChatGptMiddleware, ChatGptErrorMiddleware] {
  const handler = createHandler(options);
  // Express strips the mount path from `req.url`, so the core sees `/conversations/...`.
  return [
    (req, res, next) => {
      if (!handler.handles(req.path ?? req.url)) return next();
      const { body } = req;
      void serveNode(handler, req, res, {
        url: req.url,
        mountPath: req.baseUrl ?? '',
        body,
        bodyLimit: handler.options.limits.body,
      });
    },
    (error, req, res, next) => {
      // Headers a host middleware already sent leave only Express's way: close the connection.
      const answer = res.headersSent
        ? undefined
        : handler.parserFailure(req.path ?? req.url, error, req.headers.origin);
      if (answer === undefined) return next(error);
      nodeRequestId(req, res);
      // A failed write has ended or cut `res` already; nothing is left to do with the error.
      writeWebResponse(res, answer).catch(() => undefined);
    },
  ];
}
