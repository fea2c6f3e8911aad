import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { HeldToken } from '@chatgpt-rest/core';
import type { LogLevel } from './logger.js';
import {
  ALLOW_OPEN,
  API_KEYS_FILE,
  CONFIG,
  CORS_ORIGINS,
  ConfigError,
  DEMO,
  DOCS,
  STATIC_DIR,
  DIALECT,
  EMULATOR,
  HOST,
  LOG_LEVEL,
  METRICS_HOST,
  METRICS_PORT,
  OPTIONS,
  PASS_THROUGH_ALLOW,
  PORT,
  QUEUE_SIZE,
  QUEUE_WAIT,
  REDIS_CACHE_MAX,
  REDIS_URL,
  SHUTDOWN_DEADLINE,
  TOKENS_FILE,
  UPSTREAM,
  valueOf,
  where,
  type DialectSetting,
  type OptionSpec,
} from './option-table.js';

export {
  ConfigError,
  OPTIONS,
  helpText,
  type DialectSetting,
  type OptionSpec,
} from './option-table.js';

/** The sidecar's configuration, every default applied and every value checked. */
export interface SidecarConfig {
  port: number;
  host: string;
  /** Upstream base URL; ignored with `emulator`. */
  upstream: string;
  dialect: DialectSetting;
  /** Start the built-in backend emulator in-process and use it as the upstream. */
  emulator: boolean;
  /** Print curl commands to try once listening (and serve Swagger UI at /docs). */
  demo: boolean;
  /** Serve Swagger UI at /docs. */
  docs: boolean;
  /** A folder of files served at / where no route answers. */
  staticDir: string | undefined;
  /** Server-held tokens; empty means passthrough mode. */
  tokens: HeldToken[];
  apiKeys: string[];
  /** The tokens file read, when the tokens came from one (reread on SIGHUP and on change). */
  tokensFile: string | undefined;
  /** The API keys file read, when the keys came from one. */
  apiKeysFile: string | undefined;
  allowOpen: boolean;
  logLevel: LogLevel;
  /** Milliseconds that live streams may run on after SIGTERM before they are ended. */
  shutdownDeadline: number;
  /** Messages waiting per held token. */
  queueSize: number;
  /** Longest wait of a queued message, in ms. */
  queueWait: number;
  /** Redis shared by several instances; undefined: state in memory. Holds a password: never print it. */
  redisUrl: string | undefined;
  /** Most conversations cached in Redis at once; undefined: the Redis store's default. */
  redisCacheMax: number | undefined;
  /** Forwarded backend calls (`METHOD /path`); empty switches the pass-through off. */
  passThroughAllow: string[];
  /** Origins allowed to call the REST API from a browser (`*` for any); empty: no CORS. */
  corsOrigins: string[];
  /** Port of `GET /metrics`; undefined: no metrics. */
  metricsPort: number | undefined;
  /** Interface the metrics port binds. */
  metricsHost: string;
}

/** Flags that would put a secret on the command line, where every user of the machine sees it. */
const SECRET_FLAG = /^--?(?:tokens?|access-tokens?|api-keys?|keys?)(?:=|$)/i;

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
      option.inline !== undefined && typeof value === 'string'
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
            ? { type: 'boolean' as const, ...(o.short === undefined ? {} : { short: o.short }) }
            : { type: 'string' as const },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    // Node's message for a positional argument quotes it, and a stray argument is often a secret
    // pasted in the wrong place (`--allow-open sk-…`): say what is wrong without repeating it.
    if ((error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new ConfigError(
        'this command takes no positional arguments (every value follows its --flag)',
      );
    }
    throw new ConfigError((error as Error).message);
  }
  const out: Raw = {};
  for (const option of OPTIONS) {
    const value = values[option.flag];
    if (value !== undefined) out[option.key] = value;
  }
  return out;
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

/** The settings of each source, flags first: what a secrets file may be named by. */
interface Layers {
  flags: Raw;
  environment: Raw;
  file: Raw;
  env: Record<string, string | undefined>;
}

/**
 * The entries of a secrets setting (tokens, API keys) and where they came from: the file a flag
 * or variable names, else the variable holding them inline, else the file the config file names.
 */
function secretEntries(
  option: OptionSpec<string>,
  what: string,
  layers: Layers,
): { entries: string[]; source: string; path?: string } | undefined {
  const fromFile = (value: unknown): { entries: string[]; source: string; path: string } => {
    const path = valueOf(option, value);
    return { entries: fileLines(path, what), source: `the ${what} ${path}`, path };
  };
  const named = layers.flags[option.key] ?? layers.environment[option.key];
  if (named !== undefined) return fromFile(named);
  const name = option.inline ?? '';
  const inline = layers.env[name];
  if (inline !== undefined && inline.trim() !== '') {
    return { entries: inline.split(',').map((entry) => entry.trim()), source: name };
  }
  return layers.file[option.key] === undefined ? undefined : fromFile(layers.file[option.key]);
}

/** Refuses held tokens open to anyone, and API keys with nothing to guard. */
function checkAuth(tokens: HeldToken[], apiKeys: string[], allowOpen: boolean): void {
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
}

/** True when `--version` / `-v` is asked for; the flags are checked as {@link loadConfig} does. */
export function versionAsked(argv: string[]): boolean {
  return flagSettings(argv).version === true;
}

/** The metrics port, refused when it is the API's own (one port, one job). */
function metricsPort(raw: Raw, port: number): number | undefined {
  if (raw.metricsPort === undefined) return undefined;
  const value = valueOf(METRICS_PORT, raw.metricsPort);
  if (value !== 0 && value === port) {
    throw new ConfigError(`${where(METRICS_PORT)} must differ from the API port ${port}`);
  }
  return value;
}

/** The Redis cache bound, refused without a Redis URL (it would silently do nothing). */
function redisCacheMax(raw: Raw): number | undefined {
  if (raw.redisCacheMax === undefined) return undefined;
  const value = valueOf(REDIS_CACHE_MAX, raw.redisCacheMax);
  if (raw.redisUrl === undefined) {
    throw new ConfigError(`${where(REDIS_CACHE_MAX)} applies only with ${where(REDIS_URL)}`);
  }
  return value;
}

/** What the sidecar holds: its tokens and its clients' API keys. */
export interface Secrets {
  tokens: HeldToken[];
  apiKeys: string[];
}

/**
 * The tokens and API keys as their files say now (those from the environment are as loaded):
 * what a reload puts in place. Throws a {@link ConfigError} naming the file and the entry at
 * fault, never a token or a key, for a file that cannot be read or parsed, or a set the sidecar
 * would refuse to start with; an empty tokens file is refused too (no mode switch at runtime).
 */
export function readSecrets(config: SidecarConfig): Secrets {
  const { tokensFile, apiKeysFile } = config;
  const tokens =
    tokensFile === undefined
      ? config.tokens
      : parseTokens(fileLines(tokensFile, 'tokens file'), `the tokens file ${tokensFile}`);
  if (tokens.length === 0) {
    throw new ConfigError(`the tokens file ${tokensFile ?? ''} holds no token`);
  }
  const apiKeys =
    apiKeysFile === undefined
      ? config.apiKeys
      : fileLines(apiKeysFile, 'API keys file').filter((key) => key !== '');
  checkAuth(tokens, apiKeys, config.allowOpen);
  return { tokens, apiKeys };
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
  const file = configPath === undefined ? {} : fileSettings(valueOf(CONFIG, configPath));
  // Flags win over the environment, which wins over the file.
  const raw: Raw = { ...file, ...environment, ...flags };
  const read = <T>(option: OptionSpec<T>): T => valueOf(option, raw[option.key]);
  // Checked in this order, so the first bad setting named is the same whatever else is wrong.
  const port = read(PORT);
  const host = read(HOST);
  const upstream = read(UPSTREAM);
  const dialect: DialectSetting = read(DIALECT);
  const logLevel: LogLevel = read(LOG_LEVEL);
  const layers = { flags, environment, file, env };
  const held = secretEntries(TOKENS_FILE, 'tokens file', layers);
  const tokens = held === undefined ? [] : parseTokens(held.entries, held.source);
  const keys = secretEntries(API_KEYS_FILE, 'API keys file', layers);
  const apiKeys = keys?.entries.filter((key) => key !== '') ?? [];
  const allowOpen = read(ALLOW_OPEN);
  checkAuth(tokens, apiKeys, allowOpen);
  const passThroughAllow = read(PASS_THROUGH_ALLOW);
  return {
    help: false,
    config: {
      port,
      host,
      upstream,
      dialect,
      emulator: read(EMULATOR),
      demo: read(DEMO),
      docs: read(DOCS) || read(DEMO),
      staticDir: raw.staticDir === undefined ? undefined : read(STATIC_DIR),
      tokens,
      apiKeys,
      tokensFile: held?.path,
      apiKeysFile: keys?.path,
      allowOpen,
      logLevel,
      shutdownDeadline: read(SHUTDOWN_DEADLINE),
      queueSize: read(QUEUE_SIZE),
      queueWait: read(QUEUE_WAIT),
      redisUrl: raw.redisUrl === undefined ? undefined : read(REDIS_URL),
      redisCacheMax: redisCacheMax(raw),
      passThroughAllow,
      corsOrigins: read(CORS_ORIGINS),
      metricsPort: metricsPort(raw, port),
      metricsHost: read(METRICS_HOST),
    },
  };
}
