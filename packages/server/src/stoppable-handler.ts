/**
 * The core's handler as the sidecar serves it: 401s carry a challenge, and REST event streams
 * can be ended at shutdown.
 */
import {
  RestError,
  endableSse,
  nodeFaceOf,
  withNodeFace,
  type ChatGptHandler,
  type WebHandler,
} from '@chatgpt-rest/core';
import { wwwAuthenticate } from './pass-through.js';
import { SHUTDOWN_MESSAGE, shutdownFrame, type StreamStoppers } from './shutdown.js';

/** A 401 of the core without `WWW-Authenticate` gets one (RFC 9110 §11.6.1), by its code. */
async function withChallenge(response: Response): Promise<Response> {
  if (response.status !== 401 || response.headers.has('www-authenticate')) return response;
  const text = await response.text();
  let code: unknown;
  try {
    code = (JSON.parse(text) as { code?: unknown }).code;
  } catch {
    code = undefined;
  }
  const headers = new Headers(response.headers);
  headers.set('www-authenticate', wwwAuthenticate(code));
  return new Response(text, { status: 401, headers });
}

/**
 * The core's handler as the sidecar serves it: 401s get a challenge, and event streams can be
 * ended at shutdown (`restStreams`): the frame, then the stream cancelled with the reason, which
 * aborts its upstream request.
 */
export function stoppable(handler: ChatGptHandler, restStreams: StreamStoppers): WebHandler {
  // Served by the sidecar's own Node bridge only: built on the handler's Node face, and one.
  const face = nodeFaceOf(handler) ?? handler;
  const served: WebHandler = async (request) => {
    const response = await withChallenge(await face(request));
    const type = response.headers.get('content-type') ?? '';
    // Never `body` here: asking for it would build the web stream Node mounts never read.
    if (!type.startsWith('text/event-stream')) return response;
    const requestId = response.headers.get('x-request-id') ?? undefined;
    return endableSse(response, (end) => {
      const stop = (): void => {
        end(shutdownFrame(requestId), new RestError('upstream_unavailable', SHUTDOWN_MESSAGE));
      };
      return restStreams.add(stop);
    });
  };
  return withNodeFace(served, served);
}
