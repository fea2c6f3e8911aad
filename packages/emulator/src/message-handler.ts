/**
 * The message POST of both dialects (`/conversation`, `/f/conversation`): the web dialect's
 * sentinel check, the model and "one at a time" checks, the turn applied to the store, its
 * stream encoded and run, and a reply the client stopped stored as interrupted.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorAnswer } from './backend-errors.js';
import { modelNotFound, oneAtATime, unprocessable, unusualActivity } from './backend-errors.js';
import type { RecordedRequest } from './types.js';
import type { StreamFault } from './faults.js';
import { asRecord, firstHeader, sendAnswer } from './http-io.js';
import { fakeJwt, type Refusal } from './sentinel.js';
import type { EmulatorState } from './state.js';
import type { Frame } from './sse-channel.js';
import { rewriteFrames, runStream } from './stream-runner.js';
import { encodeTurn } from './stream-writer.js';
import { applyTurn, type MessageBody, type Turn } from './turns.js';

/** Refuses a request the way chatgpt.com does (403 "Unusual activity"), recording why. */
export function refuse(res: ServerResponse, recorded: RecordedRequest, reason: Refusal): void {
  recorded.refusal = reason;
  sendAnswer(res, unusualActivity());
}

/** Legacy and web message POST. */
export async function handleMessage(
  state: EmulatorState,
  res: ServerResponse,
  recorded: RecordedRequest,
  owner: string,
  dialect: 'legacy' | 'web',
  streamFaults: StreamFault[],
): Promise<void> {
  const body = asRecord(recorded.body) as MessageBody;
  if (dialect === 'web') {
    const reason = checkSentinel(state, recorded, owner, body);
    if (reason !== undefined) return refuse(res, recorded, reason);
  }
  const refusal = precheck(state, recorded, owner, body);
  if (refusal !== undefined) return sendAnswer(res, refusal);
  const { settings } = state;
  const encodings = Array.isArray(body.supported_encodings) ? body.supported_encodings : [];
  const encoding = encodings.includes('v1') ? 'v1' : 'legacy';
  const result = applyTurn(state.store, owner, body, {
    seed: settings.seed,
    replyWords: settings.replyWords,
    maxTokens: settings.maxTokens,
    reply: settings.reply,
    modelMap: settings.modelMap,
    titleInStream: encoding === 'v1',
  });
  if (!result.ok) return sendAnswer(res, result.answer);
  const frames = framesOf(state, result.turn, encoding, streamFaults);
  await streamTurn(state, res, recorded, owner, result.turn, frames, streamFaults);
}

/** The web dialect's sentinel headers checked against what was issued to this token. */
function checkSentinel(
  state: EmulatorState,
  recorded: RecordedRequest,
  owner: string,
  body: MessageBody,
): Refusal | undefined {
  const headers = recorded.headers;
  return state.sentinel.check(
    owner,
    {
      requirements: firstHeader(headers['openai-sentinel-chat-requirements-token']),
      proof: firstHeader(headers['openai-sentinel-proof-token']),
      turnstile: firstHeader(headers['openai-sentinel-turnstile-token']),
      conduit: firstHeader(headers['x-conduit-token']),
    },
    {
      conversationId: typeof body.conversation_id === 'string' ? body.conversation_id : null,
      parentMessageId: typeof body.parent_message_id === 'string' ? body.parent_message_id : null,
    },
  );
}

/** The refusals before a turn: a body that is no object, an unknown model, a busy token. */
function precheck(
  state: EmulatorState,
  recorded: RecordedRequest,
  owner: string,
  body: MessageBody,
): ErrorAnswer | undefined {
  const { settings } = state;
  if (typeof recorded.body !== 'object' || recorded.body === null) {
    return unprocessable('body must be a JSON object');
  }
  const requestedModel = typeof body.model === 'string' ? body.model : 'auto';
  if (settings.models !== undefined && !settings.models.includes(requestedModel)) {
    return modelNotFound(requestedModel);
  }
  if (settings.oneAtATime !== false && (state.busy.get(owner) ?? 0) > 0) {
    return oneAtATime(settings.oneAtATime);
  }
  return undefined;
}

/** The turn's frames in the requested encoding, with the stream faults' rewrites applied. */
function framesOf(
  state: EmulatorState,
  turn: Turn,
  encoding: 'legacy' | 'v1',
  streamFaults: StreamFault[],
): Frame[] {
  const { settings } = state;
  const moderation = streamFaults.find((f) => f.type === 'moderation');
  return rewriteFrames(
    encodeTurn(turn, encoding, {
      chunking: settings.chunking,
      profile: settings.streamProfile,
      resumeToken: fakeJwt({ conversation_id: turn.conversation.id, kind: 'conduit' }),
      moderation:
        moderation === undefined
          ? undefined
          : { flagged: moderation.flagged ?? true, blocked: moderation.blocked ?? false },
    }),
    streamFaults,
    turn.conversation.id,
    turn.text,
  );
}

/** Writes the stream, counting it as busy and in flight while it runs. */
async function streamTurn(
  state: EmulatorState,
  res: ServerResponse,
  recorded: RecordedRequest,
  owner: string,
  turn: Turn,
  frames: Frame[],
  streamFaults: StreamFault[],
): Promise<void> {
  const { settings, busy } = state;
  busy.set(owner, (busy.get(owner) ?? 0) + 1);
  state.inFlight += 1;
  recorded.status = 200;
  try {
    const outcome = await runStream(
      res,
      frames,
      streamFaults,
      settings.pacingMs,
      settings.padding,
      () => res.emit('reset-by-emulator'),
    );
    if (outcome.clientGone) markInterrupted(turn, outcome.deliveredText);
  } finally {
    state.inFlight -= 1;
    busy.set(owner, (busy.get(owner) ?? 1) - 1);
  }
}

/** The client stopped the reply: the backend keeps what was sent, marked interrupted. */
function markInterrupted(turn: Turn, deliveredText: number): void {
  const message = turn.assistant;
  message.content.parts = [turn.text.slice(0, deliveredText)];
  message.end_turn = false;
  if (message.metadata !== undefined) message.metadata.finish_details = { type: 'interrupted' };
  const plan = turn.conversation.plans.get(message.id);
  if (plan !== undefined) plan.end = plan.start + deliveredText;
}
