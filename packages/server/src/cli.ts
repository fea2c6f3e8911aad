#!/usr/bin/env node
/**
 * `chatgpt-rest`: the sidecar on the command line. Reads flags > environment > JSON config file,
 * refuses a bad configuration with exit code 2, prints the address, stops on SIGTERM/SIGINT.
 */
import { readFileSync } from 'node:fs';
import { runIfMain } from '@chatgpt-rest/core/launch';
import type { BackendEmulator } from '@chatgpt-rest/emulator';
import {
  ConfigError,
  errorCode,
  helpText,
  loadConfig,
  readSecrets,
  versionAsked,
  type SidecarConfig,
} from './config.js';
import { demoCommands, demoPages } from './demo.js';
import type { Logger, SharedStore } from '@chatgpt-rest/core';
import { createJsonLogger } from './logger.js';
import { watchSecrets } from './reload.js';
import { createServer, type Sidecar, type SidecarOptions } from './server.js';

/** Where the CLI writes: human lines, errors, and the JSON log lines. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  log: (line: string) => void;
}

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  log: (line) => process.stdout.write(line),
};

/** Resolves when the process is asked to stop (SIGTERM or SIGINT). */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/** The upstream as safe to print: no userinfo, no query. */
function printable(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** The built-in emulator of `--emulator`, loaded only when asked for. */
async function startEmulator(config: SidecarConfig): Promise<BackendEmulator | undefined> {
  if (!config.emulator) return undefined;
  // Loaded only when asked for: a production sidecar never loads the emulator's code.
  const { createBackendEmulator } = await import('@chatgpt-rest/emulator');
  // In the demo, replies stream word by word, as chatgpt.com's do, so a person sees them grow.
  return createBackendEmulator({ dialect: 'both', ...(config.demo ? { pacingMs: 30 } : {}) });
}

/**
 * The Redis store of `--redis-url`, loaded only when asked for (a sidecar on one instance never
 * loads a Redis client), and the URL as safe to print (no password).
 */
async function redisStore(
  config: SidecarConfig,
  logger: Logger,
): Promise<{ store: SharedStore; shown: string } | undefined> {
  const { redisUrl: url, redisCacheMax } = config;
  if (url === undefined) return undefined;
  const { createRedisStore, redactRedisUrl } = await import('@chatgpt-rest/redis-store');
  const bound = redisCacheMax === undefined ? {} : { maxCachedConversations: redisCacheMax };
  return { store: createRedisStore({ url, logger, ...bound }), shown: redactRedisUrl(url) };
}

/** The version of this package, from its package.json (beside `src/` and `dist/` alike). */
export function packageVersion(): string {
  const file = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The sidecar's options from the CLI's configuration. */
function sidecarOptions(
  config: SidecarConfig,
  upstream: string,
  store: SharedStore | undefined,
  logger: Logger,
): SidecarOptions {
  return {
    ...(store === undefined ? {} : { store }),
    upstream,
    dialect: config.dialect,
    tokens: config.tokens,
    apiKeys: config.apiKeys,
    allowOpen: config.allowOpen,
    queueSize: config.queueSize,
    queueWait: config.queueWait,
    passThroughAllow: config.passThroughAllow,
    docs: config.docs,
    ...(config.staticDir === undefined ? {} : { staticDir: config.staticDir }),
    ...(config.corsOrigins.length === 0
      ? {}
      : {
          core: { cors: { origins: config.corsOrigins.includes('*') ? '*' : config.corsOrigins } },
        }),
    logger,
    port: config.port,
    host: config.host,
    ...(config.metricsPort === undefined
      ? {}
      : { metrics: { port: config.metricsPort, host: config.metricsHost } }),
  };
}

/**
 * Server-held mode: rereads the tokens and API keys files when they change (see reload.ts);
 * returns the reload that SIGHUP runs and what stops watching (at shutdown), or undefined when
 * there is nothing to reload (passthrough mode).
 */
function reloadSecrets(
  config: SidecarConfig,
  sidecar: Sidecar,
  logger: Logger,
): { reload: () => void; close: () => void } | undefined {
  if (config.tokens.length === 0) return undefined;
  const files = [config.tokensFile, config.apiKeysFile].filter((file) => file !== undefined);
  const watch = watchSecrets({
    files,
    read: () => readSecrets(config),
    apply: (secrets) => sidecar.replaceSecrets(secrets),
    logger,
    apiKeys: [...config.apiKeys],
  });
  return { reload: () => void watch.reload('SIGHUP'), close: () => watch.close() };
}

/** Runs the CLI; resolves with the exit code once the server has stopped (or refused to start). */
export async function main(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  io: CliIo = defaultIo,
  stop: Promise<unknown> = stopSignal(),
): Promise<number> {
  let config: SidecarConfig;
  try {
    if (versionAsked(argv)) {
      io.out(packageVersion());
      return 0;
    }
    const loaded = loadConfig(argv, env);
    if (loaded.help) {
      io.out(helpText());
      return 0;
    }
    config = loaded.config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`chatgpt-rest: ${error.message}\nRun chatgpt-rest --help for every option.`);
    return 2;
  }
  const logger = createJsonLogger({ level: config.logLevel, write: io.log });
  // SIGHUP is handled from the start to the end, in every mode: Node's default for it is to end
  // the process at once, with no drain. It reloads the secrets only while reloading is on.
  let onHangup = (): void => logger.info({}, 'SIGHUP ignored: the sidecar is starting');
  const hangup = (): void => onHangup();
  process.on('SIGHUP', hangup);
  try {
    return await serve(config, logger, io, stop, (handler) => (onHangup = handler));
  } finally {
    process.off('SIGHUP', hangup);
  }
}

/** Starts the sidecar, serves until `stop`, then drains; `onHangup` sets what SIGHUP does. */
async function serve(
  config: SidecarConfig,
  logger: Logger,
  io: CliIo,
  stop: Promise<unknown>,
  onHangup: (handler: () => void) => void,
): Promise<number> {
  const emulator = await startEmulator(config);
  const upstream = emulator?.url ?? config.upstream;
  const shared = await redisStore(config, logger);
  const sidecar = createServer(sidecarOptions(config, upstream, shared?.store, logger));
  let url: string;
  try {
    url = await sidecar.listen();
  } catch (error) {
    const metrics =
      config.metricsPort === undefined ? '' : ` or ${config.metricsHost}:${config.metricsPort}`;
    io.err(
      `chatgpt-rest: cannot listen on ${config.host}:${config.port}${metrics} (${errorCode(error)})`,
    );
    await shared?.store.close();
    await emulator?.close();
    return 1;
  }
  const mode =
    config.tokens.length === 0
      ? 'passthrough (clients send their access token)'
      : `server-held tokens (${config.tokens.map((t) => t.label).join(', ')})${config.apiKeys.length === 0 ? ', OPEN: no API key required' : ''}`;
  io.out(`chatgpt-rest listening on ${url}`);
  io.out(
    `  upstream ${emulator === undefined ? printable(upstream) : `${upstream} (built-in emulator)`}; auth ${mode}`,
  );
  if (shared !== undefined) io.out(`  shared state on Redis ${shared.shown}`);
  if (sidecar.metrics?.url !== undefined) io.out(`  metrics at ${sidecar.metrics.url}/metrics`);
  const pages = demoPages(url, config.docs, config.staticDir !== undefined);
  if (pages !== '') io.out(`\n${pages}`);
  if (config.demo) io.out(`\n${demoCommands(url, config.tokens.length > 0)}`);
  const reloading = reloadSecrets(config, sidecar, logger);
  onHangup(
    reloading?.reload ??
      (() => logger.info({}, 'SIGHUP ignored: passthrough mode holds no tokens to reload')),
  );
  const signal = await stop;
  // Draining: a SIGHUP now changes nothing, and must not end the process either.
  onHangup(() => logger.info({}, 'SIGHUP ignored: the sidecar is shutting down'));
  reloading?.close();
  logger.info({ signal: String(signal), deadlineMs: config.shutdownDeadline }, 'shutting down');
  await sidecar.close(config.shutdownDeadline);
  await shared?.store.close();
  await emulator?.close();
  logger.info({}, 'stopped');
  return 0;
}

// Run only when executed (npm script, bin symlink), not when imported by tests. A failure prints
// only the error's name: its message could hold a configured secret.
runIfMain(
  import.meta.url,
  main,
  (error) => `chatgpt-rest: ${error instanceof Error ? error.name : 'error'}`,
);
