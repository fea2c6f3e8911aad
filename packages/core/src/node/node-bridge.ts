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
