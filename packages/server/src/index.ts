/**
 * @chatgpt-rest/server: chatgpt-rest as a standalone server or sidecar, with the REST API, a
 * hardened `/backend-api` pass-through, server-held tokens, health checks and graceful shutdown.
 */
export { createServer, SHUTDOWN_MESSAGE, type Sidecar, type SidecarOptions } from './server.js';
export {
  ConfigError,
  OPTIONS,
  helpText,
  loadConfig,
  parseTokens,
  type DialectSetting,
  type OptionSpec,
  type SidecarConfig,
} from './config.js';
export {
  DEFAULT_PASS_THROUGH_ALLOW,
  PASS_THROUGH_PREFIX,
  compileAllowlist,
  createPassThrough,
  type PassThrough,
  type BufferedBytes,
  type PassThroughOptions,
  type RequestNote,
} from './pass-through.js';
export { checkRequestTarget, type RequestTarget } from './request-target.js';
export { endToEndHeaders } from './hop-headers.js';
export { createJsonLogger, LOG_LEVELS, type JsonLoggerOptions, type LogLevel } from './logger.js';
export { demoCommands, demoPages } from './demo.js';
