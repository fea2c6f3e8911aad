/** The REST routes of the OpenAPI document: conversations, turns, and the document itself. */
import { error, flag, formOrJson, otherMethods, upstreamErrors } from './openapi-operations.js';
import { ref, replyExample } from './openapi-schemas.js';

const id = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const json = (schema: unknown, example?: unknown): unknown => ({
  'application/json': { schema, ...(example === undefined ? {} : { example }) },
});
const noContent = { '204': { description: 'Done; no body' } };

const STREAM_EXAMPLE = [
  'event: delta\ndata: {"text":"Hel"}\n',
  'event: delta\ndata: {"text":"lo!"}\n',
  'event: title\ndata: {"title":"Greeting"}\n',
  `event: reply\ndata: ${JSON.stringify({ ...replyExample, message: 'Hello!' })}\n`,
  'event: done\ndata: {}\n\n',
].join('\n');

/** A turn's answers: 201 JSON, or 200 `text/event-stream` when asked, and the errors. */
function turnResponses(answer: 'Created' | 'Answered'): Record<string, unknown> {
  const example = {
    response: answer === 'Created' ? { ...replyExample, title: 'Greeting' } : replyExample,
  };
  return {
    '201': { description: 'The reply', content: json(ref(answer), example) },
    '200': {
      description:
        'The reply as Server-Sent Events, when `stream` is true or `Accept: text/event-stream`. OpenAPI 3.1 has no keyword for an event stream: its schema is the sequence of events, each `{event, data}` with `data` JSON-parsed (what OpenAPI 3.2 calls `itemSchema`). `: ping` comments come after 15 s of silence.',
      headers: {
        'Cache-Control': { schema: { const: 'no-cache, no-transform' } },
        'X-Accel-Buffering': { schema: { const: 'no' } },
      },
      content: {
        'text/event-stream': {
          schema: { type: 'array', items: ref('RestStreamEvent') },
          example: STREAM_EXAMPLE,
        },
      },
    },
    ...upstreamErrors(false, true),
  };
}

const turnFields = {
  model: { type: 'string', description: 'Default: the `defaultModel` option (`auto`).' },
  autocontinue: { ...flag, description: 'Continue a reply cut at max_tokens, and join it.' },
  stream: { ...flag, description: 'Answer as Server-Sent Events.' },
};

/** The document itself, the list, and new and all. */
function collectionPaths(): Record<string, unknown> {
  return {
    '/openapi.json': {
      ...otherMethods(),
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        tags: ['meta'],
        security: [],
        responses: {
          '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) },
          '500': error('InternalError'),
        },
      },
    },
    '/conversations': {
      ...otherMethods(),
      get: {
        operationId: 'listConversations',
        summary: 'List conversations, newest first',
        tags: ['conversations'],
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
            description: 'Summaries; the upstream total in X-Total-Count',
            headers: { 'X-Total-Count': { required: true, schema: { type: 'integer' } } },
            content: json({ type: 'array', items: ref('Summary') }),
          },
          ...upstreamErrors(),
        },
      },
    },
    '/conversations/new': {
      ...otherMethods(),
      post: {
        operationId: 'createConversation',
        summary: 'Create a conversation and ask its first question',
        tags: ['turns'],
        requestBody: formOrJson({
          type: 'object',
          required: ['prompt'],
          properties: {
            prompt: { type: 'string' },
            title: { type: 'string', description: 'Else the upstream names it.' },
            ...turnFields,
          },
          examples: [{ prompt: 'Hello there', stream: true }],
        }),
        responses: turnResponses('Created'),
      },
    },
    '/conversations/all': {
      ...otherMethods(),
      delete: {
        operationId: 'deleteAllConversations',
        summary: 'Delete (hide) every conversation of the caller',
        tags: ['conversations'],
        responses: { ...noContent, ...upstreamErrors() },
      },
    },
  };
}

/** One conversation: read, rename, delete, its messages. */
function conversationPaths(): Record<string, unknown> {
  return {
    '/conversations/{id}': {
      parameters: [id],
      ...otherMethods(),
      get: {
        operationId: 'getConversation',
        summary: 'The whole conversation tree with its current thread',
        tags: ['conversations'],
        responses: {
          '200': { description: 'The conversation', content: json(ref('Conversation')) },
          ...upstreamErrors(),
        },
      },
      patch: {
        operationId: 'renameConversation',
        summary: 'Rename',
        tags: ['conversations'],
        requestBody: formOrJson({
          type: 'object',
          required: ['title'],
          properties: { title: { type: 'string', maxLength: 1000 } },
          examples: [{ title: 'Trip to Lisbon' }],
        }),
        responses: {
          '200': { description: 'Renamed', content: json(ref('Renamed')) },
          ...upstreamErrors(false, true),
        },
      },
      delete: {
        operationId: 'deleteConversation',
        summary: 'Delete (hide)',
        tags: ['conversations'],
        responses: { ...noContent, ...upstreamErrors() },
      },
    },
    '/conversations/{id}/messages': {
      parameters: [id],
      ...otherMethods(),
      get: {
        operationId: 'listMessages',
        summary: 'The visible thread, oldest first',
        tags: ['conversations'],
        responses: {
          '200': {
            description: 'Messages',
            content: json({ type: 'array', items: ref('ThreadMessage') }),
          },
          ...upstreamErrors(),
        },
      },
    },
  };
}

/** Asking and regenerating in a conversation. */
function turnPaths(): Record<string, unknown> {
  return {
    '/conversations/{id}/ask': {
      parameters: [id],
      ...otherMethods(),
      post: {
        operationId: 'askInConversation',
        summary: 'Ask in a conversation',
        tags: ['turns'],
        requestBody: formOrJson({
          type: 'object',
          required: ['prompt'],
          properties: {
            prompt: { type: 'string' },
            parent_id: {
              type: 'string',
              format: 'uuid',
              description: 'The message to continue after (default: the current node).',
            },
            ...turnFields,
          },
          examples: [{ prompt: 'Tell me more', stream: true }],
        }),
        responses: turnResponses('Answered'),
      },
    },
    '/conversations/{id}/regenerate': {
      parameters: [id],
      ...otherMethods(),
      post: {
        operationId: 'regenerateReply',
        summary:
          'Another answer to the user message that parent_id (default: the current node) answered',
        tags: ['turns'],
        requestBody: formOrJson(
          {
            type: 'object',
            properties: {
              parent_id: { type: 'string', format: 'uuid', description: 'An assistant message.' },
              model: turnFields.model,
              stream: turnFields.stream,
            },
          },
          false,
        ),
        responses: turnResponses('Answered'),
      },
    },
  };
}

/** The REST paths. */
export function restPaths(): Record<string, unknown> {
  return { ...collectionPaths(), ...conversationPaths(), ...turnPaths() };
}
