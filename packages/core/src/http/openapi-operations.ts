/**
 * Building blocks of the document's operations: the error answers (each once, in
 * `components.responses`, in the REST shape and OpenAI's), the errors each kind of route really
 * gives, request bodies, and the `x-other-methods` answers of a path (405, CORS preflight).
 */
import type { ErrorCode } from '../errors.js';
import { ref } from './openapi-schemas.js';

const retryAfter = {
  'Retry-After': { schema: { type: 'integer', minimum: 0 }, description: 'Seconds to wait.' },
};
const challenge = { 'WWW-Authenticate': { required: true, schema: { type: 'string' } } };
const allow = { Allow: { required: true, schema: { type: 'string' }, description: 'Methods.' } };

/** An error answer: its description, the codes it carries, its headers. */
type ErrorAnswer = [description: string, codes: ErrorCode[], headers?: Record<string, unknown>];

/** Every error answer of the API, by the name operations refer to it with. */
const ERRORS: Record<string, ErrorAnswer> = {
  BadRequest: [
    'A missing, blank or mistyped field (`field` names it), an id that is not a UUID, malformed JSON, or a model the upstream does not know',
    ['invalid_request'],
  ],
  Unauthorized: [
    'No credential, a wrong API key, or the upstream rejected the token',
    ['missing_token', 'token_expired', 'invalid_token'],
    challenge,
  ],
  ConversationNotFound: ['The upstream does not know the conversation', ['conversation_not_found']],
  NotFound: ['No such route, or no such model', ['not_found']],
  MethodNotAllowed: ['Known path, another method', ['method_not_allowed'], allow],
  PayloadTooLarge: ['Body over `limits.body` (1 MiB)', ['payload_too_large']],
  UnsupportedMediaType: [
    'A body that is neither JSON nor form-encoded, or is compressed (send it uncompressed)',
    ['unsupported_media_type'],
  ],
  RateLimited: [
    'Usage cap or rate limit (`retry_after` and `Retry-After` when known), or a message already running in the conversation',
    ['rate_limited', 'conversation_busy'],
    retryAfter,
  ],
  InternalError: ['A bug, logged with the request id the message names', ['internal_error']],
  UpstreamFailure: [
    'Blocked (Cloudflare, unusual activity, Turnstile), or an upstream 5xx, truncated stream, in-stream error or moderation',
    ['upstream_blocked', 'upstream_error'],
  ],
  UpstreamUnavailable: ['The upstream could not be reached', ['upstream_unavailable']],
  UpstreamTimeout: [
    'No upstream headers in time, or the upstream went idle too long',
    ['upstream_timeout'],
  ],
};

/** One error answer in the REST shape, or OpenAI's with `openai`. */
function errorResponse([description, codes, headers]: ErrorAnswer, openai: boolean): unknown {
  const examples = Object.fromEntries(
    codes.map((code) => [code, { value: { error: `What went wrong, in a sentence.`, code } }]),
  );
  return {
    description: `${description} (${codes.map((code) => `\`${code}\``).join(', ')})`,
    ...(headers === undefined ? {} : { headers }),
    content: {
      'application/json': {
        schema: ref(openai ? 'OpenAIError' : 'Error'),
        ...(openai ? {} : { examples }),
      },
    },
  };
}

/** `components.responses`: each error answer, and `OpenAI…` its twin in OpenAI's shape. */
export function errorResponses(): Record<string, unknown> {
  const entries = Object.entries(ERRORS).flatMap(([name, answer]): [string, unknown][] => [
    [name, errorResponse(answer, false)],
    [`OpenAI${name}`, errorResponse(answer, true)],
  ]);
  return {
    ...Object.fromEntries(entries),
    CorsPreflight: {
      description:
        'A CORS preflight (`OPTIONS` with `Access-Control-Request-Method`), when CORS is on.',
    },
  };
}

/** A reference to the error answer `name` (its OpenAI twin with `openai`). */
export function error(name: keyof typeof ERRORS, openai = false): { $ref: string } {
  return { $ref: `#/components/responses/${openai ? 'OpenAI' : ''}${name}` };
}

/** The errors of a route that calls the upstream; `body`: it reads a request body. */
export function upstreamErrors(openai = false, body = false): Record<string, unknown> {
  return {
    '400': error('BadRequest', openai),
    '401': error('Unauthorized', openai),
    '404': openai
      ? {
          description: 'The model is not offered, or the upstream lost the conversation',
          content: { 'application/json': { schema: ref('OpenAIError') } },
        }
      : error('ConversationNotFound'),
    ...(body
      ? { '413': error('PayloadTooLarge', openai), '415': error('UnsupportedMediaType', openai) }
      : {}),
    '429': error('RateLimited', openai),
    '500': error('InternalError', openai),
    '502': error('UpstreamFailure', openai),
    '503': error('UpstreamUnavailable', openai),
    '504': error('UpstreamTimeout', openai),
  };
}

/**
 * What a path answers to a method it does not list: a 405 with `Allow` (OpenAI's shape on `/v1`),
 * or the answer to a CORS preflight. OpenAPI has no place for this, hence the extension.
 */
export function otherMethods(openai = false): Record<string, unknown> {
  return {
    'x-other-methods': {
      '204': { $ref: '#/components/responses/CorsPreflight' },
      '405': error('MethodNotAllowed', openai),
    },
  };
}

/** A request body, as JSON or form-encoded (the seed's clients send forms). */
export function formOrJson(schema: unknown, required = true): unknown {
  return {
    required,
    content: {
      'application/json': { schema },
      'application/x-www-form-urlencoded': { schema },
    },
  };
}

/** A flag that takes `true`/`false` or, from forms, `"True"`, `"false"`… */
export const flag = {
  type: ['boolean', 'string'],
  description: 'true/false, or "true"/"false" in any case',
};
