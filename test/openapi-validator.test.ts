import t from 'tap';
import { createOpenApiValidator } from '@chatgpt-rest/test-kit';
import { openapiDocument } from '../packages/core/src/http/openapi.js';

// The validator the conformance suite runs on every answer must say no to wrong answers, or
// its silence on the suite's answers means nothing.
const validator = createOpenApiValidator(openapiDocument('/chat'));
const ID = '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f';
// Every answer of the API names its request id.
const REQUEST_ID = { 'x-request-id': 'req-1' };
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8', ...REQUEST_ID };
const SSE_TYPE = { 'content-type': 'text/event-stream; charset=utf-8', ...REQUEST_ID };
const reply = {
  author: { role: 'assistant', name: null, metadata: {} },
  message: 'Hello!',
  conversation_id: ID,
  parent_id: ID,
  model: 'auto',
  finish_details: 'stop',
  end_turn: true,
  recipient: 'all',
  citations: [],
};

function answer(status: number, body: unknown, headers: Record<string, string> = JSON_TYPE) {
  return {
    status,
    headers: new Headers({ ...REQUEST_ID, ...headers }),
    text: body === undefined ? '' : JSON.stringify(body),
  };
}

const check = (method: string, path: string, parts: ReturnType<typeof answer>): string[] =>
  validator.checkAnswer(method, path, parts);

t.test('right answers pass', (t) => {
  t.same(check('POST', `/chat/conversations/${ID}/ask`, answer(201, { response: reply })), []);
  t.same(check('DELETE', `/chat/conversations/${ID}`, answer(204, undefined, {})), []);
  const notAllowed = answer(405, { error: 'Use POST.', code: 'method_not_allowed' });
  notAllowed.headers.set('allow', 'POST');
  t.same(check('GET', '/chat/conversations/new', notAllowed), []);
  const busy = answer(429, { error: 'Busy.', code: 'conversation_busy' });
  t.same(check('POST', `/chat/conversations/${ID}/regenerate`, busy), []);
  t.end();
});

t.test('a status the document does not give for the route is refused', (t) => {
  const problems = check('GET', `/chat/conversations/${ID}/messages`, answer(201, []));
  t.match(problems, [/status not in the document/]);
  t.match(check('GET', '/chat/openapi.json', answer(404, {})), [/status not in the document/]);
  t.end();
});

t.test('a missing field, a wrong type or an unknown error code is refused', (t) => {
  const withoutMessage: Record<string, unknown> = { ...reply };
  delete withoutMessage.message;
  t.match(check('POST', '/chat/conversations/new', answer(201, { response: withoutMessage })), [
    /must have required property 'message'/,
  ]);
  t.match(check('PATCH', `/chat/conversations/${ID}`, answer(200, { id: ID, title: 5 })), [
    /title must be string/,
  ]);
  t.match(check('GET', '/chat/conversations', answer(502, { error: 'x', code: 'oops' })), [
    /code must be equal to one of the allowed values/,
  ]);
  t.match(check('GET', '/chat/conversations', answer(200, [])), [/header X-Total-Count missing/]);
  t.match(check('GET', '/chat/v1/models', answer(401, { error: 'x', code: 'missing_token' })), [
    /header WWW-Authenticate missing/,
    /must have required property 'error'|must be object/,
  ]);
  t.end();
});

t.test('an answer without its request id, or with one too long, is refused', (t) => {
  const unnamed = answer(204, undefined, {});
  unnamed.headers.delete('x-request-id');
  t.match(check('DELETE', `/chat/conversations/${ID}`, unnamed), [/header X-Request-Id missing/]);
  const long = answer(
    401,
    { error: 'x', code: 'missing_token' },
    { ...JSON_TYPE, 'x-request-id': 'x'.repeat(129) },
  );
  long.headers.set('www-authenticate', 'Bearer');
  t.match(check('GET', '/chat/conversations', long), [
    /header X-Request-Id data must NOT have more than 128/,
  ]);
  t.end();
});

t.test('a body in another media type, or where none is documented, is refused', (t) => {
  const html = { status: 502, headers: new Headers({ 'content-type': 'text/html' }), text: '<p>' };
  t.match(check('GET', '/chat/conversations', html), [/content type "text\/html" not documented/]);
  t.match(check('DELETE', `/chat/conversations/${ID}`, answer(204, {})), [
    /body where none is documented/,
  ]);
  t.end();
});

t.test('wrong event data in a stream is refused as the client reads it', async (t) => {
  const problems: string[] = [];
  const text = [
    'event: delta\ndata: {"text":"Hel"}\n\n',
    ': ping\n\n',
    'event: delta\ndata: {"txt":"lo"}\n\n',
    'event: reply\ndata: {"message":"Hello"}\n\n',
    'event: shout\ndata: {}\n\n',
    'event: done\ndata: {}\n\n',
  ].join('');
  const streamed = new Response(text, { status: 200, headers: SSE_TYPE });
  const watched = validator.watch('POST', '/chat/conversations/new', streamed, (problem) =>
    problems.push(problem),
  );
  t.same(problems, [], 'nothing checked before the body is read');
  t.equal(await watched.text(), text, 'the client reads the stream unchanged');
  t.match(problems, [
    /\(event delta\): body\/data must have required property 'text'/,
    /\(event reply\): body\/data must have required property 'author'/,
    /\(event shout\): body value of tag "event" must be in oneOf/,
  ]);
  t.equal(problems.length, 3, 'the right events pass');
});

t.test('an OpenAI stream is checked chunk by chunk', async (t) => {
  const problems: string[] = [];
  const chunk = (delta: unknown) => ({
    id: 'chatcmpl-1',
    created: 1,
    model: 'auto',
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
  });
  const text = [
    `data: ${JSON.stringify(chunk({ content: 'Hi' }))}\n\n`,
    `data: ${JSON.stringify({ ...chunk({}), object: 'chat.completion' })}\n\n`,
    'data: [DONE]\n\n',
  ].join('');
  const watched = validator.watch(
    'POST',
    '/chat/v1/chat/completions',
    new Response(text, { status: 200, headers: SSE_TYPE }),
    (problem) => problems.push(problem),
  );
  await watched.text();
  t.equal(problems.length, 1, 'only the chunk of the wrong object type');
  t.match(problems[0], /event data/);
});

t.test('a JSON answer is checked even when the caller never reads it', async (t) => {
  const problems: string[] = [];
  validator.watch(
    'GET',
    `/chat/conversations/${ID}`,
    new Response('{"id":"x"}', { status: 200, headers: JSON_TYPE }),
    (problem) => problems.push(problem),
  );
  await new Promise((resolve) => setImmediate(resolve));
  t.match(problems, [/must have required property 'title'/]);
});

t.test('paths outside the mount, and an undocumented path below it, are told apart', (t) => {
  t.match(check('GET', '/conversations', answer(200, [])), [/outside \/chat/]);
  t.same(check('GET', '/chat/nothing', answer(404, { error: 'No.', code: 'not_found' })), []);
  t.match(check('GET', '/chat/nothing', answer(200, {})), [/status not in the document/]);
  t.end();
});
