import { randomUUID } from 'node:crypto';
import { createAuthenticator, tokenPoolOf, type Credentials } from './auth.js';
import type { BackendConversation } from './backend/types.js';
import { ConversationCache } from './conversation/conversation-cache.js';
import { isoTime, threadMessages } from './conversation/message-tree.js';
import { messageRole, messageText, type Reply } from './conversation/reply.js';
import { newMessageId, runTurn, type TurnEvent, type TurnRequest } from './conversation/turn.js';
import { RestError, isRestError } from './errors.js';
import { OPENAPI_DOCUMENT } from './http/openapi.js';
import { readBodyFields, type BodyFields } from './http/request-body.js';
import { errorResponse, jsonResponse } from './http/responses.js';
import { sseResponse, type SseEvent } from './http/sse-response.js';
import {
  integerParam,
  optionalBoolean,
  optionalModel,
  optionalText,
  optionalUuid,
  requiredText,
  uuidField,
} from './http/validation.js';
import { resolveOptions, type ChatGptRestOptions, type ResolvedOptions } from './options.js';
import { UpstreamClient } from './upstream/upstream-client.js';
import { senderFor } from './upstream/web-sender.js';

/** The web-standard handler of the REST API. */
export interface ChatGptHandler {
  (request: Request): Promise<Response>;
  /** True when `pathname` is one of this API's routes (adapters call `next()` otherwise). */
  handles(pathname: string): boolean;
  /** The resolved options. */
  readonly options: ResolvedOptions;
  /** The routes, for frameworks that register each one (Fastify). */
  readonly routes: readonly RouteInfo[];
}

interface Context {
  request: Request;
  url: URL;
  id: string | undefined;
  credentials: Credentials;
  signal: AbortSignal;
}

type Route = (context: Context) => Promise<Response>;

interface RouteEntry {
  /** The route's path with `:id` for the conversation id, as frameworks write routes. */
  path: string;
  /** Served without credentials (the API description). */
  public?: boolean;
  methods: Partial<Record<string, Route>>;
}

/** The credentials of a public route: it never calls the upstream. */
const ANONYMOUS: Credentials = { token: '', principal: '', label: 'anonymous' };

/** A route of the API: its path pattern (`:id` marks the conversation id) and methods. */
export interface RouteInfo {
  path: string;
  methods: string[];
}

/** A list item with its times in the one format. */
function summaryTimes<T extends { create_time?: unknown; update_time?: unknown }>(item: T): T {
  return {
    ...item,
    create_time: isoTime(item.create_time),
    update_time: isoTime(item.update_time),
  };
}

/** Shortest secret worth scanning for: shorter strings would redact ordinary words. */
const MIN_SECRET_LENGTH = 8;

/**
 * `error` with every occurrence of `secrets` in its message replaced: an upstream (or a proxy
 * before it) may echo the credential it was sent, and its text can reach an error message.
 */
function redacted(error: RestError, secrets: readonly string[]): RestError {
  let message = error.message;
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH) message = message.split(secret).join('[redacted]');
  }
  if (message === error.message) return error;
  return new RestError(error.code, message, {
    ...(error.field === undefined ? {} : { field: error.field }),
    ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
    ...(error.allow === undefined ? {} : { allow: error.allow }),
    ...(error.upstreamStatus === undefined ? {} : { upstreamStatus: error.upstreamStatus }),
  });
}

/** The credential a request carries in `Authorization` or `X-API-Key`, if any. */
function sentCredentials(headers: Headers): string[] {
  const sent: string[] = [];
  const authorization = headers.get('authorization');
  if (authorization !== null) sent.push(authorization.replace(/^\s*bearer\s+/i, '').trim());
  const apiKey = headers.get('x-api-key');
  if (apiKey !== null) sent.push(apiKey.trim());
  return sent;
}

/** True for an abort this process asked for (shutdown, client gone): never an internal error. */
function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** Creates the REST API handler: `(request: Request) => Promise<Response>`. */
export function createHandler(userOptions: ChatGptRestOptions = {}): ChatGptHandler {
  const options = resolveOptions(userOptions);
  const { logger, limits } = options;
  // Held tokens: the pool sees every upstream call (load, one message at a time, 401s, caps).
  const pool = tokenPoolOf(options.auth, logger);
  const upstreamOptions =
    pool === undefined ? options : { ...options, fetch: pool.wrapFetch(options.fetch) };
  const upstream = new UpstreamClient(upstreamOptions, senderFor(upstreamOptions));
  const cache = new ConversationCache(options.cache);
  const authenticate = createAuthenticator(options.auth, pool);
  const deps = { options, upstream, cache };
  const heldTokens = options.auth.mode === 'server' ? options.auth.tokens.map((t) => t.token) : [];

  /**
   * A conversation's tree, from the cache when there (`whole`: only a tree the upstream sent,
   * not one rebuilt from streams, which lacks the hidden nodes), else from one upstream GET.
   */
  async function conversation(
    context: Context,
    id: string,
    whole = false,
  ): Promise<BackendConversation> {
    const cached = cache.get(context.credentials.principal, id);
    if (cached !== undefined && (cached.complete || !whole)) return cached.conversation;
    const fetched = await upstream.getConversation(context.credentials.token, id, context.signal);
    cache.set(context.credentials.principal, id, { conversation: fetched, complete: true });
    return fetched;
  }

  async function body(context: Context): Promise<BodyFields> {
    return readBodyFields(context.request, limits.body);
  }

  function wantsStream(context: Context, fields: BodyFields): boolean {
    const explicit = optionalBoolean(fields, 'stream');
    if (explicit !== undefined) return explicit;
    return (context.request.headers.get('accept') ?? '').includes('text/event-stream');
  }

  /** Runs a turn and answers in the mode the client asked for; JSON is the stream collected. */
  async function answer(context: Context, turn: TurnRequest, stream: boolean): Promise<Response> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    context.signal.addEventListener('abort', onAbort, { once: true });
    const events = runTurn(deps, { ...context.credentials, signal: controller.signal }, turn);
    const cleanup = (): void => context.signal.removeEventListener('abort', onAbort);
    try {
      // Wait until the upstream accepted the message: a failure before that is a plain HTTP error.
      const first = await events.next();
      if (first.done === true) throw new RestError('upstream_error', 'The upstream sent nothing.');
      if (!stream) {
        let reply: Reply | undefined;
        for await (const event of events) if (event.type === 'reply') reply = event.reply;
        cleanup();
        if (reply === undefined) throw new RestError('upstream_error', 'No reply was received.');
        return jsonResponse(201, { response: reply });
      }
      return sseResponse(toSse(events, cleanup), {
        pingInterval: options.pingInterval,
        cancel: (reason) => {
          controller.abort(reason);
          cleanup();
        },
        toError: (error) =>
          redacted(toRestError(error, context.request), secretsOf(context.request)),
      });
    } catch (error) {
      controller.abort();
      cleanup();
      throw error;
    }
  }

  async function* toSse(
    events: AsyncGenerator<TurnEvent>,
    cleanup: () => void,
  ): AsyncGenerator<SseEvent> {
    try {
      for await (const event of events) {
        if (event.type === 'delta') yield { event: 'delta', data: { text: event.text } };
        else if (event.type === 'rewrite') yield { event: 'rewrite', data: { text: event.text } };
        else if (event.type === 'title') yield { event: 'title', data: { title: event.title } };
        else if (event.type === 'reply') yield { event: 'reply', data: event.reply };
      }
      yield { event: 'done', data: {} };
    } finally {
      cleanup();
    }
  }

  async function askTurn(context: Context, id: string): Promise<Response> {
    const fields = await body(context);
    const prompt = requiredText(fields, 'prompt', limits.prompt);
    const explicitParent = optionalUuid(fields, 'parent_id');
    const model = optionalModel(fields) ?? options.defaultModel;
    const autocontinue = optionalBoolean(fields, 'autocontinue') ?? false;
    const stream = wantsStream(context, fields);
    const parentId = explicitParent ?? (await conversation(context, id)).current_node;
    return answer(
      context,
      {
        action: 'next',
        conversationId: id,
        parentId,
        userMessage: { id: newMessageId(), text: prompt },
        model,
        autocontinue,
      },
      stream,
    );
  }

  const routes: RouteEntry[] = [
    {
      path: '/openapi.json',
      public: true,
      methods: { GET: () => Promise.resolve(jsonResponse(200, OPENAPI_DOCUMENT)) },
    },
    {
      path: '/conversations',
      methods: {
        GET: async (context) => {
          const params = context.url.searchParams;
          const limit = integerParam(params, 'limit', { min: 1, max: 100, fallback: 10 });
          const offset = integerParam(params, 'offset', {
            min: 0,
            max: Number.MAX_SAFE_INTEGER,
            fallback: 0,
          });
          const list = await upstream.listConversations(
            context.credentials.token,
            { offset, limit },
            context.signal,
          );
          if (!Array.isArray(list.items)) {
            throw new RestError('upstream_error', 'The upstream list had no items.');
          }
          return jsonResponse(200, list.items.map(summaryTimes), {
            'x-total-count': String(list.total),
          });
        },
      },
    },
    {
      path: '/conversations/new',
      methods: {
        POST: async (context) => {
          const fields = await body(context);
          const prompt = requiredText(fields, 'prompt', limits.prompt);
          const title = optionalText(fields, 'title', 1000);
          const model = optionalModel(fields) ?? options.defaultModel;
          const autocontinue = optionalBoolean(fields, 'autocontinue') ?? false;
          const stream = wantsStream(context, fields);
          return answer(
            context,
            {
              action: 'next',
              parentId: options.dialect === 'web' ? 'client-created-root' : newMessageId(),
              userMessage: { id: newMessageId(), text: prompt },
              model,
              autocontinue,
              ...(title === undefined ? {} : { title }),
            },
            stream,
          );
        },
      },
    },
    {
      path: '/conversations/all',
      methods: {
        DELETE: async (context) => {
          await upstream.patchAllConversations(
            context.credentials.token,
            { is_visible: false },
            context.signal,
          );
          cache.deletePrincipal(context.credentials.principal);
          return new Response(null, { status: 204 });
        },
      },
    },
    {
      path: '/conversations/:id',
      methods: {
        GET: async (context) => {
          const id = context.id as string;
          const tree = await conversation(context, id, true);
          return jsonResponse(200, {
            id,
            title: tree.title,
            create_time: isoTime(tree.create_time),
            update_time: isoTime(tree.update_time),
            current_node: tree.current_node,
            messages: threadMessages(tree, id),
            mapping: tree.mapping,
          });
        },
        PATCH: async (context) => {
          const id = context.id as string;
          const fields = await body(context);
          const title = requiredText(fields, 'title', 1000);
          await upstream.patchConversation(
            context.credentials.token,
            id,
            { title },
            context.signal,
          );
          cache.delete(context.credentials.principal, id);
          return jsonResponse(200, { id, title });
        },
        DELETE: async (context) => {
          const id = context.id as string;
          await upstream.patchConversation(
            context.credentials.token,
            id,
            { is_visible: false },
            context.signal,
          );
          cache.delete(context.credentials.principal, id);
          return new Response(null, { status: 204 });
        },
      },
    },
    {
      path: '/conversations/:id/ask',
      methods: { POST: (context) => askTurn(context, context.id as string) },
    },
    {
      path: '/conversations/:id/regenerate',
      methods: {
        POST: async (context) => {
          const id = context.id as string;
          const fields = await body(context);
          const explicitParent = optionalUuid(fields, 'parent_id');
          const model = optionalModel(fields) ?? options.defaultModel;
          const stream = wantsStream(context, fields);
          const tree = await conversation(context, id);
          const answerId = explicitParent ?? tree.current_node;
          const answerNode = tree.mapping[answerId];
          const userNode = answerNode?.parent == null ? undefined : tree.mapping[answerNode.parent];
          if (
            answerNode?.message == null ||
            messageRole(answerNode.message) !== 'assistant' ||
            userNode?.message == null ||
            messageRole(userNode.message) !== 'user'
          ) {
            throw new RestError(
              'invalid_request',
              'parent_id must be an assistant message of this conversation that answers a user message.',
              { field: 'parent_id' },
            );
          }
          return answer(
            context,
            {
              action: 'variant',
              conversationId: id,
              parentId: userNode.parent ?? newMessageId(),
              userMessage: { id: userNode.id, text: messageText(userNode.message) },
              model,
              autocontinue: false,
            },
            stream,
          );
        },
      },
    },
    {
      path: '/conversations/:id/messages',
      methods: {
        GET: async (context) => {
          const id = context.id as string;
          return jsonResponse(200, threadMessages(await conversation(context, id), id));
        },
      },
    },
  ];

  const compiled = routes.map((entry) => ({
    entry,
    pattern: new RegExp(`^${entry.path.replace(':id', '([^/]+)')}$`),
  }));

  function match(pathname: string): { entry: RouteEntry; id: string | undefined } | undefined {
    for (const { entry, pattern } of compiled) {
      const found = pattern.exec(pathname);
      if (found !== null) return { entry, id: found[1] };
    }
    return undefined;
  }

  function routePath(url: URL): string | undefined {
    let path = url.pathname;
    if (options.prefix !== '') {
      if (path !== options.prefix && !path.startsWith(`${options.prefix}/`)) return undefined;
      path = path.slice(options.prefix.length);
    }
    return path.length > 1 ? path.replace(/\/$/, '') : path;
  }

  /** Every secret an answer to `request` must not hold: held tokens and what the client sent. */
  function secretsOf(request: Request): string[] {
    return [...heldTokens, ...sentCredentials(request.headers)];
  }

  function toRestError(error: unknown, request: Request): RestError {
    if (isRestError(error)) return error;
    if (request.signal.aborted) {
      // The client left and the upstream read was aborted on its behalf: no bug, nobody to tell.
      return new RestError('upstream_error', 'The client closed the request.');
    }
    if (isAbort(error)) {
      // An abort this process chose (a shutdown ending live streams): an answer, not a bug.
      return new RestError('upstream_unavailable', 'The server stopped this request.');
    }
    const requestId = randomUUID().slice(0, 8);
    logger.error(
      { requestId, method: request.method, err: error instanceof Error ? error.name : 'unknown' },
      'internal error',
    );
    return new RestError('internal_error', `Internal error (request id ${requestId}).`);
  }

  const handler = async (request: Request): Promise<Response> => {
    const response = await dispatch(request);
    return options.cors === undefined ? response : options.cors.decorate(request, response);
  };

  async function dispatch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      const path = routePath(url);
      const found = path === undefined ? undefined : match(path);
      if (found === undefined) {
        throw new RestError('not_found', `No route for ${request.method} ${url.pathname}.`);
      }
      const preflight = options.cors?.preflight(request, Object.keys(found.entry.methods));
      if (preflight !== undefined) return preflight;
      const route = found.entry.methods[request.method];
      if (route === undefined) {
        const allow = Object.keys(found.entry.methods);
        throw new RestError('method_not_allowed', `Use ${allow.join(' or ')} on this path.`, {
          allow,
        });
      }
      const credentials =
        found.entry.public === true ? ANONYMOUS : authenticate(request.headers, found.id);
      const id = found.id === undefined ? undefined : uuidField('conversation_id', found.id);
      return await route({ request, url, id, credentials, signal: request.signal });
    } catch (error) {
      if (request.signal.aborted && !isRestError(error)) {
        // The client left; nobody reads this answer.
        return new Response(null, { status: 499 });
      }
      const restError = toRestError(error, request);
      logger.info(
        {
          method: request.method,
          path: url.pathname,
          code: restError.code,
          status: restError.status,
        },
        'request failed',
      );
      return errorResponse(redacted(restError, secretsOf(request)));
    }
  }

  return Object.assign(handler, {
    handles: (pathname: string) => {
      const path = routePath(new URL(pathname, 'http://x'));
      return path !== undefined && match(path) !== undefined;
    },
    options,
    routes: routes.map((entry) => ({ path: entry.path, methods: Object.keys(entry.methods) })),
  });
}
