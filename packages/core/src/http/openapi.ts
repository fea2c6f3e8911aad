import { STATUS_BY_CODE } from '../errors.js';

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown): unknown => ({ 'application/json': { schema } });
const bodies = (schema: unknown): unknown => ({
  required: true,
  content: {
    'application/json': { schema },
    'application/x-www-form-urlencoded': { schema },
  },
});
const id = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const error = (description: string): unknown => ({ description, content: json(ref('Error')) });
const errors = {
  '400': error('Invalid request'),
  '401': error('Missing or rejected token'),
  '429': error('Rate limited or busy'),
  '502': error('Upstream failure'),
  '503': error('Upstream unreachable'),
  '504': error('Upstream timeout'),
};
const streamable = (description: string): unknown => ({
  '201': { description, content: json({ type: 'object', properties: { response: ref('Reply') } }) },
  '200': {
    description:
      'The same reply as Server-Sent Events (`delta`, `title`, `reply`, `done`, or `error`), when `stream` is true or `Accept: text/event-stream`.',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  },
  ...errors,
});
const turnFields = {
  model: { type: 'string' },
  stream: { type: ['boolean', 'string'], description: 'true/false, or "true"/"false" in any case' },
};

/** The OpenAPI 3.1 document of the REST API. */
export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'chatgpt-rest',
    version: '0.1.0',
    description:
      'A REST API for ChatGPT conversations. Send the ChatGPT access token as `Authorization: <token>` or `Bearer <token>` (or an API key in server-held mode).',
  },
  components: {
    securitySchemes: { token: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['error', 'code'],
        properties: {
          error: { type: 'string' },
          code: { type: 'string', enum: Object.keys(STATUS_BY_CODE) },
          retry_after: { type: 'integer' },
          field: { type: 'string' },
        },
      },
      Reply: {
        type: 'object',
        required: [
          'author',
          'message',
          'conversation_id',
          'parent_id',
          'model',
          'finish_details',
          'end_turn',
          'recipient',
          'citations',
        ],
        properties: {
          author: {
            type: 'object',
            properties: {
              role: { type: 'string' },
              name: { type: ['string', 'null'] },
              metadata: { type: 'object' },
            },
          },
          message: { type: 'string' },
          conversation_id: { type: 'string', format: 'uuid' },
          parent_id: {
            type: 'string',
            format: 'uuid',
            description: 'This message id; pass it as parent_id to continue after it.',
          },
          model: { type: ['string', 'null'] },
          finish_details: {
            type: ['string', 'null'],
            enum: ['stop', 'max_tokens', 'interrupted', null],
          },
          end_turn: { type: ['boolean', 'null'] },
          recipient: { type: 'string' },
          citations: { type: 'array' },
          title: { type: 'string', description: 'Only on /conversations/new.' },
        },
      },
      ThreadMessage: {
        allOf: [
          ref('Reply'),
          {
            type: 'object',
            properties: { create_time: { type: ['string', 'null'], format: 'date-time' } },
          },
        ],
      },
      Summary: {
        type: 'object',
        properties: {
          id: { type: 'string', format: 'uuid' },
          title: { type: ['string', 'null'] },
          create_time: { type: 'string' },
          update_time: { type: 'string' },
          mapping: { type: 'null' },
          current_node: { type: 'null' },
        },
      },
    },
  },
  security: [{ token: [] }],
  paths: {
    '/conversations': {
      get: {
        summary: 'List conversations, newest first',
        parameters: [
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
          },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
        ],
        responses: {
          '200': {
            description: 'Summaries; the total is in X-Total-Count',
            headers: { 'X-Total-Count': { schema: { type: 'integer' } } },
            content: json({ type: 'array', items: ref('Summary') }),
          },
          ...errors,
        },
      },
    },
    '/conversations/new': {
      post: {
        summary: 'Create a conversation and ask its first question',
        requestBody: bodies({
          type: 'object',
          required: ['prompt'],
          properties: {
            prompt: { type: 'string' },
            title: { type: 'string' },
            autocontinue: turnFields.stream,
            ...turnFields,
          },
        }),
        responses: streamable('The reply'),
      },
    },
    '/conversations/all': {
      delete: {
        summary: 'Delete every conversation',
        responses: { '204': { description: 'Deleted' }, ...errors },
      },
    },
    '/conversations/{id}': {
      parameters: [id],
      get: {
        summary: 'The whole conversation tree with its current thread',
        responses: {
          '200': { description: 'The tree', content: json({ type: 'object' }) },
          '404': error('Unknown conversation'),
          ...errors,
        },
      },
      patch: {
        summary: 'Rename',
        requestBody: bodies({
          type: 'object',
          required: ['title'],
          properties: { title: { type: 'string' } },
        }),
        responses: {
          '200': { description: 'Renamed', content: json({ type: 'object' }) },
          ...errors,
        },
      },
      delete: { summary: 'Delete', responses: { '204': { description: 'Deleted' }, ...errors } },
    },
    '/conversations/{id}/ask': {
      parameters: [id],
      post: {
        summary: 'Ask in a conversation',
        requestBody: bodies({
          type: 'object',
          required: ['prompt'],
          properties: {
            prompt: { type: 'string' },
            parent_id: { type: 'string', format: 'uuid' },
            autocontinue: turnFields.stream,
            ...turnFields,
          },
        }),
        responses: streamable('The reply'),
      },
    },
    '/conversations/{id}/regenerate': {
      parameters: [id],
      post: {
        summary:
          'Another answer to the user message that parent_id (default: the current node) answered',
        requestBody: bodies({
          type: 'object',
          properties: { parent_id: { type: 'string', format: 'uuid' }, ...turnFields },
        }),
        responses: streamable('The new reply'),
      },
    },
    '/conversations/{id}/messages': {
      parameters: [id],
      get: {
        summary: 'The visible thread, oldest first',
        responses: {
          '200': {
            description: 'Messages',
            content: json({ type: 'array', items: ref('ThreadMessage') }),
          },
          ...errors,
        },
      },
    },
    '/v1/chat/completions': {
      post: {
        summary: 'OpenAI-compatible chat completion (the `openai` SDK with `baseURL`)',
        description:
          'OpenAI Chat Completions: `model`, `messages` (system, developer, user, assistant; text content), `stream`, `stream_options.include_usage`; sampling fields are accepted and ignored. Errors are `{"error": {message, type, param, code}}`. A history this server already answered continues its upstream conversation (`X-ChatGPT-Conversation-Id`). Usage figures are estimates.',
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['messages'],
            properties: {
              model: { type: 'string' },
              messages: { type: 'array', items: { type: 'object' } },
              stream: { type: 'boolean' },
              n: { type: 'integer', enum: [1] },
            },
          }),
        },
        responses: {
          '200': {
            description:
              'A `chat.completion` object, or `chat.completion.chunk` events ending with `data: [DONE]` when `stream` is true',
            content: {
              ...(json({ type: 'object' }) as object),
              'text/event-stream': { schema: { type: 'string' } },
            },
          },
          ...errors,
        },
      },
    },
    '/v1/models': {
      get: {
        summary: 'The models the OpenAI-compatible routes offer',
        responses: { '200': { description: 'A list', content: json({ type: 'object' }) } },
      },
    },
    '/v1/models/{model}': {
      parameters: [{ name: 'model', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        summary: 'One model',
        responses: {
          '200': { description: 'The model', content: json({ type: 'object' }) },
          '404': error('No such model'),
        },
      },
    },
  },
} as const;
