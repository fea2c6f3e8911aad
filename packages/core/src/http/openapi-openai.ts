/** The OpenAI-compatible routes of the OpenAPI document: chat completions and models. */
import { error, otherMethods, upstreamErrors } from './openapi-operations.js';
import { MAX_CHAT_MESSAGES } from '../openai/chat-request.js';
import { ref } from './openapi-schemas.js';

const json = (schema: unknown): unknown => ({ 'application/json': { schema } });

const STREAM_EXAMPLE = [
  'data: {"id":"chatcmpl-1","created":1700000000,"model":"auto","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}\n',
  'data: {"id":"chatcmpl-1","created":1700000000,"model":"auto","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello!"},"logprobs":null,"finish_reason":null}]}\n',
  'data: {"id":"chatcmpl-1","created":1700000000,"model":"auto","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n',
  'data: [DONE]\n\n',
].join('\n');

const message = {
  type: 'object',
  required: ['role', 'content'],
  properties: {
    role: { enum: ['system', 'developer', 'user', 'assistant'] },
    content: {
      description: 'A string, or text parts (other part types are a 400 naming the part).',
      anyOf: [
        { type: 'string' },
        {
          type: 'array',
          items: {
            type: 'object',
            required: ['type', 'text'],
            properties: { type: { const: 'text' }, text: { type: 'string' } },
          },
        },
      ],
    },
  },
};

const completionRequest = {
  type: 'object',
  required: ['messages'],
  properties: {
    model: { type: 'string', default: 'auto' },
    messages: { type: 'array', minItems: 1, maxItems: MAX_CHAT_MESSAGES, items: message },
    stream: { type: 'boolean' },
    stream_options: { type: 'object', properties: { include_usage: { type: 'boolean' } } },
    n: { const: 1 },
  },
  description:
    '`temperature`, `top_p`, `max_tokens`, `stop` and the other sampling fields are accepted and ignored.',
  examples: [{ model: 'auto', messages: [{ role: 'user', content: 'Hello' }] }],
};

/** The OpenAI-compatible paths. */
export function openaiPaths(): Record<string, unknown> {
  return {
    '/v1/chat/completions': {
      ...otherMethods(true),
      post: {
        operationId: 'createChatCompletion',
        summary: 'OpenAI-compatible chat completion (the `openai` SDK with `baseURL`)',
        tags: ['openai'],
        description:
          'OpenAI Chat Completions. Errors are `{"error": {message, type, param, code}}`. A history this server already answered continues its upstream conversation (`X-ChatGPT-Conversation-Id`). Usage figures are estimates.',
        requestBody: { required: true, content: json(completionRequest) },
        responses: {
          '200': {
            description:
              'A `chat.completion` object, or with `stream: true` `chat.completion.chunk` events ending with `data: [DONE]` (the stream schema is the sequence of events, each `{data}` JSON-parsed, as OpenAPI 3.2 `itemSchema` would say)',
            headers: {
              'X-ChatGPT-Conversation-Id': {
                schema: { type: 'string', format: 'uuid' },
                description: 'The upstream conversation used.',
              },
            },
            content: {
              'application/json': { schema: ref('ChatCompletion') },
              'text/event-stream': {
                schema: { type: 'array', items: ref('OpenAIStreamEvent') },
                example: STREAM_EXAMPLE,
              },
            },
          },
          ...upstreamErrors(true, true),
        },
      },
    },
    '/v1/models': {
      ...otherMethods(true),
      get: {
        operationId: 'listModels',
        summary: 'The models the OpenAI-compatible routes offer',
        tags: ['openai'],
        responses: {
          '200': { description: 'A list', content: json(ref('ModelList')) },
          '401': error('Unauthorized', true),
          '500': error('InternalError', true),
        },
      },
    },
    '/v1/models/{model}': {
      parameters: [{ name: 'model', in: 'path', required: true, schema: { type: 'string' } }],
      ...otherMethods(true),
      get: {
        operationId: 'retrieveModel',
        summary: 'One model',
        tags: ['openai'],
        responses: {
          '200': { description: 'The model', content: json(ref('Model')) },
          '401': error('Unauthorized', true),
          '404': error('NotFound', true),
          '500': error('InternalError', true),
        },
      },
    },
  };
}
