/**
 * @chatgpt-rest/core: a framework-agnostic, web-standard handler serving a REST API for ChatGPT
 * conversations, and the Node bridge that mounts it on `node:http`.
 */
export { createHandler, type ChatGptHandler, type RouteInfo } from './handler.js';
export {
  createHealthChecks,
  type HealthAnswer,
  type HealthChecks,
  type HealthOptions,
} from './health.js';
export type { MetricsOptions, MetricsRegistry } from './metrics/recorder.js';
export {
  createNodeFetch,
  forwardingFetch,
  type NodeFetchOptions,
  type UpstreamFetchInit,
} from './upstream/node-transport.js';
export {
  resolveDialect,
  resolveOptions,
  type AuthOptions,
  type ChatGptRestOptions,
  type HeldToken,
  type WebChallenge,
  type WebOptions,
  type ResolvedOptions,
} from './options.js';
export { MAX_TIMER_MS } from './timer-limit.js';
export type { CorsOptions, CorsPolicy } from './http/cors.js';
export { RestError, STATUS_BY_CODE, isRestError, type ErrorCode } from './errors.js';
export { bodyParserError, tooLarge } from './http/request-body.js';
export { authenticateChallenge, errorResponse, restErrorHeaders } from './http/responses.js';
export { openapiDocument } from './http/openapi.js';
export { sseErrorFrame } from './http/sse-response.js';
export { endableSse, type EndStream, type RegisterEnd } from './http/endable-sse.js';
export type { Reply, ThreadMessage } from './conversation/reply.js';
export { silentLogger, type Logger } from './logger.js';
export { apiKeyOf, bearerToken } from './auth/bearer.js';
export {
  createAuthenticator,
  createKeyCheck,
  isApiKey,
  tokenPoolOf,
  type Authenticator,
  type Credentials,
} from './auth/authenticator.js';
export {
  TokenPool,
  type ChosenToken,
  type TokenChanges,
  type TokenPoolOptions,
  type TokenState,
  type TokenStatus,
} from './auth/token-pool.js';
export {
  conversationIdSniffer,
  isMessagePost,
  type Lease,
  type LeaseOptions,
} from './auth/lease.js';
export { MemoryStore, type MemoryStoreOptions } from './store/memory-store.js';
export { addMessage, jsonLength, setTitle } from './conversation/message-tree.js';
export {
  accountOf,
  busy,
  storeUnavailable,
  type AccountState,
  type AccountsView,
  type CacheBounds,
  type CacheStats,
  type CacheStore,
  type CachedConversation,
  type MaybePromise,
  type PlacedMessage,
  type SharedStore,
  type SlotOptions,
  type StoreHealth,
  type TokenStore,
} from './store/store.js';
export type * from './backend/types.js';
export * from './node/node-bridge.js';
