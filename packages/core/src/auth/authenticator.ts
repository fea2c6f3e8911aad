import { hash, timingSafeEqual } from 'node:crypto';
import { RestError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AuthOptions } from './auth-options.js';
import { apiKeyOf, bearerToken } from './bearer.js';
import type { TokenStore } from '../store/store.js';
import { TokenPool } from './token-pool.js';

/** Who a request acts as: the upstream access token and the principal that keys the cache. */
export interface Credentials {
  token: string;
  /** A hash of the token (passthrough) or the token's label (server-held); never the token. */
  principal: string;
  /** For logs: `passthrough` or the held token's label. */
  label: string;
  /** The request's logger (its lines carry the request id), for the calls made on its behalf. */
  log?: Logger;
  /** The host's object for the request (see `http/request-tag.ts`), for the upstream fetch. */
  tag?: object;
  /**
   * Held tokens: the request will make no upstream call (answered from the cache), so the
   * token's pick stops counting as its load now rather than in 5 s. Idempotent.
   */
  unreserve?: () => void;
}

/** Node's one-shot hash: a third of `createHash`'s cost for a token-sized input. */
function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/** Compares two secrets in constant time (both are hashed first so lengths never leak). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** True when `key` is one of `apiKeys`; every key is tried, so the time taken tells nothing. */
export function isApiKey(key: string | undefined, apiKeys: readonly string[]): boolean {
  if (key === undefined) return false;
  let ok = false;
  for (const candidate of apiKeys) ok = sameSecret(candidate, key) || ok;
  return ok;
}

/**
 * Resolves the credentials of a request, or throws `missing_token` / `invalid_token` (or, with
 * held tokens, the pool's `rate_limited` / `upstream_unavailable`). `conversationId` is the
 * conversation the request is about, so a held token can stick to it.
 */
export type Authenticator = (headers: Headers, conversationId?: string) => Promise<Credentials>;

/** The token pool of an auth mode: the one given, else one built from its tokens; none in passthrough. */
export function tokenPoolOf(
  auth: AuthOptions,
  logger?: Logger,
  store?: TokenStore,
): TokenPool | undefined {
  return auth.mode === 'server' ? heldTokenPool(auth, logger, store) : undefined;
}

function heldTokenPool(
  auth: Extract<AuthOptions, { mode: 'server' }>,
  logger?: Logger,
  store?: TokenStore,
): TokenPool {
  return (
    auth.pool ??
    new TokenPool({
      tokens: auth.tokens,
      queueSize: auth.queue?.size,
      queueWaitMs: auth.queue?.waitMs,
      logger,
      store,
    })
  );
}

/** Builds the authenticator of an auth mode; held tokens are chosen by `pool` (default: a new one). */
export function createAuthenticator(auth: AuthOptions, pool?: TokenPool): Authenticator {
  if (auth.mode === 'passthrough') {
    // A promise whose executor throws rejects: a missing token is a rejection, never a throw.
    return (headers) =>
      new Promise<Credentials>((resolve) => {
        const token = bearerToken(headers.get('authorization'));
        if (token === undefined) throw new RestError('missing_token', 'access_token is required');
        resolve({ token, principal: hash('sha256', token, 'base64url'), label: 'passthrough' });
      });
  }
  const held = pool ?? heldTokenPool(auth);
  const checkKey = createKeyCheck(auth);
  return async (headers, conversationId) => {
    checkKey(headers);
    const { held: token, unreserve } = await held.reserve(conversationId);
    return { token: token.token, principal: `label:${token.label}`, label: token.label, unreserve };
  };
}

/**
 * The API-key check of an auth mode, as {@link createAuthenticator} makes it (a missing or unknown
 * key throws its RestError), for a caller that must refuse a request before reading its body.
 * Passthrough mode checks nothing here: the client's own token is whatever it sends.
 */
export function createKeyCheck(auth: AuthOptions): (headers: Headers) => void {
  if (auth.mode === 'passthrough') return () => undefined;
  const { apiKeys, allowOpen = false } = auth;
  return (headers) => {
    if (apiKeys.length === 0 && allowOpen) return;
    const key = apiKeyOf(headers);
    if (key === undefined) throw new RestError('missing_token', 'An API key is required.');
    if (!isApiKey(key, apiKeys)) throw new RestError('invalid_token', 'The API key is not valid.');
  };
}
