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
  'Every answer carries `X-Request-Id`: the one the client sent when valid, else a new one; the log lines about the request carry it too.',
].join('\n\n');

/** The `X-Request-Id` every answer carries (a header object, inlined: validators read it there). */
const REQUEST_ID_ANSWER = {
  required: true,
  description:
    "The request's id: the client's `X-Request-Id` when valid, else one the server made. Every log line about the request carries it; a stream's `error` event repeats it as `request_id`.",
  schema: { type: 'string', minLength: 1, maxLength: 128 },
};

/** The optional `X-Request-Id` a client may send. */
const REQUEST_ID_PARAMETER = {
  name: 'X-Request-Id',
  in: 'header',
  required: false,
  description:
    'An id for this request, repeated on the answer and in the logs: 1 to 128 visible ASCII characters without quotes, backslash, angle brackets or backtick. Anything else is ignored and replaced by a new id.',
  schema: { type: 'string', maxLength: 128 },
};

type Json = Record<string, unknown>;

/** `responses` with `X-Request-Id` added to each answer written out (not the `$ref`s). */
function withRequestIdHeader(responses: Json): Json {
  return Object.fromEntries(
    Object.entries(responses).map(([status, answer]) => {
      const value = answer as Json;
      if (value.$ref !== undefined) return [status, value];
      const headers = { ...(value.headers as Json | undefined), 'X-Request-Id': REQUEST_ID_ANSWER };
      return [status, { ...value, headers }];
    }),
  );
}

const METHODS = ['get', 'post', 'patch', 'put', 'delete'];

/** Each path with the `X-Request-Id` parameter and, on each of its answers, the header. */
function withRequestIds(paths: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => {
      const out: Json = {
        ...item,
        parameters: [
          ...((item.parameters as unknown[] | undefined) ?? []),
          { $ref: '#/components/parameters/RequestId' },
        ],
      };
      for (const method of METHODS) {
        const operation = item[method] as Json | undefined;
        if (operation === undefined) continue;
        out[method] = { ...operation, responses: withRequestIdHeader(operation.responses as Json) };
      }
      const other = item['x-other-methods'] as Json | undefined;
      if (other !== undefined) out['x-other-methods'] = withRequestIdHeader(other);
      return [path, out];
    }),
  );
}

/** The components, with every shared answer carrying the header and the parameter declared. */
function componentsWithRequestIds(): Json {
  const built = components(withRequestIdHeader(errorResponses()));
  return { ...built, parameters: { RequestId: REQUEST_ID_PARAMETER } };
}

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
  paths: withRequestIds({ ...restPaths(), ...openaiPaths() } as Record<string, Json>),
  /** What a path below the mount that no route matches answers. */
  'x-unmatched-path': { '404': { $ref: '#/components/responses/NotFound' } },
  components: componentsWithRequestIds(),
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
