/**
 * The OpenAI-compatible routes: `POST /v1/chat/completions`, `GET /v1/models` and
 * `GET /v1/models/{model}`, for the `openai` SDK, LangChain, the Vercel AI SDK and the chat
 * apps built on them. Same auth, token pool, dialects, timeouts and cache as the REST API;
 * errors in OpenAI's shape.
 */
import { randomUUID } from 'node:crypto';
import type { TurnRequest } from '../conversation/turn.js';
import { newMessageId } from '../conversation/turn.js';
import { RestError, isRestError } from '../errors.js';
import { streamFailure } from '../http/failures.js';
import { readBodyFields } from '../http/request-body.js';
import { jsonResponse } from '../http/responses.js';
import { sseResponse, type SseEvent } from '../http/sse-response.js';
import { startsWithText } from '../stream/stream-messages.js';
import { chatRequest, type ChatMessage, type ChatRequest } from '../openai/chat-request.js';
import {
  DONE_EVENT,
  chunkEvent,
  completionObject,
  finishReason,
  openaiErrorEvent,
  usageEvent,
  usageOf,
  type CompletionIdentity,
} from '../openai/chat-response.js';
import type { ThreadEnd, ThreadIndex } from '../openai/thread-index.js';
import type { IdContext, Route, RouteContext } from './context.js';
import { collectReply, startTurn, type RunningTurn } from './running-turn.js';

/** The header naming the upstream conversation a completion used. */
export const CONVERSATION_HEADER = 'x-chatgpt-conversation-id';

/** The turn for a history: continued where this server left it, or sent whole. */
function turnFor(
  context: RouteContext,
  chat: ChatRequest,
  end: ThreadEnd | undefined,
): TurnRequest {
  const last = chat.messages.at(-1) as ChatMessage;
  const common = {
    action: 'next' as const,
    userMessage: { id: newMessageId(), text: last.text },
    model: chat.model,
    autocontinue: true,
    temporary: context.services.options.openai.temporary,
  };
  if (end !== undefined) {
    return { ...common, conversationId: end.conversationId, parentId: end.messageId };
  }
  const parentId = context.services.upstream.newConversationParent();
  return { ...common, parentId, history: chat.messages.slice(0, -1) };
}

/** Where the history before the last message ends upstream, when reuse applies. */
function previousEnd(context: RouteContext, chat: ChatRequest): ThreadEnd | undefined {
  const { options, threads } = context.services;
  if (!options.openai.reuseConversations || chat.messages.length < 2) return undefined;
  return threads.find(context.credentials.principal, chat.messages.slice(0, -1));
}

/** Starts the turn; a continued conversation the upstream lost falls back to a whole history. */
async function start(
  context: RouteContext,
  chat: ChatRequest,
): Promise<[RunningTurn, ThreadEnd | undefined]> {
  const end = previousEnd(context, chat);
  try {
    return [await startTurn(context, turnFor(context, chat, end)), end];
  } catch (error) {
    if (end === undefined || !isRestError(error) || error.code !== 'conversation_not_found') {
      throw error;
    }
    // The upstream lost it: never try that conversation for this history again.
    context.services.threads.forget(context.credentials.principal, chat.messages.slice(0, -1));
    return [await startTurn(context, turnFor(context, chat, undefined)), undefined];
  }
}

/** Where a finished exchange is remembered: the thread index, under the caller's principal. */
interface ThreadMemory {
  threads: ThreadIndex;
  principal: string;
}

function memoryOf(context: RouteContext): ThreadMemory {
  return { threads: context.services.threads, principal: context.credentials.principal };
}

function remember(
  memory: ThreadMemory,
  chat: ChatRequest,
  reply: { message: string; conversation_id: string; parent_id: string },
): void {
  const history: ChatMessage[] = [...chat.messages, { role: 'assistant', text: reply.message }];
  memory.threads.remember(memory.principal, history, {
    conversationId: reply.conversation_id,
    messageId: reply.parent_id,
  });
}

function checkModel(context: RouteContext, model: string): void {
  const { models } = context.services.options.openai;
  if (models.length > 0 && !models.includes(model)) {
    throw new RestError('not_found', `The model "${model}" is not offered here.`, {
      field: 'model',
    });
  }
}

async function completions(context: RouteContext): Promise<Response> {
  const { options } = context.services;
  const fields = await readBodyFields(context.request, options.limits.body);
  const chat = chatRequest(fields, {
    prompt: options.limits.prompt,
    defaultModel: options.defaultModel,
  });
  checkModel(context, chat.model);
  const [running, end] = await start(context, chat);
  const identity: CompletionIdentity = {
    id: `chatcmpl-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model: chat.model,
  };
  const headers: Record<string, string> =
    end === undefined ? {} : { [CONVERSATION_HEADER]: end.conversationId };
  if (chat.stream) return streamed(context, chat, running, identity, headers);
  const reply = await collectReply(running);
  remember(memoryOf(context), chat, reply);
  const usage = usageOf(chat.messages, reply.message);
  return jsonResponse(200, completionObject(identity, reply, usage), {
    ...headers,
    [CONVERSATION_HEADER]: reply.conversation_id,
  });
}

/**
 * The turn's events as `chat.completion.chunk`s: role first, content, finish, usage, `[DONE]`.
 * It lives as long as the stream: it keeps where to remember the thread, not the route context.
 */
async function* chunks(
  memory: ThreadMemory,
  chat: ChatRequest,
  running: RunningTurn,
  identity: CompletionIdentity,
): AsyncGenerator<SseEvent> {
  try {
    yield chunkEvent(identity, { role: 'assistant', content: '', refusal: null });
    // Chunks cannot take text back: a rewrite that extends what was sent sends the extension,
    // any other is left as sent (the non-streaming answer and the reply hold the new text).
    let sent = '';
    for await (const event of running.events) {
      if (event.type === 'delta') {
        sent += event.text;
        if (event.text !== '') yield chunkEvent(identity, { content: event.text });
      } else if (event.type === 'rewrite') {
        if (event.text !== sent && startsWithText(event.text, sent))
          yield chunkEvent(identity, { content: event.text.slice(sent.length) });
        sent = event.text;
      }
      if (event.type !== 'reply') continue;
      remember(memory, chat, event.reply);
      yield chunkEvent(identity, {}, finishReason(event.reply.finish_details));
      if (chat.includeUsage)
        yield usageEvent(identity, usageOf(chat.messages, event.reply.message));
    }
    yield DONE_EVENT;
  } finally {
    running.finish();
  }
}

function streamed(
  context: RouteContext,
  chat: ChatRequest,
  running: RunningTurn,
  identity: CompletionIdentity,
  headers: Record<string, string>,
): Response {
  const { services, requestId } = context;
  const response = sseResponse(chunks(memoryOf(context), chat, running, identity), {
    pingInterval: services.options.pingInterval,
    stallMs: services.options.timeouts.idle,
    cancel: (reason) => running.cancel(reason),
    toError: streamFailure(services.toRestError, context),
    errorEvent: (error) => openaiErrorEvent(error, requestId),
    probe: services.options.metrics.stream('openai'),
  });
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

/** One model in OpenAI's shape. */
function modelObject(id: string): Record<string, unknown> {
  return { id, object: 'model', created: 0, owned_by: 'chatgpt' };
}

function listModels(context: RouteContext): Promise<Response> {
  const { models } = context.services.options.openai;
  return Promise.resolve(jsonResponse(200, { object: 'list', data: models.map(modelObject) }));
}

function readModel(context: IdContext): Promise<Response> {
  const { models } = context.services.options.openai;
  if (!models.includes(context.id)) {
    const message = `The model "${context.id}" does not exist.`;
    return Promise.reject(new RestError('not_found', message, { field: 'model' }));
  }
  return Promise.resolve(jsonResponse(200, modelObject(context.id)));
}

export const completionsRoute: Route = {
  kind: 'collection',
  path: '/v1/chat/completions',
  errors: 'openai',
  methods: { POST: completions },
};

export const modelsRoute: Route = {
  kind: 'collection',
  path: '/v1/models',
  errors: 'openai',
  methods: { GET: listModels },
};

export const modelRoute: Route = {
  kind: 'member',
  path: '/v1/models/:id',
  errors: 'openai',
  // A model name, not a conversation id: any one segment of letters, digits, '.', '-', '_', ':'.
  checkId: (raw: string) => {
    if (!/^[\w.:-]{1,100}$/.test(raw)) {
      throw new RestError('not_found', 'No such model.', { field: 'model' });
    }
    return raw;
  },
  methods: { GET: readModel },
};
