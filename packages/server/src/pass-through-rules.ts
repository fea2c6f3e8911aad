/** The pass-through's request side: the allowlist, header rules, body, credentials, failures. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  RestError,
  apiKeyOf,
  tooLarge,
  type Lease,
  type Logger,
  type TokenPool,
} from '@chatgpt-rest/core';

/** The backend calls forwarded by default: the endpoints of docs/spec/backend-protocol.md §1–§5. */
export const DEFAULT_PASS_THROUGH_ALLOW: readonly string[] = [
  'GET /conversations',
  'PATCH /conversations',
  'GET /conversation/:id',
  'PATCH /conversation/:id',
  'POST /conversation',
  'POST /conversation/gen_title/:id',
  'POST /sentinel/chat-requirements',
  'POST /f/conversation/prepare',
  'POST /f/conversation',
];

/** One allowlist entry, compiled. */
export interface AllowRule {
  method: string;
  template: string;
  pattern: RegExp;
}

const ID_SEGMENT = '[A-Za-z0-9_-]+';
const RULE = /^(GET|POST|PATCH|PUT|DELETE) (\/[A-Za-z0-9_\-/:]*)$/;
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Parses allowlist entries (`METHOD /path/:id`); throws a TypeError naming a bad one. */
export function compileAllowlist(entries: readonly string[]): AllowRule[] {
  return entries.map((entry) => {
    const match = RULE.exec(entry.trim());
    if (match === null) {
      throw new TypeError(
        `pass-through allowlist entry "${entry}" must look like "POST /conversation/:id"`,
      );
    }
    const [, method = '', template = ''] = match;
    const source = template
      .split('/')
      .map((segment) => (segment === ':id' ? ID_SEGMENT : segment.replace(/[-]/g, '\\-')))
      .join('/');
    return { method, template, pattern: new RegExp(`^${source}$`) };
  });
}

/** Request headers never forwarded as given: credentials, the client's forwarding claims, framing. */
export function dropRequestHeader(name: string): boolean {
  return (
    name === 'authorization' ||
    name === 'x-api-key' ||
    name === 'forwarded' ||
    name === 'x-real-ip' ||
    name.startsWith('x-forwarded-') ||
    name === 'host' ||
    name === 'content-length' ||
    name === 'expect'
  );
}

/**
 * `WWW-Authenticate` of a 401 (RFC 9110 §11.6.1) by its error code: `invalid_token` unless no
 * credential was given at all (`missing_token`).
 */
export function wwwAuthenticate(code: unknown): string {
  return code === 'missing_token'
    ? 'Bearer realm="chatgpt-rest"'
    : 'Bearer realm="chatgpt-rest", error="invalid_token"';
}

/** The credential headers of a Node request, as web `Headers` for the core's auth rules. */
export function webHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const name of ['authorization', 'x-api-key']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers.set(name, value);
  }
  return headers;
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The allowlist rule of a request, or the 404/405 it gets. */
export function matchRule(rules: readonly AllowRule[], method: string, path: string): AllowRule {
  const matching = rules.filter((rule) => rule.pattern.test(path));
  const rule = matching.find((candidate) => candidate.method === method);
  if (rule !== undefined) return rule;
  if (matching.length === 0) {
    throw new RestError('not_found', 'The pass-through does not forward this backend path.');
  }
  const allow = [...new Set(matching.map((candidate) => candidate.method))];
  throw new RestError('method_not_allowed', `Use ${allow.join(' or ')} on this path.`, { allow });
}

/** The API key (or token) the caller authenticated with, as the core's authenticator reads it. */
export function callerSecret(req: IncomingMessage): string | undefined {
  return apiKeyOf(webHeaders(req));
}

export function conversationIdOf(path: string, body: Buffer): string | undefined {
  const inPath = /^\/conversation\/(?:gen_title\/)?([A-Za-z0-9_-]+)$/.exec(path);
  if (inPath?.[1] !== undefined) return inPath[1];
  if (body.length === 0) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { conversation_id?: unknown };
    return typeof parsed.conversation_id === 'string' ? parsed.conversation_id : undefined;
  } catch {
    return undefined;
  }
}

/** The answer to a failed upstream connection. */
export function errorForProxyFailure(error: unknown, timedOut: boolean): RestError {
  if (timedOut) {
    return new RestError('upstream_timeout', 'The upstream did not answer in time.');
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) {
    return new RestError('upstream_unavailable', 'The upstream could not be reached.');
  }
  return new RestError('upstream_error', 'The upstream connection failed.');
}

/** Whether the client of `res` has left (its `close` already fired). */
export function clientGone(res: ServerResponse): boolean {
  return res.destroyed || res.closed;
}

/** The held token's lease; a message waits for its slot until the client leaves. */
export async function leaseFor(
  pool: TokenPool,
  credentials: { label: string; token: string },
  message: boolean,
  res: ServerResponse,
  log?: Logger,
): Promise<Lease> {
  const { label, token } = credentials;
  // The token sent names its entry, even once a reload gave its label to another token.
  const logged = log === undefined ? { token } : { token, log };
  if (!message) return pool.lease(label, { message, ...logged });
  const gone = new AbortController();
  const onClose = (): void => gone.abort(new RestError('upstream_error', 'client left'));
  // A client that left while its request was read or authenticated takes no queue place.
  if (clientGone(res)) onClose();
  res.once('close', onClose);
  try {
    return await pool.lease(label, { message, signal: gone.signal, ...logged });
  } finally {
    res.off('close', onClose);
  }
}
