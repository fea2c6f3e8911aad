import t from 'tap';
import { upstreamErrorFromBody } from '../src/upstream/upstream-errors.js';
import { fixtureText } from '@chatgpt-rest/test-kit';

t.test('a captured 401 token_expired body becomes token_expired', (t) => {
  const error = upstreamErrorFromBody(
    401,
    fixtureText('conversation-post-2022-12-error-401-token-expired.json'),
  );
  t.equal(error.code, 'token_expired');
  t.equal(error.status, 401);
  t.end();
});

t.test('a bad token becomes invalid_token', (t) => {
  t.equal(upstreamErrorFromBody(401, '{"detail": "invalid_token"}').code, 'invalid_token');
  t.equal(upstreamErrorFromBody(401, '{"detail": {"code": "invalid_jwt"}}').code, 'invalid_token');
  t.end();
});

t.test('a captured 2023 rate limit becomes rate_limited', (t) => {
  const error = upstreamErrorFromBody(
    429,
    fixtureText('conversation-post-2023-02-error-429-too-many-requests.json'),
  );
  t.equal(error.code, 'rate_limited');
  t.equal(error.retryAfter, undefined);
  t.end();
});

t.test('a usage cap carries clears_in as retry_after', (t) => {
  const error = upstreamErrorFromBody(
    429,
    '{"detail": {"message": "You have sent too many messages to the model. Please try again later.", "code": "model_cap_exceeded", "clears_in": 11461}}',
  );
  t.equal(error.code, 'rate_limited');
  t.equal(error.retryAfter, 11461);
  t.same(error.toJSON(), { error: error.message, code: 'rate_limited', retry_after: 11461 });
  t.end();
});

t.test('a Retry-After header is used when the body has no clears_in', (t) => {
  const error = upstreamErrorFromBody(429, 'slow down', new Headers({ 'retry-after': '7' }));
  t.equal(error.retryAfter, 7);
  t.end();
});

t.test('clears_in and Retry-After that are no wait in whole seconds are checked', (t) => {
  const cap = (clearsIn: string, headers?: Headers) =>
    upstreamErrorFromBody(
      429,
      `{"detail": {"code": "model_cap_exceeded", "clears_in": ${clearsIn}}}`,
      headers,
    ).retryAfter;
  t.equal(cap('1e999'), undefined, 'Infinity (JSON 1e999) is no wait: not for ever');
  t.equal(cap('-100'), undefined, 'a negative wait is none');
  t.equal(cap('-1', new Headers({ 'retry-after': '30' })), 30, 'the header stands in');
  t.equal(cap('0.5'), 1, 'whole seconds, rounded up');
  t.equal(cap('1e9'), 7 * 24 * 3600, 'at most a week');
  t.equal(cap('"600"'), undefined, 'a string is not a number');
  const header = (value: string) =>
    upstreamErrorFromBody(429, 'slow down', new Headers({ 'retry-after': value })).retryAfter;
  t.equal(header('99999999999999999999999'), 7 * 24 * 3600, 'a huge header: at most a week');
  t.equal(header('soon'), undefined);
  t.end();
});

t.test('one message at a time becomes conversation_busy, whether 429 or 409', (t) => {
  const body =
    '{"detail": "Only one message at a time. Please allow any other responses to complete before sending another message, or wait one minute."}';
  t.equal(upstreamErrorFromBody(429, body).code, 'conversation_busy');
  t.equal(upstreamErrorFromBody(409, body).code, 'conversation_busy');
  t.end();
});

t.test('conversation not found becomes conversation_not_found', (t) => {
  const error = upstreamErrorFromBody(
    404,
    '{"detail": {"message": "Conversation not found", "code": "conversation_not_found"}}',
  );
  t.equal(error.code, 'conversation_not_found');
  t.equal(error.status, 404);
  t.end();
});

t.test('a Cloudflare page is named and its HTML never reaches the message', (t) => {
  const html =
    '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body class="cf-please-wait"></body></html>';
  for (const status of [403, 503]) {
    const error = upstreamErrorFromBody(status, html);
    t.equal(error.code, 'upstream_blocked');
    t.match(error.message, /Cloudflare/);
    t.notMatch(error.message, /</);
  }
  t.end();
});

t.test('unusual activity becomes upstream_blocked', (t) => {
  const error = upstreamErrorFromBody(
    403,
    '{"detail": "Unusual activity has been detected from your device. Try again later."}',
  );
  t.equal(error.code, 'upstream_blocked');
  t.end();
});

t.test('server errors become upstream_error, plain text or JSON', (t) => {
  t.equal(upstreamErrorFromBody(500, 'Internal Server Error').code, 'upstream_error');
  t.equal(
    upstreamErrorFromBody(500, fixtureText('conversation-post-2023-02-error-server-error.json'))
      .code,
    'upstream_error',
  );
  t.equal(
    upstreamErrorFromBody(
      500,
      fixtureText('conversation-post-2023-04-error-500-system-message.json'),
    ).code,
    'upstream_error',
  );
  t.equal(upstreamErrorFromBody(404, 'nope').code, 'upstream_error');
  t.end();
});

t.test('a model the upstream does not offer is a 400 on the model field', (t) => {
  const error = upstreamErrorFromBody(
    404,
    '{"detail": {"code": "model_not_found", "message": "x"}}',
  );
  t.equal(error.code, 'invalid_request');
  t.equal(error.field, 'model');
  t.end();
});
