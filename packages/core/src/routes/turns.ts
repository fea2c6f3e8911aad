/** Routes that run a turn upstream: a new conversation, an ask, a regenerate. */
import type { BackendConversation, MappingNode } from '../backend/types.js';
import { messageRole, messageText } from '../conversation/reply.js';
import { newMessageId, type TurnEvent, type TurnRequest } from '../conversation/turn.js';
import { RestError } from '../errors.js';
import { readBodyFields } from '../http/request-body.js';
import { jsonResponse } from '../http/responses.js';
import { streamFailure } from '../http/failures.js';
import { restErrorEvent, sseResponse, type SseEvent } from '../http/sse-response.js';
import {
  optionalBoolean,
  optionalModel,
  optionalText,
  optionalUuid,
  requiredText,
} from '../http/validation.js';
import { loadConversation, type IdContext, type Route, type RouteContext } from './context.js';
import { collectReply, startTurn } from './running-turn.js';

/** The fields of a turn request, checked in the order the routes always checked them. */
interface TurnFields {
  prompt: string;
  title: string | undefined;
  parentId: string | undefined;
  model: string;
  autocontinue: boolean;
  stream: boolean;
}

/**
 * Reads the body and checks the fields a turn of `kind` takes: `new` (prompt, title), `ask`
 * (prompt, parent_id) or `regenerate` (parent_id); then model, autocontinue and stream.
 */
async function turnFields(
  context: RouteContext,
  kind: 'new' | 'ask' | 'regenerate',
): Promise<TurnFields> {
  const { options } = context.services;
  const fields = await readBodyFields(context.request, options.limits.body);
  const prompt = kind === 'regenerate' ? '' : requiredText(fields, 'prompt', options.limits.prompt);
  const title = kind === 'new' ? optionalText(fields, 'title', 1000) : undefined;
  const parentId = kind === 'new' ? undefined : optionalUuid(fields, 'parent_id');
  const model = optionalModel(fields) ?? options.defaultModel;
  const autocontinue =
    kind === 'regenerate' ? false : (optionalBoolean(fields, 'autocontinue') ?? false);
  const explicit = optionalBoolean(fields, 'stream');
  const accept = context.request.headers.get('accept') ?? '';
  const stream = explicit ?? accept.includes('text/event-stream');
  return { prompt, title, parentId, model, autocontinue, stream };
}

/** The turn's events as the REST stream's events, `done` last. */
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

/** Runs a turn and answers in the mode the client asked for; JSON is the stream collected. */
async function answer(
  context: RouteContext,
  turn: TurnRequest,
  stream: boolean,
): Promise<Response> {
  const { services, requestId } = context;
  const running = await startTurn(context, turn);
  if (!stream) return jsonResponse(201, { response: await collectReply(running) });
  // The stream's callbacks keep what they use, not the route's context (its request view).
  return sseResponse(toSse(running.events, running.finish), {
    pingInterval: services.options.pingInterval,
    stallMs: services.options.timeouts.idle,
    cancel: (reason) => running.cancel(reason),
    toError: streamFailure(services.toRestError, context),
    errorEvent: (error) => restErrorEvent(error, requestId),
    probe: services.options.metrics.stream('rest'),
  });
}

async function newConversation(context: RouteContext): Promise<Response> {
  const { prompt, title, model, autocontinue, stream } = await turnFields(context, 'new');
  const turn: TurnRequest = {
    action: 'next',
    parentId: context.services.upstream.newConversationParent(),
    userMessage: { id: newMessageId(), text: prompt },
    model,
    autocontinue,
    ...(title === undefined ? {} : { title }),
  };
  return answer(context, turn, stream);
}

async function ask(context: IdContext): Promise<Response> {
  const { prompt, parentId, model, autocontinue, stream } = await turnFields(context, 'ask');
  const turn: TurnRequest = {
    action: 'next',
    conversationId: context.id,
    parentId: parentId ?? (await loadConversation(context)).current_node,
    userMessage: { id: newMessageId(), text: prompt },
    model,
    autocontinue,
  };
  return answer(context, turn, stream);
}

/** The user message that `answerId` (an assistant message) answers, or a 400 naming parent_id. */
function answeredUserNode(tree: BackendConversation, answerId: string): MappingNode {
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
  return userNode;
}

async function regenerate(context: IdContext): Promise<Response> {
  const { model, stream, parentId } = await turnFields(context, 'regenerate');
  const tree = await loadConversation(context);
  const userNode = answeredUserNode(tree, parentId ?? tree.current_node);
  const turn: TurnRequest = {
    action: 'variant',
    conversationId: context.id,
    parentId: userNode.parent ?? newMessageId(),
    userMessage: {
      id: userNode.id,
      text: userNode.message == null ? '' : messageText(userNode.message),
    },
    model,
    autocontinue: false,
  };
  return answer(context, turn, stream);
}

export const newConversationRoute: Route = {
  kind: 'collection',
  path: '/conversations/new',
  methods: { POST: newConversation },
};

export const askRoute: Route = {
  kind: 'member',
  path: '/conversations/:id/ask',
  methods: { POST: ask },
};

export const regenerateRoute: Route = {
  kind: 'member',
  path: '/conversations/:id/regenerate',
  methods: { POST: regenerate },
};
