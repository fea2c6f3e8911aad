/**
 * The OpenAPI 3.1 document of the API: every route, status and error body the handler answers,
 * the two event streams event by event, both credentials, and a `servers` entry naming where
 * the routes are mounted. The conformance suite validates every answer it gets against it.
 */
import { openaiPaths } from './openapi-openai.js';
import { errorResponses } from './openapi-operations.js';
import { restPaths } from './openapi-paths.js';
import { components } from './openapi-schemas.js';

const DESCRIPTION = [
  'A REST API for ChatGPT conversations, plus OpenAI-compatible `/v1/chat/completions` and `/v1/models`.',
  'Send the ChatGPT access token as `Authorization: Bearer <token>` (or bare); with server-held tokens, an API key as `Authorization: Bearer <key>` or `X-API-Key`.',
  'Errors are `{"error", "code"}` (OpenAI\'s `{"error": {…}}` under `/v1`). A method a path does not list answers 405 with `Allow` (`x-other-methods` on each path).',
].join('\n\n');

/** What does not depend on where the routes are mounted, built once. */
const STATIC = {
  openapi: '3.1.0',
  info: { title: 'chatgpt-rest', version: '0.1.0', description: DESCRIPTION },
  tags: [
    { name: 'conversations', description: 'Read, rename and delete conversations' },
    { name: 'turns', description: 'Ask, stream and regenerate' },
    { name: 'openai', description: 'The OpenAI-compatible API' },
    { name: 'meta', description: 'This document' },
  ],
  security: [{ bearer: [] }, { apiKey: [] }],
  paths: { ...restPaths(), ...openaiPaths() },
  /** What a path below the mount that no route matches answers. */
  'x-unmatched-path': { '404': { $ref: '#/components/responses/NotFound' } },
  components: components(errorResponses()),
};

/**
 * The document for routes mounted at `basePath` (`''` or `/chat`): its `servers` entry is that
 * path, so a client (Swagger UI) on the same origin calls the right URLs.
 */
export function openapiDocument(basePath = ''): Record<string, unknown> {
  const { openapi, info, ...rest } = STATIC;
  return {
    openapi,
    info,
    servers: [
      {
        url: basePath === '' ? '/' : basePath,
        description: 'Where these routes are mounted, on the origin that served this document',
      },
    ],
    ...rest,
  };
}
