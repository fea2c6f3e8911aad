import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { HeldToken } from '@chatgpt-rest/core';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import { DEFAULT_PASS_THROUGH_ALLOW, compileAllowlist } from './pass-through.js';

/** A configuration the sidecar refuses to start with; the CLI exits with code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Which protocol the upstream speaks; `auto` picks `web` for chatgpt.com, else `legacy`. */
export type DialectSetting = 'legacy' | 'web' | 'auto';

/** The sidecar's configuration, every default applied and every value checked. */
export interface SidecarConfig {
  port: number;
  host: string;
  /** Upstream base URL; ignored with `emulator`. */
  upstream: string;
  dialect: DialectSetting;
  /** Start the built-in backend emulator in-process and use it as the upstream. */
  emulator: boolean;
  /** Print curl commands to try once listening. */
  demo: boolean;
  /** Server-held tokens; empty means passthrough mode. */
  tokens: HeldToken[];
  apiKeys: string[];
  allowOpen: boolean;
  logLevel: LogLevel;
  /** Milliseconds that live streams may run on after SIGTERM before they are ended. */
  shutdownDeadline: number;
  /** Messages waiting per held token. */
  queueSize: number;
  /** Longest wait of a queued message, in ms. */
  queueWait: number;
  /** Forwarded backend calls (`METHOD /path`); empty switches the pass-through off. */
  passThroughAllow: string[];
  /** Origins allowed to call the REST API from a browser (`*` for any); empty: no CORS. */
  corsOrigins: string[];
}

type Kind = 'string' | 'integer' | 'boolean' | 'list';

/** One setting: its flag, environment variable, config-file key, default and meaning. */
export interface OptionSpec {
  key: string;
  flag: string;
  env: string | undefined;
  kind: Kind;
  /** The default as shown in `--help` and the README. */
  shown: string;
  meaning: string;
  /** Whether the JSON config file may set it. */
  inFile: boolean;
}

/** Every setting of the sidecar, in `--help` order: the one table behind flags, env, file and docs. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'port',
    flag: 'port',
    env: 'CHATGPT_REST_PORT',
    kind: 'integer',
    shown: '8000',
    meaning: 'port to listen on (0 picks a free one)',
    inFile: true,
  },
  {
    key: 'host',
    flag: 'host',
    env: 'CHATGPT_REST_HOST',
    kind: 'string',
    shown: '127.0.0.1',
    meaning: 'interface to bind (0.0.0.0 for every interface)',
    inFile: true,
  },
  {
    key: 'upstream',
    flag: 'upstream',
    env: 'CHATGPT_BASE_URL',
    kind: 'string',
    shown: 'https://chatgpt.com/backend-api',
    meaning: 'base URL of the ChatGPT backend or of a reverse proxy in front of it',
    inFile: true,
  },
  {
    key: 'dialect',
    flag: 'dialect',
    env: 'CHATGPT_REST_DIALECT',
    kind: 'string',
    shown: 'auto',
    meaning: 'legacy | web | auto (web for chatgpt.com, legacy for anything else)',
    inFile: true,
  },
  {
    key: 'emulator',
    flag: 'emulator',
    env: undefined,
    kind: 'boolean',
    shown: 'false',
    meaning: 'start the built-in backend emulator in-process and use it as the upstream',
    inFile: true,
  },
  {
    key: 'demo',
    flag: 'demo',
    env: undefined,
    kind: 'boolean',
    shown: 'false',
    meaning: 'print curl commands to try against the listening address',
    inFile: false,
  },
  {
    key: 'tokensFile',
    flag: 'tokens-file',
    env: 'CHATGPT_REST_TOKENS_FILE',
    kind: 'string',
    shown: '-',
    meaning:
      'file of server-held access tokens, one "label=token" per line (or CHATGPT_REST_TOKENS="label=token,…")',
    inFile: true,
  },
  {
    key: 'apiKeysFile',
    flag: 'api-keys-file',
    env: 'CHATGPT_REST_API_KEYS_FILE',
    kind: 'string',
    shown: '-',
    meaning: 'file of client API keys, one per line (or CHATGPT_REST_API_KEYS="key1,key2")',
    inFile: true,
  },
  {
    key: 'allowOpen',
    flag: 'allow-open',
    env: 'CHATGPT_REST_ALLOW_OPEN',
    kind: 'boolean',
    shown: 'false',
    meaning:
      'serve server-held tokens without API keys (an open server: anyone reaching it uses them)',
    inFile: true,
  },
  {
    key: 'config',
    flag: 'config',
    env: 'CHATGPT_REST_CONFIG',
    kind: 'string',
    shown: '-',
    meaning: 'JSON file with any of these settings under their config keys',
    inFile: false,
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'CHATGPT_REST_LOG_LEVEL',
    kind: 'string',
    shown: 'info',
    meaning: `${LOG_LEVELS.join(' | ')}; JSON lines on stdout`,
    inFile: true,
  },
  {
    key: 'shutdownDeadline',
    flag: 'shutdown-deadline',
    env: 'CHATGPT_REST_SHUTDOWN_DEADLINE',
    kind: 'integer',
    shown: '10000',
    meaning:
      'ms that live streams may finish after SIGTERM/SIGINT before they end with an error event',
    inFile: true,
  },
  {
    key: 'queueSize',
    flag: 'queue-size',
    env: 'CHATGPT_REST_QUEUE_SIZE',
    kind: 'integer',
    shown: '8',
    meaning: 'messages that may wait per held token while it answers another (0: refuse at once)',
    inFile: true,
  },
  {
    key: 'queueWait',
    flag: 'queue-wait',
    env: 'CHATGPT_REST_QUEUE_WAIT',
    kind: 'integer',
    shown: '20000',
    meaning: 'longest wait of a queued message in ms before 429 conversation_busy',
    inFile: true,
  },
  {
    key: 'passThroughAllow',
    flag: 'pass-through-allow',
    env: 'CHATGPT_REST_PASS_THROUGH_ALLOW',
    kind: 'list',
    shown: 'the protocol endpoints',
    meaning:
      'backend calls forwarded under /backend-api, e.g. "GET /conversations,POST /conversation"; "none" turns it off',
    inFile: true,
  },
  {
    key: 'corsOrigins',
    flag: 'cors-origin',
    env: 'CHATGPT_REST_CORS_ORIGIN',
    kind: 'list',
    shown: 'none (no CORS)',
    meaning:
      'origins whose pages may call the REST API from a browser, e.g. "https://app.example.com,https://admin.example.com"; "*" for any',
    inFile: true,
  },
  {
    key: 'help',
    flag: 'help',
    env: undefined,
    kind: 'boolean',
    shown: '-',
    meaning: 'show this help',
    inFile: false,
  },
];

/** Flags that would put a secret on the command line, where every user of the machine sees it. */
const SECRET_FLAG = /^--?(?:tokens?|access-tokens?|api-keys?|keys?)(?:=|$)/i;

/** The `--help` text, built from {@link OPTIONS}. */
export function helpText(): string {
  const rows = OPTIONS.map((option) => {
    const value = option.kind === 'boolean' ? '' : ' <value>';
    const env = option.env === undefined ? '' : ` [env ${option.env}]`;
    const shown = option.shown === '-' ? '' : ` (default ${option.shown})`;
    return `  --${option.flag}${value}\n      ${option.meaning}${shown}${env}`;
  });
  return `Usage: chatgpt-rest [options]

Serves the chatgpt-rest REST API and a hardened /backend-api pass-through to the ChatGPT backend.
Settings come from flags, then environment variables, then the JSON config file.
Access tokens and API keys are read from the environment or files only, never from flags.

Options:
${rows.join('\n')}
`;
}

type Raw = Partial<Record<string, unknown>>;

/** The `code` of a system error (`ENOENT`, `EADDRINUSE`…), or 'error'. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the ${what} ${path} (${errorCode(error)})`);
  }
}

function fileSettings(path: string): Raw {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText(path, 'config file'));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`the config file ${path} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`the config file ${path} must hold a JSON object`);
  }
  const known = new Map(OPTIONS.filter((o) => o.inFile).map((o) => [o.key, o]));
  const out: Raw = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key === 'tokens' || key === 'apiKeys') {
      throw new ConfigError(
        `the config file may not hold ${key}; name a file with ${key === 'tokens' ? 'tokensFile' : 'apiKeysFile'} instead`,
      );
    }
    const option = known.get(key);
    if (option === undefined) {
      throw new ConfigError(
        `unknown key "${key}" in the config file ${path}; known keys: ${[...known.keys()].join(', ')}`,
      );
    }
    // Files named in a config file are found next to it, wherever the server is started.
    out[key] =
      (key === 'tokensFile' || key === 'apiKeysFile') && typeof value === 'string'
        ? resolve(dirname(path), value)
        : value;
  }
  return out;
}

function envSettings(env: Record<string, string | undefined>): Raw {
  const out: Raw = {};
  for (const option of OPTIONS) {
    if (option.env === undefined) continue;
    const value = env[option.env];
    if (value !== undefined && value !== '') out[option.key] = value;
  }
  return out;
}

function flagSettings(argv: string[]): Raw {
  for (const arg of argv) {
    if (SECRET_FLAG.test(arg)) {
      throw new ConfigError(
        `${arg.split('=')[0] ?? arg} is refused: a secret on the command line shows in process lists and shell history. ` +
          'Put access tokens in CHATGPT_REST_TOKENS or --tokens-file, API keys in CHATGPT_REST_API_KEYS or --api-keys-file.',
      );
    }
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: Object.fromEntries(
        OPTIONS.map((o) => [
          o.flag,
          o.kind === 'boolean'
            ? { type: 'boolean' as const, ...(o.flag === 'help' ? { short: 'h' } : {}) }
            : { type: 'string' as const },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const out: Raw = {};
  for (const option of OPTIONS) {
    const value = values[option.flag];
    if (value !== undefined) out[option.key] = value;
  }
  return out;
}

function where(option: OptionSpec): string {
  return `--${option.flag}${option.env === undefined ? '' : ` / ${option.env}`}`;
}

function asInteger(option: OptionSpec, value: unknown, min: number, max: number): number {
  const number =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new ConfigError(`${where(option)} must be an integer from ${min} to ${max}`);
  }
  return number;
}

function asBoolean(option: OptionSpec, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(?:1|true|yes|on)$/i.test(value)) return true;
  if (typeof value === 'string' && /^(?:0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${where(option)} must be true or false`);
}

function asString(option: OptionSpec, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`${where(option)} must be a non-empty string`);
  }
  return value.trim();
}

function asList(option: OptionSpec, value: unknown): string[] {
  const items = Array.isArray(value)
    ? value
    : typeof value === 'string'
      ? value.split(',')
      : undefined;
  if (items?.every((item): item is string => typeof item === 'string') !== true) {
    throw new ConfigError(`${where(option)} must be a comma-separated list or an array of strings`);
  }
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

const LABEL = /^[A-Za-z0-9_.-]{1,64}$/;

/** Parses `label=token` entries; messages name the line or entry, never the token. */
export function parseTokens(entries: string[], source: string): HeldToken[] {
  const tokens: HeldToken[] = [];
  const labels = new Set<string>();
  entries.forEach((entry, index) => {
    const at = entry.indexOf('=');
    const label = at === -1 ? '' : entry.slice(0, at).trim();
    const token = at === -1 ? '' : entry.slice(at + 1).trim();
    if (!LABEL.test(label) || token === '') {
      throw new ConfigError(
        `${source}: entry ${index + 1} must be "label=token" (label: letters, digits, . _ -)`,
      );
    }
    if (labels.has(label)) throw new ConfigError(`${source}: the label ${label} is used twice`);
    labels.add(label);
    tokens.push({ label, token });
  });
  return tokens;
}

function fileLines(path: string, what: string): string[] {
  return readText(path, what)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function spec(key: string): OptionSpec {
  return OPTIONS.find((option) => option.key === key) as OptionSpec;
}

/**
 * Resolves the configuration from flags, then environment variables, then the JSON config file
 * (`--config` / `CHATGPT_REST_CONFIG`); throws a {@link ConfigError} with a clear message on a bad
 * one. `help: true` when `--help` was asked for.
 */
export function loadConfig(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): { help: true } | { help: false; config: SidecarConfig } {
  const flags = flagSettings(argv);
  if (flags.help === true) return { help: true };
  const environment = envSettings(env);
  const configPath = flags.config ?? environment.config;
  const file = configPath === undefined ? {} : fileSettings(asString(spec('config'), configPath));
  // Flags win over the environment, which wins over the file.
  const raw: Raw = { ...file, ...environment, ...flags };
  const get = (key: string): unknown => raw[key];

  const port = asInteger(spec('port'), get('port') ?? 8000, 0, 65535);
  const host = asString(spec('host'), get('host') ?? '127.0.0.1');
  const upstream = asString(spec('upstream'), get('upstream') ?? 'https://chatgpt.com/backend-api');
  let url: URL | undefined;
  try {
    url = new URL(upstream);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(`${where(spec('upstream'))} must be an absolute http(s) URL`);
  }
  const dialect = asString(spec('dialect'), get('dialect') ?? 'auto');
  if (dialect !== 'legacy' && dialect !== 'web' && dialect !== 'auto') {
    throw new ConfigError(`${where(spec('dialect'))} must be legacy, web or auto`);
  }
  const logLevel = asString(spec('logLevel'), get('logLevel') ?? 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`${where(spec('logLevel'))} must be one of ${LOG_LEVELS.join(', ')}`);
  }

  // Tokens: --tokens-file, then CHATGPT_REST_TOKENS_FILE, then CHATGPT_REST_TOKENS, then the file's tokensFile.
  let tokens: HeldToken[] = [];
  const tokensFile = flags.tokensFile ?? environment.tokensFile;
  const tokensEnv = env.CHATGPT_REST_TOKENS;
  if (tokensFile !== undefined) {
    const path = asString(spec('tokensFile'), tokensFile);
    tokens = parseTokens(fileLines(path, 'tokens file'), `the tokens file ${path}`);
  } else if (tokensEnv !== undefined && tokensEnv.trim() !== '') {
    tokens = parseTokens(
      tokensEnv.split(',').map((entry) => entry.trim()),
      'CHATGPT_REST_TOKENS',
    );
  } else if (file.tokensFile !== undefined) {
    const path = asString(spec('tokensFile'), file.tokensFile);
    tokens = parseTokens(fileLines(path, 'tokens file'), `the tokens file ${path}`);
  }
  let apiKeys: string[] = [];
  const keysFile = flags.apiKeysFile ?? environment.apiKeysFile;
  const keysEnv = env.CHATGPT_REST_API_KEYS;
  if (keysFile !== undefined) {
    apiKeys = fileLines(asString(spec('apiKeysFile'), keysFile), 'API keys file');
  } else if (keysEnv !== undefined && keysEnv.trim() !== '') {
    apiKeys = keysEnv
      .split(',')
      .map((key) => key.trim())
      .filter((key) => key !== '');
  } else if (file.apiKeysFile !== undefined) {
    apiKeys = fileLines(asString(spec('apiKeysFile'), file.apiKeysFile), 'API keys file');
  }

  const allowOpen = asBoolean(spec('allowOpen'), get('allowOpen') ?? false);
  if (tokens.length > 0 && apiKeys.length === 0 && !allowOpen) {
    throw new ConfigError(
      'refusing to start: server-held tokens without API keys would let anyone who reaches the server use them. ' +
        'Set CHATGPT_REST_API_KEYS or --api-keys-file, or pass --allow-open to mean it.',
    );
  }
  if (tokens.length === 0 && apiKeys.length > 0) {
    throw new ConfigError(
      'API keys are set but no server-held tokens: in passthrough mode clients send their own access token. ' +
        'Set CHATGPT_REST_TOKENS or --tokens-file, or drop the API keys.',
    );
  }

  const passThroughRaw = get('passThroughAllow');
  let passThroughAllow =
    passThroughRaw === undefined
      ? [...DEFAULT_PASS_THROUGH_ALLOW]
      : asList(spec('passThroughAllow'), passThroughRaw);
  if (passThroughAllow.length === 1 && passThroughAllow[0]?.toLowerCase() === 'none') {
    passThroughAllow = [];
  }
  try {
    compileAllowlist(passThroughAllow);
  } catch (error) {
    throw new ConfigError(`${where(spec('passThroughAllow'))}: ${(error as Error).message}`);
  }

  return {
    help: false,
    config: {
      port,
      host,
      upstream: upstream.replace(/\/+$/, ''),
      dialect,
      emulator: asBoolean(spec('emulator'), get('emulator') ?? false),
      demo: asBoolean(spec('demo'), get('demo') ?? false),
      tokens,
      apiKeys,
      allowOpen,
      logLevel: logLevel as LogLevel,
      shutdownDeadline: asInteger(
        spec('shutdownDeadline'),
        get('shutdownDeadline') ?? 10_000,
        0,
        3_600_000,
      ),
      queueSize: asInteger(spec('queueSize'), get('queueSize') ?? 8, 0, 10_000),
      queueWait: asInteger(spec('queueWait'), get('queueWait') ?? 20_000, 1, 3_600_000),
      passThroughAllow,
      corsOrigins: corsOrigins(get('corsOrigins')),
    },
  };
}

/** The CORS origins setting: each `*` or an http(s) origin (scheme, host, port; no path). */
function corsOrigins(value: unknown): string[] {
  if (value === undefined) return [];
  const origins = asList(spec('corsOrigins'), value);
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s?#]+$/i.test(origin)) {
      throw new ConfigError(
        `${where(spec('corsOrigins'))}: "${origin}" is not an origin such as https://app.example.com`,
      );
    }
  }
  return origins;
}
