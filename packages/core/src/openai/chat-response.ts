/**
 * The answer side of OpenAI's Chat Completions API: the `chat.completion` object, the
 * `chat.completion.chunk` stream, and errors in OpenAI's `{"error": {…}}` shape with the statuses
 * the `openai` SDK maps to its error classes.
 */
import type { Reply } from '../conversation/reply.js';
import type { RestError } from '../errors.js';
import { jsonResponse } from '../http/responses.js';
import type { SseEvent } from '../http/sse-response.js';
import type { ChatMessage } from './chat-request.js';

/** Token counts, estimated (about four characters a token): the backend reports none. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const estimate = (text: string): number => Math.ceil(text.length / 4);

/** Estimated usage of a completion. */
export function usageOf(messages: readonly ChatMessage[], answer: string): Usage {
  const prompt = messages.reduce((sum, message) => sum + estimate(message.text) + 4, 0);
  const completion = estimate(answer);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

/** OpenAI's `finish_reason` for the backend's finish details. */
export function finishReason(details: string | null): 'stop' | 'length' | 'content_filter' {
  if (details === 'max_tokens') return 'length';
  if (details === 'content_filter' || details === 'moderation') return 'content_filter';
  return 'stop';
}

/** What every object of one completion shares. */
export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

/** The `chat.completion` object. */
export function completionObject(
  identity: CompletionIdentity,
  reply: Reply,
  usage: Usage,
): Record<string, unknown> {
  return {
    ...identity,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: reply.message, refusal: null },
        logprobs: null,
        finish_reason: finishReason(reply.finish_details),
      },
    ],
    usage,
  };
}

/** One `chat.completion.chunk` event with `delta` (and a finish reason on the last). */
export function chunkEvent(
  identity: CompletionIdentity,
  delta: Record<string, unknown>,
  finish: string | null = null,
): SseEvent {
  return {
    data: {
      ...identity,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    },
  };
}

/** The usage chunk (`stream_options.include_usage`): no choices, the usage. */
export function usageEvent(identity: CompletionIdentity, usage: Usage): SseEvent {
  return { data: { ...identity, object: 'chat.completion.chunk', choices: [], usage } };
}

/** The stream's last line. */
export const DONE_EVENT: SseEvent = { data: '[DONE]', raw: true };

/** OpenAI's error `type` and `code` for a REST error code. */
function openaiKind(error: RestError): { type: string; code: string | null } {
  switch (error.code) {
    case 'missing_token':
    case 'invalid_token':
    case 'token_expired':
      return { type: 'invalid_request_error', code: 'invalid_api_key' };
    case 'rate_limited':
    case 'conversation_busy':
      return { type: 'requests', code: 'rate_limit_exceeded' };
    case 'not_found':
    case 'conversation_not_found':
      return {
        type: 'invalid_request_error',
        code: error.field === 'model' ? 'model_not_found' : 'not_found',
      };
    case 'invalid_request':
    case 'payload_too_large':
    case 'unsupported_media_type':
    case 'method_not_allowed':
      return {
        type: 'invalid_request_error',
        code: error.field === 'model' ? 'model_not_found' : null,
      };
    default:
      return { type: 'server_error', code: error.code };
  }
}

/** The body of an error in OpenAI's shape. */
export function openaiErrorBody(error: RestError): { error: Record<string, unknown> } {
  const { type, code } = openaiKind(error);
  return { error: { message: error.message, type, param: error.field ?? null, code } };
}

/** An error answer in OpenAI's shape, with `Retry-After`, `Allow` and `WWW-Authenticate` kept. */
export function openaiErrorResponse(error: RestError, rest: Response): Response {
  return jsonResponse(error.status, openaiErrorBody(error), rest.headers);
}

/**
 * The event that ends a failed stream: OpenAI's SDK throws on a `data:` with an `error`, which
 * carries `request_id` (the answer's `X-Request-Id`) when given.
 */
export function openaiErrorEvent(error: RestError, requestId?: string): SseEvent {
  const body = openaiErrorBody(error);
  if (requestId !== undefined) body.error.request_id = requestId;
  return { data: body };
}
