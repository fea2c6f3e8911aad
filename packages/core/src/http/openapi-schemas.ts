/**
 * The `components` of the OpenAPI document: the bodies (REST and OpenAI-compatible), the events
 * of the two event streams, the reusable error answers and the two security schemes.
 */
import { STATUS_BY_CODE } from '../errors.js';

/** A `$ref` to a schema of the document. */
export const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });

const uuid = { type: 'string', format: 'uuid' } as const;
const text = (description?: string): Record<string, unknown> => ({
  type: 'string',
  ...(description === undefined ? {} : { description }),
});
const object = (
  properties: Record<string, unknown>,
  required: string[] = Object.keys(properties),
): Record<string, unknown> => ({ type: 'object', required, properties });

/** One event of an event stream: `event` (when named) and its `data`, JSON-parsed. */
const streamEvent = (name: string | undefined, data: unknown, description: string): unknown => ({
  type: 'object',
  description,
  required: name === undefined ? ['data'] : ['event', 'data'],
  properties: name === undefined ? { data } : { event: { const: name }, data },
  additionalProperties: false,
});

const REPLY_EXAMPLE = {
  author: { role: 'assistant', name: null, metadata: {} },
  message: 'Hello! How can I help you today?',
  conversation_id: '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f',
  parent_id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  model: 'gpt-4o',
  finish_details: 'stop',
  end_turn: true,
  recipient: 'all',
  citations: [],
};

/** An example Reply (the one the examples of the document show). */
export const replyExample = REPLY_EXAMPLE;

const REST_SCHEMAS = {
  Error: {
    type: 'object',
    required: ['error', 'code'],
    properties: {
      error: text('A sentence for a person; never holds a token, a key or a stack trace.'),
      code: { type: 'string', enum: Object.keys(STATUS_BY_CODE) },
      retry_after: { type: 'integer', minimum: 0, description: 'Seconds (429 only).' },
      field: text('The request field at fault (validation errors).'),
      request_id: text(
        "The request's id, in a stream's `error` event (the `X-Request-Id` header says it on every answer).",
      ),
    },
    additionalProperties: false,
  },
  Reply: object({
    author: {
      type: 'object',
      required: ['role'],
      properties: {
        role: { type: 'string', examples: ['user', 'assistant', 'system', 'tool'] },
        name: { type: ['string', 'null'] },
        metadata: { type: 'object' },
      },
    },
    message: text('The whole text of the message.'),
    conversation_id: uuid,
    parent_id: { ...uuid, description: 'This message id; pass it as parent_id to continue.' },
    model: { type: ['string', 'null'] },
    finish_details: { enum: ['stop', 'max_tokens', 'interrupted', null] },
    end_turn: { type: ['boolean', 'null'] },
    recipient: { type: 'string' },
    citations: { type: 'array' },
  }),
  ThreadMessage: {
    allOf: [ref('Reply'), object({ create_time: { type: ['string', 'null'] } })],
  },
  Summary: {
    type: 'object',
    required: ['id', 'title', 'create_time', 'update_time'],
    properties: {
      id: uuid,
      title: { type: ['string', 'null'] },
      create_time: { type: ['string', 'null'], description: 'ISO 8601' },
      update_time: { type: ['string', 'null'], description: 'ISO 8601' },
      mapping: { type: 'null' },
      current_node: { type: ['string', 'null'] },
    },
  },
  Conversation: object({
    id: uuid,
    title: { type: ['string', 'null'] },
    create_time: { type: ['string', 'null'] },
    update_time: { type: ['string', 'null'] },
    current_node: { type: ['string', 'null'] },
    messages: { type: 'array', items: ref('ThreadMessage') },
    mapping: { type: 'object', description: "The upstream's message tree, keyed by node id." },
  }),
  Renamed: object({ id: uuid, title: { type: 'string' } }),
  Created: object({ response: ref('NewReply') }),
  NewReply: { allOf: [ref('Reply'), { type: 'object', properties: { title: text() } }] },
  Answered: object({ response: ref('Reply') }),
  RestStreamEvent: {
    type: 'object',
    discriminator: { propertyName: 'event' },
    description:
      'One event of a REST stream. Deltas add up to the text; `rewrite` replaces the text so far; `title` comes on a new conversation; `reply` comes once, then `done`. A failure after the first byte is `error` and ends the stream without `done`.',
    oneOf: [
      streamEvent('delta', object({ text: text() }), 'New text, appended.'),
      streamEvent('rewrite', object({ text: text() }), 'The whole text so far, replacing it.'),
      streamEvent('title', object({ title: text() }), "The upstream's title."),
      streamEvent('reply', ref('NewReply'), 'The final reply, as the JSON answer holds it.'),
      streamEvent('error', ref('Error'), 'The failure that ended the stream.'),
      streamEvent('done', { type: 'object', maxProperties: 0 }, 'The stream is complete.'),
    ],
  },
};

const finishReason = { enum: ['stop', 'length', 'content_filter'] };
const usage = object({
  prompt_tokens: { type: 'integer' },
  completion_tokens: { type: 'integer' },
  total_tokens: { type: 'integer' },
});
const identity = {
  id: { type: 'string' },
  created: { type: 'integer' },
  model: { type: 'string' },
};

const OPENAI_SCHEMAS = {
  OpenAIError: object({
    error: object(
      {
        message: text(),
        type: text(),
        param: { type: ['string', 'null'] },
        code: { type: ['string', 'null'] },
        request_id: text("The request's id, in a stream's error event."),
      },
      ['message', 'type', 'param', 'code'],
    ),
  }),
  ChatCompletion: object({
    ...identity,
    object: { const: 'chat.completion' },
    choices: {
      type: 'array',
      items: object({
        index: { type: 'integer' },
        message: object({
          role: { const: 'assistant' },
          content: { type: 'string' },
          refusal: { type: 'null' },
        }),
        logprobs: { type: 'null' },
        finish_reason: finishReason,
      }),
    },
    usage: { ...usage, description: 'Estimates: about four characters a token.' },
  }),
  ChatCompletionChunk: object(
    {
      ...identity,
      object: { const: 'chat.completion.chunk' },
      choices: {
        type: 'array',
        items: object({
          index: { type: 'integer' },
          delta: {
            type: 'object',
            properties: {
              role: { const: 'assistant' },
              content: { type: 'string' },
              refusal: { type: 'null' },
            },
          },
          logprobs: { type: 'null' },
          finish_reason: { anyOf: [finishReason, { type: 'null' }] },
        }),
      },
      usage,
    },
    ['id', 'created', 'model', 'object', 'choices'],
  ),
  OpenAIStreamEvent: {
    description:
      'One `data:` event of an OpenAI stream (no event names): chunks, an error that ends the stream, or `[DONE]`.',
    oneOf: [
      streamEvent(undefined, ref('ChatCompletionChunk'), 'A chunk.'),
      streamEvent(undefined, ref('OpenAIError'), 'The failure that ended the stream.'),
      streamEvent(undefined, { const: '[DONE]' }, 'The last event.'),
    ],
  },
  Model: object({
    id: { type: 'string' },
    object: { const: 'model' },
    created: { type: 'integer' },
    owned_by: { type: 'string' },
  }),
  ModelList: object({ object: { const: 'list' }, data: { type: 'array', items: ref('Model') } }),
};

/** The `components` object; `responses` are the error answers (openapi-operations.ts). */
export function components(responses: Record<string, unknown>): Record<string, unknown> {
  return {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          'The ChatGPT access token (passthrough mode) or an API key (server-held tokens); a bare `Authorization: <token>` works too.',
      },
      apiKey: {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'An API key (server-held tokens only).',
      },
    },
    schemas: { ...REST_SCHEMAS, ...OPENAI_SCHEMAS },
    responses,
  };
}
