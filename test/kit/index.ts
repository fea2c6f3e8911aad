/**
 * `@chatgpt-rest/test-kit`: what the repository's tests share, so that each exists once — the
 * captures' path, the backend message body, the SSE reader (the product's), the JSON call helpers.
 */
export {
  countedBody,
  pullsWhileClientPauses,
  type CountedBody,
  type Stall,
} from './back-pressure.js';
export { FIXTURES, fixtureBytes, fixtureJson, fixtureText } from './fixtures.js';
export { captureLogs, type CapturedLogs, type LogLine } from './logs.js';
export { frameworkListener, listenOn } from './listen.js';
export { jsonRequest, readReply, type Json, type JsonRequestOptions, type Reply } from './http.js';
export { messageBody } from './message-body.js';
export { parseMetrics, sampleTable, type Sample } from './metrics.js';
export {
  allEvents,
  dataEvents,
  dataPayloads,
  readEvents,
  sseEvents,
  type SseEvent,
} from './sse.js';
export {
  createOpenApiValidator,
  type AnswerParts,
  type OpenApiValidator,
  type Report,
} from './openapi-validator.js';
export { REDIS_MISSING, findRedisServer, startRedisServer, type RedisServer } from './redis.js';
export { recordingTransport } from './transport.js';
