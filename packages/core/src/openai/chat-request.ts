/**
 * The request side of OpenAI's Chat Completions API: `POST /v1/chat/completions` bodies checked
 * and reduced to what the ChatGPT backend can do. Unknown fields are ignored, as OpenAI does;
 * sampling fields (`temperature`, `top_p`, `max_tokens`, `stop`, …) are accepted and ignored.
 */
import { isObject } from '../backend/json.js';
import { RestError } from '../errors.js';
import type { BodyFields } from '../http/request-body.js';

/** One chat message, its content reduced to text; `developer` counts as `system`. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  text: string;
}

/** A checked completion request. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
  includeUsage: boolean;
}

/** The roles a message may have; a Map, so `constructor` or `__proto__` finds nothing. */
const ROLES = new Map<string, ChatMessage['role']>([
  ['system', 'system'],
  ['developer', 'system'],
  ['user', 'user'],
  ['assistant', 'assistant'],
]);

function invalid(message: string, param: string): RestError {
  return new RestError('invalid_request', message, { field: param });
}

/** The text of a message's `content`: a string, or text parts; any other part is refused. */
function contentText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content))
    throw invalid('content must be a string or an array of parts.', param);
  let text = '';
  for (const [index, part] of content.entries()) {
    const at = `${param}[${index}]`;
    if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
      const type = isObject(part) && typeof part.type === 'string' ? part.type : typeof part;
      throw invalid(`Only text content parts are supported; ${at} is of type "${type}".`, at);
    }
    text += part.text;
  }
  return text;
}

function chatMessage(value: unknown, index: number): ChatMessage {
  const param = `messages[${index}]`;
  if (!isObject(value)) throw invalid(`${param} must be an object.`, param);
  const role = typeof value.role === 'string' ? ROLES.get(value.role) : undefined;
  if (role === undefined) {
    throw invalid(
      `${param}.role must be one of system, developer, user, assistant.`,
      `${param}.role`,
    );
  }
  return { role, text: contentText(value.content, `${param}.content`) };
}

/** The most messages one completion request may hold (long chat histories stay far below). */
export const MAX_CHAT_MESSAGES = 2048;

/** The `messages` of a request: 1 to {@link MAX_CHAT_MESSAGES}, the last from the user. */
function chatMessages(value: unknown, promptLimit: number): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid('messages must be a non-empty array.', 'messages');
  }
  // Each message goes upstream with its own ids and metadata (~170 bytes): without a count cap,
  // a 1 MiB body of empty messages became a 10 MB upstream request.
  if (value.length > MAX_CHAT_MESSAGES) {
    throw invalid(`messages holds more than ${MAX_CHAT_MESSAGES} messages.`, 'messages');
  }
  const messages = value.map(chatMessage);
  if (messages.at(-1)?.role !== 'user') {
    throw invalid('The last message must be a user message.', `messages[${messages.length - 1}]`);
  }
  const total = messages.reduce((sum, message) => sum + message.text.length, 0);
  if (total > promptLimit) {
    throw invalid(`The messages hold more than ${promptLimit} characters.`, 'messages');
  }
  return messages;
}

/** Checks a completion body; `defaultModel` when it names none. */
export function chatRequest(
  fields: BodyFields,
  limits: { prompt: number; defaultModel: string },
): ChatRequest {
  const { model, n, stream, stream_options: streamOptions } = fields;
  // The REST routes' rule: a model name, never free text sent upstream.
  if (model !== undefined && (typeof model !== 'string' || !/^[\w.:-]{1,100}$/.test(model))) {
    throw invalid('model must be a model name such as "gpt-4o".', 'model');
  }
  if (n !== undefined && n !== null && n !== 1) throw invalid('Only n = 1 is supported.', 'n');
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw invalid('stream must be a boolean.', 'stream');
  }
  return {
    model: typeof model === 'string' ? model : limits.defaultModel,
    messages: chatMessages(fields.messages, limits.prompt),
    stream: stream === true,
    includeUsage: isObject(streamOptions) && streamOptions.include_usage === true,
  };
}
