/**
 * The sidecar's settings: one table of flags, environment variables, config-file keys, typed
 * defaults and parsers, behind `--help`, `loadConfig` and the README.
 */
import { LOG_LEVELS, type LogLevel } from './logger.js';
import {
  allowlist,
  boolean,
  dialect,
  folder,
  integer,
  logLevel,
  origins,
  redisUrl,
  text,
  upstreamUrl,
  type DialectSetting,
} from './option-parsers.js';
import { DEFAULT_PASS_THROUGH_ALLOW } from './pass-through.js';

export { ConfigError, text, type DialectSetting } from './option-parsers.js';

type Kind = 'string' | 'integer' | 'boolean' | 'list';

/** One setting: its flag, environment variable, config-file key, default, parser and meaning. */
export interface OptionSpec<T = unknown> {
  key: string;
  flag: string;
  env: string | undefined;
  kind: Kind;
  /** The value when no flag, variable or file sets it; none: the setting stays unset. */
  default?: T;
  /** How `--help` shows the default when the value itself would not say it well. */
  shown?: string;
  meaning: string;
  /** Whether the JSON config file may set it. */
  inFile: boolean;
  /** Checks a value from a flag, the environment or the file (`where` names it in errors). */
  parse: (value: unknown, where: string) => T;
  /** A secrets file (tokens, API keys): the variable that may hold its entries inline instead. */
  inline?: string;
  /** A one-letter alias of the flag (`-h`). */
  short?: string;
}

/** Where a setting comes from, for messages: `--port / CHATGPT_REST_PORT`. */
export function where(option: OptionSpec): string {
  return `--${option.flag}${option.env === undefined ? '' : ` / ${option.env}`}`;
}

/** Parses a value with the option's own parser, its default when unset. */
export function valueOf<T>(option: OptionSpec<T>, value: unknown): T {
  return option.parse(value ?? option.default, where(option));
}

/** Builds one row, its type checked against its default and parser. */
function option<T>(spec: OptionSpec<T>): OptionSpec<T> {
  return spec;
}

export const PORT = option({
  key: 'port',
  flag: 'port',
  env: 'CHATGPT_REST_PORT',
  kind: 'integer',
  default: 8000,
  meaning: 'port to listen on (0 picks a free one)',
  inFile: true,
  parse: integer(0, 65535),
});
export const HOST = option({
  key: 'host',
  flag: 'host',
  env: 'CHATGPT_REST_HOST',
  kind: 'string',
  default: '127.0.0.1',
  meaning: 'interface to bind (0.0.0.0 for every interface)',
  inFile: true,
  parse: text,
});
export const UPSTREAM = option({
  key: 'upstream',
  flag: 'upstream',
  env: 'CHATGPT_BASE_URL',
  kind: 'string',
  default: 'https://chatgpt.com/backend-api',
  meaning: 'base URL of the ChatGPT backend or of a reverse proxy in front of it',
  inFile: true,
  parse: upstreamUrl,
});
export const DIALECT = option<DialectSetting>({
  key: 'dialect',
  flag: 'dialect',
  env: 'CHATGPT_REST_DIALECT',
  kind: 'string',
  default: 'auto',
  meaning: 'legacy | web | auto (web for chatgpt.com, legacy for anything else)',
  inFile: true,
  parse: dialect,
});
export const EMULATOR = option({
  key: 'emulator',
  flag: 'emulator',
  env: undefined,
  kind: 'boolean',
  default: false,
  meaning: 'start the built-in backend emulator in-process and use it as the upstream',
  inFile: true,
  parse: boolean,
});
export const DEMO = option({
  key: 'demo',
  flag: 'demo',
  env: undefined,
  kind: 'boolean',
  default: false,
  meaning: 'print curl commands to try against the listening address',
  inFile: false,
  parse: boolean,
});
export const DOCS = option({
  key: 'docs',
  flag: 'docs',
  env: 'CHATGPT_REST_DOCS',
  kind: 'boolean',
  default: false,
  meaning: 'serve Swagger UI at /docs (always on with --demo)',
  inFile: true,
  parse: boolean,
});
export const STATIC_DIR = option({
  key: 'staticDir',
  flag: 'static',
  env: 'CHATGPT_REST_STATIC',
  kind: 'string',
  meaning: 'files served at / where no route answers (the demo: examples/web-chat)',
  inFile: true,
  parse: folder,
});
export const TOKENS_FILE = option({
  key: 'tokensFile',
  flag: 'tokens-file',
  env: 'CHATGPT_REST_TOKENS_FILE',
  kind: 'string',
  meaning:
    'file of server-held access tokens, one "label=token" per line (or CHATGPT_REST_TOKENS="label=token,…")',
  inFile: true,
  parse: text,
  inline: 'CHATGPT_REST_TOKENS',
});
export const API_KEYS_FILE = option({
  key: 'apiKeysFile',
  flag: 'api-keys-file',
  env: 'CHATGPT_REST_API_KEYS_FILE',
  kind: 'string',
  meaning: 'file of client API keys, one per line (or CHATGPT_REST_API_KEYS="key1,key2")',
  inFile: true,
  parse: text,
  inline: 'CHATGPT_REST_API_KEYS',
});
export const ALLOW_OPEN = option({
  key: 'allowOpen',
  flag: 'allow-open',
  env: 'CHATGPT_REST_ALLOW_OPEN',
  kind: 'boolean',
  default: false,
  meaning:
    'serve server-held tokens without API keys (an open server: anyone reaching it uses them)',
  inFile: true,
  parse: boolean,
});
export const CONFIG = option({
  key: 'config',
  flag: 'config',
  env: 'CHATGPT_REST_CONFIG',
  kind: 'string',
  meaning: 'JSON file with any of these settings under their config keys',
  inFile: false,
  parse: text,
});
export const LOG_LEVEL = option<LogLevel>({
  key: 'logLevel',
  flag: 'log-level',
  env: 'CHATGPT_REST_LOG_LEVEL',
  kind: 'string',
  default: 'info',
  meaning: `${LOG_LEVELS.join(' | ')}; JSON lines on stdout`,
  inFile: true,
  parse: logLevel,
});
export const SHUTDOWN_DEADLINE = option({
  key: 'shutdownDeadline',
  flag: 'shutdown-deadline',
  env: 'CHATGPT_REST_SHUTDOWN_DEADLINE',
  kind: 'integer',
  default: 10_000,
  meaning:
    'ms that live streams may finish after SIGTERM/SIGINT before they end with an error event',
  inFile: true,
  parse: integer(0, 3_600_000),
});
export const QUEUE_SIZE = option({
  key: 'queueSize',
  flag: 'queue-size',
  env: 'CHATGPT_REST_QUEUE_SIZE',
  kind: 'integer',
  default: 8,
  meaning: 'messages that may wait per held token while it answers another (0: refuse at once)',
  inFile: true,
  parse: integer(0, 10_000),
});
export const QUEUE_WAIT = option({
  key: 'queueWait',
  flag: 'queue-wait',
  env: 'CHATGPT_REST_QUEUE_WAIT',
  kind: 'integer',
  default: 20_000,
  meaning: 'longest wait of a queued message in ms before 429 conversation_busy',
  inFile: true,
  parse: integer(1, 3_600_000),
});
export const REDIS_URL = option({
  key: 'redisUrl',
  flag: 'redis-url',
  env: 'CHATGPT_REST_REDIS_URL',
  kind: 'string',
  shown: 'none (state in memory: one instance)',
  meaning:
    'Redis shared by several sidecars (leases, caps, conversation cache), redis://[:password@]host:port; a password belongs in the variable, not on the command line',
  inFile: true,
  parse: redisUrl,
});
export const REDIS_CACHE_MAX = option({
  key: 'redisCacheMax',
  flag: 'redis-cache-max',
  env: 'CHATGPT_REST_REDIS_CACHE_MAX',
  kind: 'integer',
  shown: '10000',
  meaning:
    'most conversations cached in Redis at once, across every sidecar (the least recently written go first); only with --redis-url',
  inFile: true,
  parse: integer(1, 10_000_000),
});
export const PASS_THROUGH_ALLOW = option({
  key: 'passThroughAllow',
  flag: 'pass-through-allow',
  env: 'CHATGPT_REST_PASS_THROUGH_ALLOW',
  kind: 'list',
  default: [...DEFAULT_PASS_THROUGH_ALLOW],
  shown: 'the protocol endpoints',
  meaning:
    'backend calls forwarded under /backend-api, e.g. "GET /conversations,POST /conversation"; "none" turns it off',
  inFile: true,
  parse: allowlist,
});
export const CORS_ORIGINS = option({
  key: 'corsOrigins',
  flag: 'cors-origin',
  env: 'CHATGPT_REST_CORS_ORIGIN',
  kind: 'list',
  default: [],
  shown: 'none (no CORS)',
  meaning:
    'origins whose pages may call the REST API from a browser, e.g. "https://app.example.com,https://admin.example.com"; "*" for any',
  inFile: true,
  parse: origins,
});
export const METRICS_PORT = option({
  key: 'metricsPort',
  flag: 'metrics-port',
  env: 'CHATGPT_REST_METRICS_PORT',
  kind: 'integer',
  shown: 'none (no metrics)',
  meaning:
    'serve Prometheus metrics at GET /metrics on this port of their own, not on the API port (0 picks a free one)',
  inFile: true,
  parse: integer(0, 65535),
});
export const METRICS_HOST = option({
  key: 'metricsHost',
  flag: 'metrics-host',
  env: 'CHATGPT_REST_METRICS_HOST',
  kind: 'string',
  default: '127.0.0.1',
  meaning: 'interface the metrics port binds (the address your Prometheus scrapes)',
  inFile: true,
  parse: text,
});
export const VERSION = option({
  key: 'version',
  flag: 'version',
  env: undefined,
  kind: 'boolean',
  meaning: 'print the version and exit (-v)',
  inFile: false,
  parse: boolean,
  short: 'v',
});
export const HELP = option({
  key: 'help',
  flag: 'help',
  env: undefined,
  kind: 'boolean',
  meaning: 'show this help (-h)',
  inFile: false,
  parse: boolean,
  short: 'h',
});

/** Every setting of the sidecar, in `--help` order: the one table behind flags, env, file and docs. */
export const OPTIONS: readonly OptionSpec[] = [
  PORT,
  HOST,
  UPSTREAM,
  DIALECT,
  EMULATOR,
  DEMO,
  DOCS,
  STATIC_DIR,
  TOKENS_FILE,
  API_KEYS_FILE,
  ALLOW_OPEN,
  CONFIG,
  LOG_LEVEL,
  SHUTDOWN_DEADLINE,
  QUEUE_SIZE,
  QUEUE_WAIT,
  REDIS_URL,
  REDIS_CACHE_MAX,
  PASS_THROUGH_ALLOW,
  CORS_ORIGINS,
  METRICS_PORT,
  METRICS_HOST,
  VERSION,
  HELP,
];

/** The default as `--help` shows it, or undefined for a setting without one. */
function shownDefault(option: OptionSpec): string | undefined {
  const value = option.default;
  if (option.shown !== undefined || value === undefined) return option.shown;
  // Rows whose default is not a plain value say how to show it (`shown`).
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}

/** The `--help` text, built from {@link OPTIONS}. */
export function helpText(): string {
  const rows = OPTIONS.map((option) => {
    const value = option.kind === 'boolean' ? '' : ' <value>';
    const env = option.env === undefined ? '' : ` [env ${option.env}]`;
    const shown = shownDefault(option);
    const defaults = shown === undefined ? '' : ` (default ${shown})`;
    return `  --${option.flag}${value}\n      ${option.meaning}${defaults}${env}`;
  });
  return `Usage: chatgpt-rest [options]

Serves the chatgpt-rest REST API and a hardened /backend-api pass-through to the ChatGPT backend.
Settings come from flags, then environment variables, then the JSON config file.
Access tokens and API keys are read from the environment or files only, never from flags.

Options:
${rows.join('\n')}
`;
}
