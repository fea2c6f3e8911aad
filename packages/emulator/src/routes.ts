/**
 * The endpoints under `/backend-api`, one short function each, and the dispatch that picks one by
 * path (404 when none, 405 for another method). The `web` endpoints exist unless the dialect is
 * `legacy`.
 */
import type { ServerResponse } from 'node:http';
import {
  conversationNotFound,
  methodNotAllowed,
  routeNotFound,
  unprocessable,
} from './backend-errors.js';
import type { StoredConversation } from './conversation-store.js';
import {
  conversationDetail,
  conversationSummary,
  epochSeconds,
  messageOf,
} from './conversation-store.js';
import type { RecordedRequest } from './types.js';
import type { StreamFault } from './faults.js';
import { asRecord, sendAnswer, sendJson } from './http-io.js';
import { handleMessage, refuse } from './message-handler.js';
import { titleFor } from './reply-generator.js';
import type { EmulatorState } from './state.js';
import { findUserAbove } from './turns.js';

/** The prefix every endpoint lives under. */
export const BASE = '/backend-api';

/** One authenticated request on its way to an endpoint. */
interface RouteContext {
  state: EmulatorState;
  res: ServerResponse;
  recorded: RecordedRequest;
  /** The access token the request authenticated with. */
  owner: string;
  streamFaults: StreamFault[];
  method: string;
  /** The JSON body when it is an object, else `{}`. */
  body: Record<string, unknown>;
}

type Handler = (context: RouteContext, match: RegExpExecArray) => void | Promise<void>;

interface Route {
  /** The path after `/backend-api`. */
  path: RegExp;
  /** Served only when the dialect is not `legacy`. */
  web?: boolean;
  handle: Handler;
}

/** A handler per method; other methods get 405. */
function byMethod(handlers: Partial<Record<string, Handler>>): Handler {
  return (context, match) => {
    const handler = Object.hasOwn(handlers, context.method) ? handlers[context.method] : undefined;
    if (handler === undefined) return sendAnswer(context.res, methodNotAllowed());
    return handler(context, match);
  };
}

function legacySend({ state, res, recorded, owner, streamFaults }: RouteContext): Promise<void> {
  if (state.settings.dialect === 'web') {
    refuse(res, recorded, 'legacy_send_refused');
    return Promise.resolve();
  }
  return handleMessage(state, res, recorded, owner, 'legacy', streamFaults);
}

function webSend({ state, res, recorded, owner, streamFaults }: RouteContext): Promise<void> {
  return handleMessage(state, res, recorded, owner, 'web', streamFaults);
}

function prepare({ state, res, owner, body }: RouteContext): void {
  const conversationId =
    typeof body.conversation_id === 'string' && body.conversation_id !== ''
      ? body.conversation_id
      : null;
  if (conversationId !== null && state.store.get(owner, conversationId) === undefined) {
    return sendAnswer(res, conversationNotFound());
  }
  const parent = typeof body.parent_message_id === 'string' ? body.parent_message_id : null;
  sendJson(res, {
    status: 'ok',
    conduit_token: state.sentinel.prepare(owner, conversationId, parent),
  });
}

function chatRequirements({ state, res, owner }: RouteContext): void {
  sendJson(res, state.sentinel.issue(owner));
}

function listConversations({ state, res, recorded, owner }: RouteContext): void {
  const query = recorded.query;
  const offset = Math.max(0, Number.parseInt(query.offset ?? '0', 10) || 0);
  const limit = Math.max(0, Number.parseInt(query.limit ?? '28', 10) || 0);
  const all = state.store.list(owner, query.is_archived === 'true');
  if (query.order === 'created') all.sort((a, b) => b.createTime - a.createTime);
  sendJson(res, {
    items: all.slice(offset, offset + limit).map(conversationSummary),
    total: all.length,
    limit,
    offset,
    has_missing_conversations: false,
  });
}

function hideAll({ state, res, owner, body }: RouteContext): void {
  if (body.is_visible !== false) return sendAnswer(res, unprocessable('is_visible must be false'));
  state.store.hideAll(owner);
  sendJson(res, { success: true });
}

function genTitle({ state, res, owner, body }: RouteContext, match: RegExpExecArray): void {
  const conversation = state.store.get(owner, decodeURIComponent(match[1] ?? ''));
  if (conversation === undefined) return sendAnswer(res, conversationNotFound());
  const messageId = typeof body.message_id === 'string' ? body.message_id : '';
  if (messageOf(conversation, messageId) === undefined) {
    return sendAnswer(res, unprocessable('message_id is not a message of this conversation'));
  }
  const user = findUserAbove(conversation, messageId);
  const prompt = typeof user?.content.parts?.[0] === 'string' ? user.content.parts[0] : '';
  conversation.title = titleFor(prompt);
  sendJson(res, { title: conversation.title });
}

/** `GET` and `PATCH /conversation/{id}` (the id is decoded before the method is checked). */
function oneConversation(context: RouteContext, match: RegExpExecArray): void {
  const conversation = context.state.store.get(context.owner, decodeURIComponent(match[1] ?? ''));
  if (context.method === 'GET') return getConversation(context, conversation);
  if (context.method === 'PATCH') return patchConversation(context, conversation);
  sendAnswer(context.res, methodNotAllowed());
}

function getConversation({ res }: RouteContext, conversation?: StoredConversation): void {
  if (conversation === undefined) return sendAnswer(res, conversationNotFound());
  sendJson(res, conversationDetail(conversation));
}

function patchConversation({ res, body }: RouteContext, conversation?: StoredConversation): void {
  if (conversation === undefined) return sendAnswer(res, conversationNotFound());
  if (typeof body.title === 'string') conversation.title = body.title;
  if (body.is_visible === false) conversation.isVisible = false;
  if (typeof body.is_archived === 'boolean') conversation.isArchived = body.is_archived;
  if (typeof body.title === 'string' || typeof body.is_archived === 'boolean') {
    conversation.updateTime = epochSeconds();
  }
  sendJson(res, { success: true });
}

/** The endpoints, first match wins. */
const ROUTES: readonly Route[] = [
  { path: /^\/conversation$/, handle: byMethod({ POST: legacySend }) },
  { path: /^\/f\/conversation$/, web: true, handle: byMethod({ POST: webSend }) },
  { path: /^\/f\/conversation\/prepare$/, web: true, handle: byMethod({ POST: prepare }) },
  {
    path: /^\/sentinel\/chat-requirements$/,
    web: true,
    handle: byMethod({ POST: chatRequirements }),
  },
  { path: /^\/conversations$/, handle: byMethod({ GET: listConversations, PATCH: hideAll }) },
  { path: /^\/conversation\/gen_title\/([^/]+)$/, handle: byMethod({ POST: genTitle }) },
  { path: /^\/conversation\/([^/]+)$/, handle: oneConversation },
];

/** Answers an authenticated request under `/backend-api` with the endpoint its path names. */
export async function route(
  state: EmulatorState,
  res: ServerResponse,
  recorded: RecordedRequest,
  owner: string,
  streamFaults: StreamFault[],
): Promise<void> {
  const path = recorded.path.slice(BASE.length) || '/';
  const webAllowed = state.settings.dialect !== 'legacy';
  const context: RouteContext = {
    state,
    res,
    recorded,
    owner,
    streamFaults,
    method: recorded.method,
    body: asRecord(recorded.body),
  };
  for (const { path: pattern, web, handle } of ROUTES) {
    if (web === true && !webAllowed) continue;
    const match = pattern.exec(path);
    if (match !== null) return handle(context, match);
  }
  sendAnswer(res, routeNotFound());
}
