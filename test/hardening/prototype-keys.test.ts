/**
 * Client values that name `Object.prototype` members (`constructor`, `toString`, `__proto__`,
 * `hasOwnProperty`, `valueOf`), looked up in plain objects: a method on a fetch-style host (which
 * passes the token as it came) found `route.methods.constructor` and ran `Object` as the route
 * (an empty 200) or failed (500) instead of a 405; a chat message's role found `ROLES.toString`
 * and went on as a malformed message (500) instead of the 400 of any unknown role.
 */
import { createHandler } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import t, { type Test } from 'tap';
import { guardProcess } from './harness.js';

const PROTOTYPE_KEYS = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
const AUTH = { authorization: 'Bearer prototype-keys-token-0123' };
const ID = '11111111-1111-4111-8111-111111111111';

async function handlerOnEmulator(t: Test) {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  return { emulator, handler: createHandler({ upstream: emulator.url, dialect: 'legacy' }) };
}

t.test('a method named after a prototype member is a 405 with Allow', async (t) => {
  const guard = guardProcess(t);
  const { emulator, handler } = await handlerOnEmulator(t);
  const paths: [string, string][] = [
    ['/conversations', 'GET'],
    [`/conversations/${ID}`, 'GET, PATCH, DELETE'],
    ['/openapi.json', 'GET'],
  ];
  for (const method of PROTOTYPE_KEYS) {
    for (const [path, allow] of paths) {
      const response = await handler(new Request(`http://x${path}`, { method, headers: AUTH }));
      t.equal(response.status, 405, `${method} ${path}`);
      t.equal(response.headers.get('allow'), allow, `${method} ${path}: Allow`);
      t.match(await response.json(), { code: 'method_not_allowed' });
    }
  }
  t.equal(emulator.requests.length, 0, 'nothing went upstream');
  t.same(guard.escaped, []);
});

t.test('a chat message role named after a prototype member is a 400', async (t) => {
  const guard = guardProcess(t);
  const { emulator, handler } = await handlerOnEmulator(t);
  for (const role of PROTOTYPE_KEYS) {
    for (const stream of [false, true]) {
      const body = JSON.stringify({
        model: 'gpt-4o',
        stream,
        messages: [
          { role, content: 'be terse' },
          { role: 'user', content: 'hi' },
        ],
      });
      const response = await handler(
        new Request('http://x/v1/chat/completions', {
          method: 'POST',
          headers: { ...AUTH, 'content-type': 'application/json' },
          body,
        }),
      );
      t.equal(response.status, 400, `role ${role}, stream ${stream}`);
      t.match(await response.json(), {
        error: { type: 'invalid_request_error', param: 'messages[0].role' },
      });
    }
  }
  t.equal(emulator.requests.length, 0, 'nothing went upstream');
  t.same(guard.escaped, []);
});
