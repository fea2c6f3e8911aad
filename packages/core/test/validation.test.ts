import t from 'tap';
import { RestError } from '../src/errors.js';
import { readBodyFields } from '../src/http/request-body.js';
import {
  integerParam,
  isUuid,
  optionalBoolean,
  optionalModel,
  requiredText,
  uuidField,
} from '../src/http/validation.js';

function post(body: string, type: string | undefined): Request {
  return new Request('http://x/', {
    method: 'POST',
    body,
    headers: type === undefined ? {} : { 'content-type': type },
  });
}

t.test('JSON and form bodies give the same fields', async (t) => {
  t.same(await readBodyFields(post('{"prompt":"hi"}', 'application/json; charset=utf-8'), 100), {
    prompt: 'hi',
  });
  t.same(
    await readBodyFields(
      post('prompt=hi&autocontinue=True', 'application/x-www-form-urlencoded'),
      100,
    ),
    {
      prompt: 'hi',
      autocontinue: 'True',
    },
  );
  t.same(await readBodyFields(post('', undefined), 100), {});
});

t.test(
  'malformed JSON, non-object JSON, other media types and oversize bodies are refused',
  async (t) => {
    await t.rejects(readBodyFields(post('{"prompt":', 'application/json'), 100), {
      code: 'invalid_request',
    });
    await t.rejects(readBodyFields(post('[1]', 'application/json'), 100), {
      code: 'invalid_request',
    });
    await t.rejects(readBodyFields(post('prompt', 'text/plain'), 100), {
      code: 'unsupported_media_type',
    });
    await t.rejects(readBodyFields(post('x'.repeat(101), 'application/json'), 100), {
      code: 'payload_too_large',
    });
  },
);

t.test('autocontinue accepts booleans and true/false strings in any case only', (t) => {
  t.equal(optionalBoolean({ a: 'True' }, 'a'), true);
  t.equal(optionalBoolean({ a: 'FALSE' }, 'a'), false);
  t.equal(optionalBoolean({ a: true }, 'a'), true);
  t.equal(optionalBoolean({}, 'a'), undefined);
  t.throws(() => optionalBoolean({ a: 'yes' }, 'a'), { code: 'invalid_request', field: 'a' });
  t.throws(() => optionalBoolean({ a: 1 }, 'a'), RestError);
  t.end();
});

t.test('a prompt must be a non-blank string within the limit', (t) => {
  t.equal(requiredText({ p: 'x' }, 'p', 5), 'x');
  t.throws(() => requiredText({}, 'p', 5), { field: 'p', message: /required/ });
  t.throws(() => requiredText({ p: '  ' }, 'p', 5), { message: /blank/ });
  t.throws(() => requiredText({ p: 3 }, 'p', 5), { message: /string/ });
  t.throws(() => requiredText({ p: 'xxxxxx' }, 'p', 5), { message: /longer/ });
  t.end();
});

t.test('ids must look like UUIDs of any version', (t) => {
  t.ok(isUuid('6974e0a3-b684-8321-a73a-bf4e7b6dfafe'));
  t.notOk(isUuid('new'));
  t.notOk(isUuid('6974e0a3-b684-8321-a73a-bf4e7b6dfafeX'));
  t.equal(
    uuidField('id', 'ABCDEF12-B684-8321-A73A-BF4E7B6DFAFE'),
    'abcdef12-b684-8321-a73a-bf4e7b6dfafe',
  );
  t.throws(() => uuidField('id', '../etc'), { code: 'invalid_request', field: 'id' });
  t.end();
});

t.test('limit and offset are bounded integers', (t) => {
  const opts = { min: 1, max: 100, fallback: 10 };
  t.equal(integerParam(new URLSearchParams(''), 'limit', opts), 10);
  t.equal(integerParam(new URLSearchParams('limit=5'), 'limit', opts), 5);
  for (const bad of ['0', '101', '-1', 'abc', '1.5', '1e2']) {
    t.throws(() => integerParam(new URLSearchParams({ limit: bad }), 'limit', opts), {
      code: 'invalid_request',
      field: 'limit',
    });
  }
  t.end();
});

t.test('model names are checked', (t) => {
  t.equal(optionalModel({ model: 'gpt-4o' }), 'gpt-4o');
  t.throws(() => optionalModel({ model: 'gpt 4o; rm' }), {
    code: 'invalid_request',
    field: 'model',
  });
  t.end();
});
