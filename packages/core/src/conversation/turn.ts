import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { BackendMessage, BackendMessageRequest } from '../backend/types.js';
import { RestError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ResolvedOptions } from '../options.js';
import { takeChunks } from '../http/whole-response.js';
import { readReply, type ReadReplyOptions } from '../stream/reply-reader.js';
import { cancelByteSource, type ByteSource } from '../stream/sse-reader.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import type { PlacedMessage } from './conversation-cache.js';
import type { CacheStore } from '../store/store.js';
import { addMessage, newConversation } from './message-tree.js';
import { messageText, toReply, type Reply } from './reply.js';

/**
 * What a turn yields: `start` once the upstream accepted the message, then deltas, titles, one
 * reply. `rewrite` comes when the upstream changed text already sent other than by appending (a
 * `v1` replace or truncate): its `text` is the whole reply text so far, and later deltas append
 * to it.
 */
export type TurnEvent =
  | { type: 'start' }
  | { type: 'delta'; text: string }
  | { type: 'rewrite'; text: string }
  | { type: 'title'; title: string }
  | { type: 'reply'; reply: Reply };

/** Who asks, with which token, and how to cancel. */
export interface TurnCaller {
  token: string;
  /** The held token's label (server-held mode), for the token pool's lease. */
  label?: string;
  principal: string;
  signal: AbortSignal;
  /** The request's logger (its lines carry the request id). */
  log?: Logger;
}

/** One exchange with the upstream: a new conversation, an ask, or a regenerate. */
export interface TurnRequest {
  /** `next` sends a new user message; `variant` asks again for the answer to `userMessage`. */
  action: 'next' | 'variant';
  /** Absent for a new conversation. */
  conversationId?: string;
  /** The upstream `parent_message_id`. */
  parentId: string;
  /** The user message: a new prompt (`next`) or the one to answer again (`variant`). */
  userMessage: { id: string; text: string };
  model: string;
  autocontinue: boolean;
  /** New conversations only: rename to this title before replying. */
  title?: string;
  /**
   * Messages sent in the same upstream turn before `userMessage` (an OpenAI-style history on a
   * new conversation): system instructions and earlier exchanges, oldest first.
   */
  history?: { role: 'system' | 'user' | 'assistant'; text: string }[];
  /** Ask the upstream to keep no history of this conversation (a temporary chat). */
  temporary?: boolean;
}

/** The services a turn needs. */
export interface TurnDeps {
  options: ResolvedOptions;
  upstream: UpstreamClient;
  cache: CacheStore;
}

/** The user message as the cache keeps it, stamped with the time it was sent (`sentAt`). */
function userMessage(id: string, text: string, sentAt: number): BackendMessage {
  return {
    id,
    author: { role: 'user', name: null, metadata: {} },
    create_time: sentAt,
    update_time: null,
    content: { content_type: 'text', parts: [text] },
    status: 'finished_successfully',
    end_turn: null,
    weight: 1,
    metadata: {},
    recipient: 'all',
    channel: null,
  };
}

/** The history messages of a turn as the cache and the upstream know them, with fresh ids. */
function historyMessages(turn: TurnRequest, sentAt: number): BackendMessage[] {
  return (turn.history ?? []).map(({ role, text }) => ({
    ...userMessage(newMessageId(), text, sentAt),
    author: { role, name: null, metadata: {} },
  }));
}

/** What a turn sends, fixed once: when, and the history messages with their ids. */
interface Sent {
  at: number;
  history: BackendMessage[];
}

/** The `messages` of a `next` or `variant` request: the history (if any), then the user's. */
function outgoingMessages(
  turn: TurnRequest,
  sent: Sent,
): NonNullable<BackendMessageRequest['messages']> {
  const user = userMessage(turn.userMessage.id, turn.userMessage.text, sent.at);
  return [...sent.history, user].map((message) => ({
    id: message.id,
    author: { role: message.author.role },
    create_time: sent.at,
    content: { content_type: 'text' as const, parts: [messageText(message)] },
    metadata: {},
  }));
}

function messageBody(
  options: ResolvedOptions,
  turn: TurnRequest,
  action: BackendMessageRequest['action'],
  parentId: string,
  conversationId: string | undefined,
  sent: Sent,
): BackendMessageRequest {
  const body: BackendMessageRequest = {
    action,
    ...(action === 'continue' ? {} : { messages: outgoingMessages(turn, sent) }),
    parent_message_id: parentId,
    model: turn.model,
    timezone_offset_min: 0,
    conversation_mode: { kind: 'primary_assistant' },
    history_and_training_disabled: turn.temporary === true,
    supports_buffering: true,
    ...(options.encoding === 'v1' ? { supported_encodings: ['v1'] } : {}),
  };
  if (conversationId !== undefined) body.conversation_id = conversationId;
  return body;
}

/** What a turn has gathered so far, over its continues. */
interface Progress {
  /** The reply's whole text, as the client got it. */
  text: string;
  /** A title the upstream sent in the stream. */
  title: string | undefined;
  /** The assistant messages, each with its own text (a continue may answer with a new one). */
  answers: BackendMessage[];
}

/** The reply's end as the stream reader gives it. */
type Completion = { message: BackendMessage; conversationId: string; text: string };

/**
 * Runs one turn: sends the message, streams the reply's text as deltas, sends `continue` while
 * the reply stops at `max_tokens` (with `autocontinue`, up to the configured limit), then updates
 * the cached tree and yields the reply. Aborting `caller.signal` aborts the upstream request.
 */
export async function* runTurn(
  deps: TurnDeps,
  caller: TurnCaller,
  turn: TurnRequest,
): AsyncGenerator<TurnEvent, void, undefined> {
  // One time for the user message, upstream and in the cache: before any answer to it.
  const sentAt = Date.now() / 1000;
  const sent: Sent = { at: sentAt, history: historyMessages(turn, sentAt) };
  const progress: Progress = { text: '', title: undefined, answers: [] };
  const { message: last, conversationId: id } = yield* exchange(deps, caller, turn, sent, progress);
  const title = await conversationTitle(deps, caller, turn, { id, last, title: progress.title });
  await updateCache(deps.cache, caller.principal, id, { ...turn, sent }, progress.answers, title);

  if (title !== undefined) yield { type: 'title', title };
  const reply = toReply(last, id, progress.text);
  if (turn.conversationId === undefined && title !== undefined) reply.title = title;
  yield { type: 'reply', reply };
}

/**
 * Sends the message, then `continue` while the reply is cut at `max_tokens` and the turn may
 * continue; yields `start` once, then each stream's deltas and rewrites. Returns the last
 * stream's completion.
 */
async function* exchange(
  deps: TurnDeps,
  caller: TurnCaller,
  turn: TurnRequest,
  sent: Sent,
  progress: Progress,
): AsyncGenerator<TurnEvent, Completion, undefined> {
  const { options, upstream } = deps;
  let conversationId = turn.conversationId;
  let parentId = turn.parentId;
  let action: BackendMessageRequest['action'] = turn.action;
  const startedAt = performance.now();
  let texted = false;
  const onText = (): void => {
    if (texted) return;
    texted = true;
    options.metrics.firstDelta(startedAt);
  };
  for (let continues = 0; ; continues++) {
    const body = messageBody(options, turn, action, parentId, conversationId, sent);
    const stream = await replyStream(upstream, caller, body);
    if (continues === 0) yield* started(stream, caller.signal);
    const read = { signal: caller.signal, maxReplyChars: options.limits.upstreamBody };
    const complete = yield* relayStream(stream, read, progress, onText);
    const cut = complete.message.metadata?.finish_details?.type === 'max_tokens';
    if (!(cut && turn.autocontinue && continues < options.autocontinueLimit)) return complete;
    options.metrics.autocontinue();
    conversationId = complete.conversationId;
    action = 'continue';
    parentId = complete.message.id;
  }
}

/**
 * Yields `start`, the pause before the reply is read: a turn aborted or dropped there (its
 * response cancelled unread) cancels `stream`, which nobody would read otherwise. An unread
 * upstream body holds its connection, and a server-held token's message lease, for ever.
 */
function* started(stream: ByteSource, signal: AbortSignal): Generator<TurnEvent, void, undefined> {
  // With a reason, the upstream stops at once rather than being drained for its connection.
  const cancel = (): void =>
    cancelByteSource(stream, signal.reason ?? new DOMException('Dropped unread.', 'AbortError'));
  signal.addEventListener('abort', cancel, { once: true });
  let resumed = false;
  try {
    yield { type: 'start' };
    resumed = true;
  } finally {
    signal.removeEventListener('abort', cancel);
    if (!resumed) cancel();
  }
}

/**
 * Sends a message; resolves with its reply's event stream: the transport's chunks when it read
 * the stream itself (no web stream), else the body. The response is not kept: a stream's life
 * holds only its body.
 */
async function replyStream(
  upstream: UpstreamClient,
  caller: TurnCaller,
  body: BackendMessageRequest,
): Promise<ByteSource> {
  const response = await upstream.sendMessage(caller, body, caller.signal);
  const stream = takeChunks(response) ?? response.body;
  // Checked before `start`: a bodiless 2xx (204, 205) is a plain 502, not a broken stream.
  if (stream === null) {
    throw new RestError('upstream_error', 'The upstream answered the message without a body.');
  }
  return stream;
}

/**
 * Reads one upstream stream: yields its deltas and rewrites (calling `onText` before each), keeps
 * its text, title and message in `progress`, and returns its completion.
 */
async function* relayStream(
  body: ByteSource,
  read: ReadReplyOptions,
  progress: Progress,
  onText: () => void,
): AsyncGenerator<TurnEvent, Completion, undefined> {
  let complete: Completion | undefined;
  // The text of earlier continues: a rewrite's text is this stream's whole text so far.
  const before = progress.text;
  for await (const event of readReply(body, read)) {
    if (event.type === 'delta') {
      onText();
      progress.text += event.text;
      yield { type: 'delta', text: event.text };
    } else if (event.type === 'rewrite') {
      onText();
      progress.text = before + event.text;
      yield { type: 'rewrite', text: progress.text };
    } else if (event.type === 'title') {
      progress.title = event.title;
    } else if (event.type === 'complete') {
      complete = event;
    }
  }
  if (complete === undefined) {
    throw new RestError('upstream_error', 'The upstream stream ended without a reply.');
  }
  // What the deltas and rewrites gave is the stream's text; the cache keeps the same.
  progress.text = before + complete.text;
  keepAnswer(progress.answers, complete);
  return complete;
}

/**
 * Adds a completed message to the turn's answers. A continue may carry on the same message id
 * (its text is only the new part) or answer with a new message under the cut one; the tree
 * keeps each message's own text.
 */
function keepAnswer(answers: BackendMessage[], complete: Completion): void {
  const previous = answers.at(-1);
  if (previous === undefined || previous.id !== complete.message.id) {
    answers.push(complete.message);
    return;
  }
  answers[answers.length - 1] = {
    ...complete.message,
    content: { ...complete.message.content, parts: [messageText(previous) + complete.text] },
  };
}

/**
 * The title a new conversation gets: the client's, set with one rename upstream, else the one
 * the stream sent, else (legacy dialect, not a temporary chat) the one `gen_title` makes. An
 * existing conversation keeps its own: the stream's title, if any.
 */
async function conversationTitle(
  deps: TurnDeps,
  caller: TurnCaller,
  turn: TurnRequest,
  { id, last, title }: { id: string; last: BackendMessage; title: string | undefined },
): Promise<string | undefined> {
  const { options, upstream } = deps;
  if (turn.conversationId !== undefined) return title;
  if (turn.title !== undefined) {
    await upstream.patchConversation(caller, id, { title: turn.title }, caller.signal);
    return turn.title;
  }
  // A temporary chat has no sidebar to title: no second upstream call for it.
  if (title !== undefined || options.dialect !== 'legacy' || turn.temporary === true) {
    return title;
  }
  const request = { message_id: last.id, model: turn.model };
  return upstream.generateTitle(caller, id, request, caller.signal).catch((error: unknown) => {
    (caller.log ?? options.logger).warn({ err: describe(error) }, 'title generation failed');
    return undefined;
  });
}

function describe(error: unknown): string {
  return error instanceof RestError ? error.code : 'unexpected error';
}

/**
 * Adds the turn's messages to the cached tree, in place: the history and the user message
 * (`next`), then the answers. A new conversation not cached yet gets a tree of its own; an
 * existing one that is not cached stays so (its tree is unknown).
 */
async function updateCache(
  cache: CacheStore,
  principal: string,
  id: string,
  turn: TurnRequest & { sent: Sent },
  answers: BackendMessage[],
  title: string | undefined,
): Promise<void> {
  const placed = placedMessages(turn, answers);
  if (await cache.addMessages(principal, id, placed, title)) return;
  if (turn.conversationId !== undefined) return;
  const conversation = newConversation(id, turn.parentId, title ?? null);
  for (const { message, parentId } of placed) addMessage(conversation, message, parentId);
  await cache.set(principal, id, { conversation, complete: false });
}

/** The turn's messages in tree order, each with its parent. */
function placedMessages(
  turn: TurnRequest & { sent: Sent },
  answers: BackendMessage[],
): PlacedMessage[] {
  const placed: PlacedMessage[] = [];
  if (turn.action === 'next') {
    // Never after its answer, whatever the two clocks say: the tree's order is the times'.
    const at = firstTime(turn.sent.at, answers);
    let above = turn.parentId;
    for (const message of turn.sent.history) {
      placed.push({ message: { ...message, create_time: at }, parentId: above });
      above = message.id;
    }
    const user = userMessage(turn.userMessage.id, turn.userMessage.text, at);
    placed.push({ message: user, parentId: above });
  }
  let parent = turn.userMessage.id;
  for (const message of answers) {
    placed.push({ message, parentId: parent });
    parent = message.id;
  }
  return placed;
}

/** `sentAt`, or the first answer's time when the upstream's clock says that was earlier. */
function firstTime(sentAt: number, answers: BackendMessage[]): number {
  const answered = answers[0]?.create_time;
  return typeof answered === 'number' && answered < sentAt ? answered : sentAt;
}

/** A fresh upstream id for a message. */
export function newMessageId(): string {
  return randomUUID();
}
