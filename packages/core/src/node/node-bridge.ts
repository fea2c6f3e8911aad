/** The Node bridge: Node `req`/`res` ↔ web `Request`/`Response`, shared by every Node adapter. */
export { DEFAULT_BODY_LIMIT, toWebRequest, type ToWebRequestOptions } from './incoming-request.js';
export { writeWebResponse, type WriteWebResponseOptions } from './write-response.js';
export {
  createNodeListener,
  failureResponse,
  serveNode,
  type ServeNodeOptions,
  type NodeListenerOptions,
  type WebHandler,
} from './node-listener.js';
export { frameworkResponse, type FrameworkResponse } from './framework-response.js';
export { rawRestError, writeRestError, type WriteRestErrorOptions } from './write-rest-error.js';
export { nodeRequestId, requestLogger, validRequestId } from '../http/request-id.js';
/**
 * For the project's own packages (the sidecar wraps the core's handler): a handler's Node face,
 * which may answer with responses only the core's Node writers can send. Not for hosts.
 */
export { nodeFaceOf, withNodeFace, type NodeFace } from '../http/node-face.js';
