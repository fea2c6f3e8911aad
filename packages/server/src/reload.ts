/**
 * Reloading the sidecar's tokens and API keys without a restart: on `SIGHUP` (the CLI) and when
 * their files change. The files' folders are watched (an editor's or Kubernetes' rename-replace
 * swaps the entry, not the file), changes are debounced, and a set that cannot be read or
 * parsed is refused with one log line: the old set stays.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger, TokenChanges, TokenPool } from '@chatgpt-rest/core';
import { ConfigError, type Secrets } from './config.js';

/** Options of {@link watchSecrets}. */
export interface SecretsWatchOptions {
  /** The files to watch (the tokens file, the API keys file). */
  files: readonly string[];
  /** Reads the new set; throws (a `ConfigError`) when it cannot be used. */
  read: () => Secrets;
  /** Puts a set in place at once; throws (a `TypeError`) when it refuses it. */
  apply: (secrets: Secrets) => TokenChanges;
  logger: Logger;
  /** Quiet time after a change before rereading, in ms. @default 250 */
  debounceMs?: number;
  /**
   * The API keys in place now: a reload that changes neither a token nor a key then logs at
   * debug, not info. Without it, the first reload always counts as a change.
   */
  apiKeys?: readonly string[];
}

/** A running watch: reload now, or stop. */
export interface SecretsWatch {
  /** Rereads and applies; false when the new set was refused (the old one stays). */
  reload(reason: string): boolean;
  /** Stops watching (at shutdown). */
  close(): void;
}

/** What a refusal may say: our own messages name files and entries, never a token or a key. */
function refusal(error: unknown): string {
  return error instanceof ConfigError || error instanceof TypeError ? error.message : 'error';
}

/** Kubernetes' Secret and ConfigMap volumes swap this link to update every file at once. */
const KUBERNETES_DATA = '..data';

/** The API keys as one comparable value, whatever their order. */
function keySet(apiKeys: readonly string[]): string {
  return JSON.stringify([...new Set(apiKeys)].sort());
}

/** Watches the secrets files and reloads them; see {@link SecretsWatchOptions}. */
export function watchSecrets(options: SecretsWatchOptions): SecretsWatch {
  const { logger, debounceMs = 250 } = options;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let keys = options.apiKeys === undefined ? undefined : keySet(options.apiKeys);
  const reload = (reason: string): boolean => {
    let secrets: Secrets;
    let changes: TokenChanges;
    try {
      secrets = options.read();
      changes = options.apply(secrets);
    } catch (error) {
      logger.warn(
        { reason, error: refusal(error) },
        'reload refused: the old tokens and keys stay',
      );
      return false;
    }
    const nextKeys = keySet(secrets.apiKeys);
    const same = changes.added.length === 0 && changes.removed.length === 0 && nextKeys === keys;
    keys = nextKeys;
    // A reload that changed nothing (a touch, a rewrite with the same content) is no news.
    const fields = { reason, ...changes, apiKeys: secrets.apiKeys.length };
    if (same) logger.debug(fields, 'tokens reloaded');
    else logger.info(fields, 'tokens reloaded');
    return true;
  };
  // Only these entries of the watched folders matter: the files themselves (written in place or
  // renamed over) and Kubernetes' `..data` link. Any other entry (a log file beside them: the
  // sidecar's own `nohup.out` or `sidecar.log`) must not trigger a reload, nor delay one.
  const names = new Set([...options.files.map((file) => basename(file)), KUBERNETES_DATA]);
  const changed = (_event: string, filename: string | Buffer | null | undefined): void => {
    if (closed) return;
    // No name: the platform could not say which entry changed, so it may be ours.
    if (filename !== null && filename !== undefined && !names.has(basename(String(filename)))) {
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(() => reload('file change'), debounceMs);
    timer.unref();
  };
  const folders = [...new Set(options.files.map((file) => dirname(resolve(file))))];
  const watchers: FSWatcher[] = [];
  for (const folder of folders) {
    try {
      // The folder, not the file: an editor's swap or Kubernetes' `..data` link replaces the entry.
      const watcher = watch(folder, { persistent: false }, changed);
      watcher.on('error', () => {
        logger.warn({ folder: basename(folder) }, 'stopped watching a secrets folder');
      });
      watchers.push(watcher);
    } catch {
      logger.warn({ folder: basename(folder) }, 'cannot watch a secrets folder; SIGHUP reloads');
    }
  }
  return {
    reload,
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}

/**
 * Swaps the sidecar's tokens (into `pool`) and API keys (in place in `apiKeys`, the list its
 * authenticator and `/readyz` read) at once, or throws a TypeError and changes nothing.
 */
export function replaceSecrets(
  pool: TokenPool | undefined,
  apiKeys: string[],
  next: Secrets,
  allowOpen: boolean,
): TokenChanges {
  if (pool === undefined) {
    throw new TypeError('chatgpt-rest: a passthrough sidecar holds no tokens to replace');
  }
  if (next.apiKeys.length === 0 && !allowOpen) {
    throw new TypeError('chatgpt-rest: no API key left would open the server (--allow-open)');
  }
  const changes = pool.replaceTokens(next.tokens);
  apiKeys.splice(0, apiKeys.length, ...next.apiKeys);
  return changes;
}
