/**
 * Applies a message POST (`next`, `continue`, `variant`) to the conversation store and returns the
 * turn the stream encoders describe: which messages are new, the assistant's text for this stream
 * and why it finished. Parent links follow the real backend: `next` adds user + assistant under
 * `parent_message_id`; `variant` adds another assistant child to the existing user message;
 * `continue` adds a new assistant message (`message_type: "continue"`) whose parent is the cut one.
 */
import { randomUUID } from 'node:crypto';
import type { BackendMessage } from '@chatgpt-rest/core/backend';
import type { ErrorAnswer } from './backend-errors.js';
import { conversationNotFound, unprocessable } from './backend-errors.js';
import type { ConversationStore, ReplyPlan, StoredConversation } from './conversation-store.js';
import { addMessage, epochSeconds, messageOf } from './conversation-store.js';
import type { ReplyFunction } from './reply-generator.js';
import { generateReply, titleFor, tokenize } from './reply-generator.js';

/** Settings of reply generation the turn needs. */
export interface TurnSettings {
  seed: number;
  replyWords: number;
  maxTokens: number;
  reply: ReplyFunction | undefined;
  modelMap: Record<string, string>;
  /** Set the title at once (v1 streams announce it with `title_generation`). */
  titleInStream: boolean;
}

/** A turn ready to be streamed. */
export interface Turn {
  conversation: StoredConversation;
  isNew: boolean;
  action: 'next' | 'continue' | 'variant';
  /** The hidden system message, when the conversation is new. */
  system: BackendMessage | undefined;
  /** The user message this reply answers (new for `next`, existing for `variant`/`continue`). */
  user: BackendMessage | undefined;
  /** True when the user message was created by this request (so streams echo it). */
  userIsNew: boolean;
  /** The assistant message in its final state, as stored. */
  assistant: BackendMessage;
  /** The text this stream carries. */
  text: string;
  finish: 'stop' | 'max_tokens';
  model: string;
  requestedModel: string;
  /** The generated title, on the first turn. */
  title: string | undefined;
}

interface IncomingMessage {
  id?: unknown;
  author?: { role?: unknown };
  role?: unknown;
  content?: { content_type?: unknown; parts?: unknown };
  create_time?: unknown;
  metadata?: unknown;
}

/** The fields of a message POST body the emulator reads. */
export interface MessageBody {
  action?: unknown;
  messages?: unknown;
  conversation_id?: unknown;
  parent_message_id?: unknown;
  model?: unknown;
  supported_encodings?: unknown;
  history_and_training_disabled?: unknown;
}

/** Model slug the backend answers with for a requested model (`constructor` maps to itself). */
export function resolveModel(requested: string, map: Record<string, string>): string {
  return (Object.hasOwn(map, requested) ? map[requested] : undefined) ?? requested;
}

function promptOf(message: IncomingMessage): string {
  const parts = message.content?.parts;
  return Array.isArray(parts) ? parts.filter((p) => typeof p === 'string').join('\n') : '';
}

function roleOf(message: IncomingMessage): string {
  const role = message.author?.role ?? message.role;
  return typeof role === 'string' ? role : 'user';
}

function userMessage(incoming: IncomingMessage, requestId: string): BackendMessage {
  const id = typeof incoming.id === 'string' && incoming.id !== '' ? incoming.id : randomUUID();
  return {
    id,
    author: { role: roleOf(incoming), name: null, metadata: {} },
    create_time: typeof incoming.create_time === 'number' ? incoming.create_time : epochSeconds(),
    update_time: null,
    content: { content_type: 'text', parts: [promptOf(incoming)] },
    status: 'finished_successfully',
    end_turn: null,
    weight: 1,
    metadata: {
      selected_github_repos: [],
      serialization_metadata: { custom_symbol_offsets: [] },
      request_id: requestId,
      message_source: null,
      turn_exchange_id: randomUUID(),
      model_switcher_deny: [],
      timestamp_: 'absolute',
    },
    recipient: 'all',
    channel: null,
  };
}

function assistantMessage(options: {
  parentId: string;
  text: string;
  finish: 'stop' | 'max_tokens';
  model: string;
  requestedModel: string;
  messageType: 'next' | 'continue' | 'variant';
  requestId: string;
}): BackendMessage {
  return {
    id: randomUUID(),
    author: { role: 'assistant', name: null, metadata: {} },
    create_time: epochSeconds(),
    update_time: null,
    content: { content_type: 'text', parts: [options.text] },
    status: 'finished_successfully',
    end_turn: options.finish === 'stop',
    weight: 1,
    metadata: {
      citations: [],
      content_references: [],
      request_id: options.requestId,
      message_type: options.messageType,
      model_slug: options.model,
      default_model_slug: options.requestedModel,
      parent_id: options.parentId,
      turn_exchange_id: randomUUID(),
      model_switcher_deny: [],
      finish_details:
        options.finish === 'stop'
          ? { type: 'stop', stop_tokens: [200002], stop: '<|im_end|>' }
          : { type: 'max_tokens' },
      is_complete: true,
      timestamp_: 'absolute',
    },
    recipient: 'all',
    channel: null,
  };
}

/** Cuts the next slice of a planned text: at most `maxTokens` tokens from `start`. */
export function nextSlice(text: string, start: number, maxTokens: number): ReplyPlan {
  const tokens = tokenize(text.slice(start));
  const taken = tokens.slice(0, Math.max(1, maxTokens)).join('');
  return { text, start, end: start + taken.length };
}

type TurnResult = { ok: true; turn: Turn } | { ok: false; answer: ErrorAnswer };

function fail(answer: ErrorAnswer): TurnResult {
  return { ok: false, answer };
}

type Action = Turn['action'];

/** What every step of one message POST shares. */
interface TurnContext {
  conversation: StoredConversation;
  isNew: boolean;
  /** The request's action. */
  action: Action;
  model: string;
  requestedModel: string;
  requestId: string;
  settings: TurnSettings;
}

/** Applies one message POST to the store; the result is either a turn or the backend's refusal. */
export function applyTurn(
  store: ConversationStore,
  owner: string,
  body: MessageBody,
  settings: TurnSettings,
): TurnResult {
  const action = body.action ?? 'next';
  if (action !== 'next' && action !== 'continue' && action !== 'variant') {
    return fail(unprocessable(`unexpected value; permitted: 'next', 'continue', 'variant'`));
  }
  const requestedModel = typeof body.model === 'string' ? body.model : 'auto';
  const parentId = typeof body.parent_message_id === 'string' ? body.parent_message_id : '';
  const messages = Array.isArray(body.messages) ? (body.messages as IncomingMessage[]) : [];
  const requestId = randomUUID();
  const opened = openConversation(store, owner, body, action, requestedModel);
  if (opened === undefined) return fail(conversationNotFound());
  const context: TurnContext = {
    ...opened,
    action,
    model: resolveModel(requestedModel, settings.modelMap),
    requestedModel,
    requestId,
    settings,
  };
  if (action === 'continue') return continueTurn(context, parentId);
  const incoming = messages[0];
  if (incoming === undefined) return fail(unprocessable('messages must hold the user message'));
  if (action === 'variant') {
    const variant = variantTurn(context, incoming, parentId);
    if (variant !== undefined) return variant;
  }
  return nextTurn(context, messages, incoming, parentId);
}

/** The conversation the POST names, or a new one for a `next` without one; undefined: 404. */
function openConversation(
  store: ConversationStore,
  owner: string,
  body: MessageBody,
  action: Action,
  requestedModel: string,
): { conversation: StoredConversation; isNew: boolean } | undefined {
  const conversationId =
    typeof body.conversation_id === 'string' && body.conversation_id !== ''
      ? body.conversation_id
      : undefined;
  if (conversationId === undefined) {
    if (action !== 'next') return undefined;
    const conversation = store.create(owner, requestedModel);
    conversation.temporary = body.history_and_training_disabled === true;
    return { conversation, isNew: true };
  }
  const found = store.get(owner, conversationId);
  return found === undefined ? undefined : { conversation: found, isNew: false };
}

/** `continue`: a new assistant message under the cut one, carrying the rest of its plan. */
function continueTurn(context: TurnContext, parentId: string): TurnResult {
  const { conversation, settings } = context;
  const cut = messageOf(conversation, parentId);
  const previous = conversation.plans.get(parentId);
  if (cut === undefined || cut.author.role !== 'assistant' || previous === undefined) {
    return fail(unprocessable('parent_message_id is not an assistant message to continue'));
  }
  const user = findUserAbove(conversation, parentId);
  return finishTurn(
    context,
    user,
    false,
    parentId,
    nextSlice(previous.text, previous.end, settings.maxTokens),
    'continue',
  );
}

/** `variant` of a user message the tree holds: another reply under it; undefined when not held. */
function variantTurn(
  context: TurnContext,
  incoming: IncomingMessage,
  parentId: string,
): TurnResult | undefined {
  const { conversation } = context;
  const existing = resolveVariantUser(conversation, incoming, parentId);
  if (existing === undefined) return undefined;
  const prompt = promptOf(incoming);
  const siblings = conversation.mapping[existing.id]?.children.length ?? 0;
  conversation.currentNode = existing.id;
  return finishTurn(
    context,
    existing,
    false,
    existing.id,
    planReply(context, prompt, siblings),
    'variant',
  );
}

/** `next` (or a variant of a message the tree does not hold, which the backend treats as an edit). */
function nextTurn(
  context: TurnContext,
  messages: IncomingMessage[],
  incoming: IncomingMessage,
  parentId: string,
): TurnResult {
  const { conversation, isNew, action, requestId } = context;
  let parentOfUser = isNew ? conversation.systemId : parentId;
  if (conversation.mapping[parentOfUser] === undefined) {
    return fail(unprocessable('parent_message_id is not a message of this conversation'));
  }
  // Several messages in one `next` (system instructions, an earlier exchange, as OpenAI-style
  // clients send a history): each joins the branch in order, and the last one is answered.
  const last = action === 'next' ? (messages.at(-1) ?? incoming) : incoming;
  for (const earlier of action === 'next' ? messages.slice(0, -1) : []) {
    const message = userMessage(earlier, requestId);
    addMessage(conversation, message, parentOfUser);
    parentOfUser = message.id;
  }
  const user = userMessage(last, requestId);
  if (user.metadata !== undefined && !isNew) user.metadata.parent_id = parentOfUser;
  addMessage(conversation, user, parentOfUser);
  return finishTurn(
    context,
    user,
    true,
    user.id,
    planReply(context, promptOf(last), 0),
    action === 'variant' ? 'variant' : 'next',
  );
}

/** The whole reply text (scripted or generated), cut at `maxTokens`. */
function planReply(context: TurnContext, prompt: string, variant: number): ReplyPlan {
  const { settings } = context;
  const replyContext = {
    model: context.model,
    conversationId: context.conversation.id,
    action: context.action,
    variant,
    seed: settings.seed,
  };
  const text =
    settings.reply !== undefined
      ? settings.reply(prompt, { ...replyContext, action: variant > 0 ? 'variant' : 'next' })
      : generateReply(prompt, settings.seed, settings.replyWords, variant);
  return nextSlice(text, 0, settings.maxTokens);
}

/** Stores the assistant message of this stream (and the title of a new conversation). */
function finishTurn(
  context: TurnContext,
  user: BackendMessage | undefined,
  userIsNew: boolean,
  parentOfReply: string,
  plan: ReplyPlan,
  messageType: Action,
): TurnResult {
  const { conversation, isNew, model, requestedModel, settings } = context;
  const text = plan.text.slice(plan.start, plan.end);
  const finish = plan.end < plan.text.length ? 'max_tokens' : 'stop';
  const assistant = assistantMessage({
    parentId: parentOfReply,
    text,
    finish,
    model,
    requestedModel,
    messageType,
    requestId: context.requestId,
  });
  addMessage(conversation, assistant, parentOfReply);
  conversation.plans.set(assistant.id, plan);
  const prompt = typeof user?.content.parts?.[0] === 'string' ? user.content.parts[0] : '';
  const title = isNew ? titleFor(prompt) : undefined;
  if (isNew) conversation.title = settings.titleInStream ? (title ?? null) : 'New chat';
  const system = isNew ? messageOf(conversation, conversation.systemId) : undefined;
  return {
    ok: true,
    turn: {
      conversation,
      isNew,
      action: messageType,
      system,
      user,
      userIsNew,
      assistant,
      text,
      finish,
      model,
      requestedModel,
      title,
    },
  };
}

/** The user message a variant regenerates: by id, else a same-text child of the given parent. */
function resolveVariantUser(
  conversation: StoredConversation,
  incoming: IncomingMessage,
  parentId: string,
): BackendMessage | undefined {
  if (typeof incoming.id === 'string') {
    const byId = messageOf(conversation, incoming.id);
    if (byId?.author.role === 'user') return byId;
  }
  const prompt = promptOf(incoming);
  for (const childId of conversation.mapping[parentId]?.children ?? []) {
    const child = messageOf(conversation, childId);
    if (child?.author.role === 'user' && child.content.parts?.[0] === prompt) return child;
  }
  return undefined;
}

/** The nearest user message at or above a node. */
export function findUserAbove(
  conversation: StoredConversation,
  id: string,
): BackendMessage | undefined {
  let node = conversation.mapping[id];
  while (node !== undefined) {
    if (node.message?.author.role === 'user') return node.message;
    node = node.parent === null ? undefined : conversation.mapping[node.parent];
  }
  return undefined;
}
