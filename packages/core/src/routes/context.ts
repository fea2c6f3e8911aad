/** What every route handler receives: the request, its caller, and the core's services. */
import type { Credentials } from '../auth/authenticator.js';
import type { BackendConversation } from '../backend/types.js';
import type { CacheStore } from '../store/store.js';
import type { FailureMapper, FailureScope } from '../http/failures.js';
import type { ThreadIndex } from '../openai/thread-index.js';
import type { ResolvedOptions } from '../options.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';

/** The services routes use, built once per handler. */
export interface Services {
  options: ResolvedOptions;
  upstream: UpstreamClient;
  cache: CacheStore;
  /** What a failure becomes for the client (SSE error events use it too). */
  toRestError: FailureMapper;
  /** Which upstream conversation an OpenAI-style history continues. */
  threads: ThreadIndex;
}

/**
 * One request, as a route sees it: with its id and its logger (`log`: every line carries the
 * id), which `credentials.log` also hands to the upstream calls made for it.
 */
export interface RouteContext extends FailureScope {
  request: Request;
  url: URL;
  credentials: Credentials;
  signal: AbortSignal;
  services: Services;
}

/** A request to a route with `:id`: the conversation id, checked to be a UUID. */
export interface IdContext extends RouteContext {
  id: string;
}

/** A route without `:id` (a collection) or with it (one conversation). */
export type Route =
  | {
      kind: 'collection';
      path: string;
      /** Served without credentials (the API description). */
      public?: boolean;
      /** The shape of its errors: the REST API's (default) or OpenAI's. */
      errors?: 'openai';
      methods: Partial<Record<string, (context: RouteContext) => Promise<Response>>>;
    }
  | {
      kind: 'member';
      path: `${string}:id${string}`;
      public?: false;
      errors?: 'openai';
      /** Checks the `:id` segment. @default a UUID (a conversation id) */
      checkId?: (raw: string) => string;
      methods: Partial<Record<string, (context: IdContext) => Promise<Response>>>;
    };

/**
 * A conversation's tree, from the cache when there (`whole`: only a tree the upstream sent,
 * not one rebuilt from streams, which lacks the hidden nodes), else from one upstream GET.
 */
export async function loadConversation(
  context: IdContext,
  whole = false,
): Promise<BackendConversation> {
  const { cache, upstream } = context.services;
  const { credentials } = context;
  const { principal } = credentials;
  const cached = await cache.get(principal, context.id);
  const hit = cached !== undefined && (cached.complete || !whole);
  context.services.options.metrics.cacheLookup(hit);
  if (hit) {
    // No upstream call for this read: the token's pick need not keep others away from it.
    credentials.unreserve?.();
    return cached.conversation;
  }
  const fetched = await upstream.getConversation(credentials, context.id, context.signal);
  await cache.set(principal, context.id, { conversation: fetched, complete: true });
  return fetched;
}
