import type { IncomingMessage, ServerResponse } from 'node:http';
import { RestError, isRestError } from '../errors.js';
import { setMountPath } from '../http/mount-path.js';
import { nodeFaceOf } from '../http/node-face.js';
import { setRequestTag } from '../http/request-tag.js';
import { nodeRequestId } from '../http/request-id.js';
import { errorResponse } from '../http/responses.js';
import { toWebRequest, type ToWebRequestOptions } from './incoming-request.js';
import { nodeRequestView } from './request-view.js';
import { writeWebResponse } from './write-response.js';

/** A web-standard request handler, the shape of the core. */
export type WebHandler = (request: Request) => Promise<Response>;

/** Options of {@link createNodeListener}. */
export interface NodeListenerOptions {
  /**
   * Largest request body accepted, in bytes.
   * @default 1048576 (1 MiB)
   */
  bodyLimit?: number;
  /**
   * Told about every failure that is a bug or a broken stream (never about `RestError`s, which
   * are answers): log it here. It must not throw; if it does, the throw is ignored.
   */
  onError?: (error: unknown) => void;
}

/** A `node:http` request listener serving `handler`; errors become the spec's JSON errors. */
export function createNodeListener(
  handler: WebHandler,
  options: NodeListenerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void serveNode(handler, req, res, options);
  };
}

/** Options of {@link serveNode}: the listener's, plus what an adapter knows about the request. */
export type ServeNodeOptions = NodeListenerOptions &
  Pick<ToWebRequestOptions, 'url' | 'body'> & {
    /**
     * The id the host already gave this request (Fastify's `request.id`, the sidecar's): used,
     * when valid, if the client sent no valid `X-Request-Id` (see {@link nodeRequestId}).
     */
    requestId?: string;
    /**
     * Where the framework mounted the routes when it strips that path from `url` (Express's
     * `req.baseUrl`): the OpenAPI document's `servers` entry names it.
     */
    mountPath?: string;
    /**
     * An object of the host's for this request (its request-log entry, say), handed to the
     * upstream `fetch` of every call made for it as `init.tag`.
     */
    tag?: object;
  };

/**
 * Serves one Node request with `handler`: the whole bridge in one call, for adapters. Never
 * rejects; failures become the spec's JSON errors, or a cut connection once a stream started.
 */
export async function serveNode(
  handler: WebHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: ServeNodeOptions = {},
): Promise<void> {
  let signal: AbortSignal | undefined;
  let response: Response;
  try {
    const bridged = bridgeRequest(handler, req, res, options);
    signal = bridged.request.signal;
    response = await bridged.answer();
  } catch (error) {
    response = failureResponse(error, options.onError);
  }
  // Returned, not awaited: a stream's life holds no frame of this function.
  return writeWebResponse(res, response, { signal }).catch((error: unknown) => {
    // Headers are gone and writeWebResponse has cut the connection; all that is left is to tell.
    report(options.onError, error);
  });
}

/**
 * One Node request as the bridge hands it to `handler`, for {@link serveNode} and
 * `frameworkResponse`: the core's own handler (one with a Node face) reads a request view, any
 * other a real `Request`; the request id, the mount path and the host's tag go with it.
 * `answer` calls the handler and checks it returned a `Response`. Throws what building the
 * request throws (a `RestError` for an unsafe path or a refused method).
 */
export function bridgeRequest(
  handler: WebHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: ServeNodeOptions,
): { request: Request; answer: () => Promise<Response> } {
  const face = nodeFaceOf(handler);
  const request = (face === undefined ? toWebRequest : nodeRequestView)(req, res, {
    bodyLimit: options.bodyLimit,
    url: options.url,
    body: options.body,
    requestId: nodeRequestId(req, res, options.requestId),
  });
  if (options.mountPath !== undefined) setMountPath(request, options.mountPath);
  if (options.tag !== undefined) setRequestTag(request, options.tag);
  const answer = async (): Promise<Response> => {
    const response = await (face ?? handler)(request);
    if (!(response instanceof Response)) {
      throw new TypeError('The handler did not return a Response.');
    }
    return response;
  };
  return { request, answer };
}

/** The response for a thrown value: its own for a `RestError`, a bare 500 for anything else. */
export function failureResponse(error: unknown, onError?: (error: unknown) => void): Response {
  if (isRestError(error)) return errorResponse(error);
  report(onError, error);
  // A foreign error's message may hold anything (tokens, paths); the client gets a fixed text.
  return errorResponse(new RestError('internal_error', 'Internal error'));
}

function report(onError: ((error: unknown) => void) | undefined, error: unknown): void {
  try {
    onError?.(error);
  } catch {
    // A failing logger must not take the server down with it.
  }
}
