/** The value parsers of the sidecar's option table: each checks a value and names it in errors. */
import { existsSync, statSync } from 'node:fs';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import { compileAllowlist } from './pass-through.js';

/** A configuration the sidecar refuses to start with; the CLI exits with code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Which protocol the upstream speaks; `auto` picks `web` for chatgpt.com, else `legacy`. */
export type DialectSetting = 'legacy' | 'web' | 'auto';

export function integer(min: number, max: number): (value: unknown, where: string) => number {
  return (value, where) => {
    const number =
      typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new ConfigError(`${where} must be an integer from ${min} to ${max}`);
    }
    return number;
  };
}

export function boolean(value: unknown, where: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(?:1|true|yes|on)$/i.test(value)) return true;
  if (typeof value === 'string' && /^(?:0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${where} must be true or false`);
}

/** A non-empty string, trimmed. */
export function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`${where} must be a non-empty string`);
  }
  return value.trim();
}

/** An existing folder. */
export function folder(value: unknown, where: string): string {
  const path = text(value, where);
  if (existsSync(path) && statSync(path).isDirectory()) return path;
  throw new ConfigError(`${where} must name an existing folder`);
}

export function list(value: unknown, where: string): string[] {
  const items = Array.isArray(value)
    ? value
    : typeof value === 'string'
      ? value.split(',')
      : undefined;
  if (items?.every((item): item is string => typeof item === 'string') !== true) {
    throw new ConfigError(`${where} must be a comma-separated list or an array of strings`);
  }
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

/** `value` as a URL, or undefined when it is not an absolute one (Node 20 has no `URL.parse`). */
function parsedUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

export function upstreamUrl(value: unknown, where: string): string {
  const upstream = text(value, where);
  const url = parsedUrl(upstream);
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(`${where} must be an absolute http(s) URL`);
  }
  return upstream.replace(/\/+$/, '');
}

export function dialect(value: unknown, where: string): DialectSetting {
  const name = text(value, where);
  if (name !== 'legacy' && name !== 'web' && name !== 'auto') {
    throw new ConfigError(`${where} must be legacy, web or auto`);
  }
  return name;
}

export function logLevel(value: unknown, where: string): LogLevel {
  const level = text(value, where);
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`${where} must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return level as LogLevel;
}

/** The allowlist; `none` alone turns the pass-through off. */
export function allowlist(value: unknown, where: string): string[] {
  const entries = list(value, where);
  if (entries.length === 1 && entries[0]?.toLowerCase() === 'none') return [];
  try {
    compileAllowlist(entries);
  } catch (error) {
    throw new ConfigError(`${where}: ${(error as Error).message}`);
  }
  return entries;
}

/** Each `*` or an http(s) origin (scheme, host, port; no path). */
export function origins(value: unknown, where: string): string[] {
  const entries = list(value, where);
  for (const origin of entries) {
    if (origin !== '*' && !/^https?:\/\/[^/\s?#]+$/i.test(origin)) {
      throw new ConfigError(
        `${where}: "${origin}" is not an origin such as https://app.example.com`,
      );
    }
  }
  return entries;
}

/**
 * A Redis URL (`redis:` or `rediss:`, with a host). The message never echoes the value: it may
 * hold a password.
 */
export function redisUrl(value: unknown, where: string): string {
  const url = text(value, where);
  const parsed = parsedUrl(url);
  if (
    parsed === undefined ||
    (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') ||
    parsed.hostname === ''
  ) {
    throw new ConfigError(`${where} must be redis://[:password@]host:port[/db] or rediss://…`);
  }
  return url;
}
