/** Routes that read and change conversations: list, read, rename, delete, delete all, messages. */
import { isoTime, threadMessages } from '../conversation/message-tree.js';
import { readBodyFields } from '../http/request-body.js';
import { jsonResponse } from '../http/responses.js';
import { integerParam, requiredText } from '../http/validation.js';
import { loadConversation, type IdContext, type Route, type RouteContext } from './context.js';

/** A list item with its times in the one format. */
function summaryTimes<T extends { create_time?: unknown; update_time?: unknown }>(item: T): T {
  return {
    ...item,
    create_time: isoTime(item.create_time),
    update_time: isoTime(item.update_time),
  };
}

const noContent = (): Response => new Response(null, { status: 204 });

async function list(context: RouteContext): Promise<Response> {
  const params = context.url.searchParams;
  const limit = integerParam(params, 'limit', { min: 1, max: 100, fallback: 10 });
  const offset = integerParam(params, 'offset', {
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    fallback: 0,
  });
  const page = await context.services.upstream.listConversations(
    context.credentials,
    { offset, limit },
    context.signal,
  );
  return jsonResponse(200, page.items.map(summaryTimes), { 'x-total-count': String(page.total) });
}

async function deleteAll(context: RouteContext): Promise<Response> {
  const { credentials } = context;
  const { principal } = credentials;
  const { upstream, cache } = context.services;
  await upstream.patchAllConversations(credentials, { is_visible: false }, context.signal);
  await cache.deletePrincipal(principal);
  return noContent();
}

async function read(context: IdContext): Promise<Response> {
  const tree = await loadConversation(context, true);
  return jsonResponse(200, {
    id: context.id,
    title: tree.title,
    create_time: isoTime(tree.create_time),
    update_time: isoTime(tree.update_time),
    current_node: tree.current_node,
    messages: threadMessages(tree, context.id),
    mapping: tree.mapping,
  });
}

/** `PATCH` the conversation upstream, then forget its cached tree. */
async function patch(context: IdContext, changes: Record<string, unknown>): Promise<void> {
  const { credentials } = context;
  const { principal } = credentials;
  const { upstream, cache } = context.services;
  await upstream.patchConversation(credentials, context.id, changes, context.signal);
  await cache.delete(principal, context.id);
}

async function rename(context: IdContext): Promise<Response> {
  const fields = await readBodyFields(context.request, context.services.options.limits.body);
  const title = requiredText(fields, 'title', 1000);
  await patch(context, { title });
  return jsonResponse(200, { id: context.id, title });
}

async function hide(context: IdContext): Promise<Response> {
  await patch(context, { is_visible: false });
  return noContent();
}

async function messages(context: IdContext): Promise<Response> {
  return jsonResponse(200, threadMessages(await loadConversation(context), context.id));
}

export const listRoute: Route = {
  kind: 'collection',
  path: '/conversations',
  methods: { GET: list },
};

export const deleteAllRoute: Route = {
  kind: 'collection',
  path: '/conversations/all',
  methods: { DELETE: deleteAll },
};

export const conversationRoute: Route = {
  kind: 'member',
  path: '/conversations/:id',
  methods: { GET: read, PATCH: rename, DELETE: hide },
};

export const messagesRoute: Route = {
  kind: 'member',
  path: '/conversations/:id/messages',
  methods: { GET: messages },
};
