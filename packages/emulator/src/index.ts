/**
 * `@chatgpt-rest/emulator`: a faithful emulator of the ChatGPT web backend for tests, plus
 * the helpers its tests use to compare streams with real captures.
 */
export { createBackendEmulator } from './emulator.js';
export type {
  BackendEmulator,
  BackendEmulatorOptions,
  EmulatorDialect,
  EmulatorSettings,
  RecordedRequest,
  RequestClosure,
} from './types.js';
export type { ReplyPlan, StoredConversation } from './conversation-store.js';
export type { Fault, FaultMatch, FaultRule, StatusFault, StreamFault } from './faults.js';
export type { Chunking, StreamProfile } from './frames.js';
export { STREAM_PROFILES } from './frames.js';
export type { ReplyContext, ReplyFunction } from './reply-generator.js';
export { generateReply } from './reply-generator.js';
export type { TokenOptions, TokenState } from './access-tokens.js';
export { AccessTokens } from './access-tokens.js';
export type { Refusal, SentinelOptions } from './sentinel.js';
export type { ErrorAnswer } from './backend-errors.js';
export * as backendErrors from './backend-errors.js';
export type { ShapeStep, SseBlock } from './sse-shape.js';
export { eventKind, keyPaths, parseSse, streamShape } from './sse-shape.js';
export { pythonJson } from './python-json.js';
