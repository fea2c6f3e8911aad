/**
 * Fault: sentinel refusals whose error named the wrong cause. A prepare answer without a conduit
 * token was reported as "it distrusts this device or IP"; with `expire_after: 0` one POST was
 * made and the error said the message was refused twice. Each error must say what happened.
 */
import t from 'tap';
import {
  messagePosts,
  requestsTo,
  rest,
  rewritingFetch,
  webSetup,
} from '../../packages/core/test/web-dialect-helpers.js';

const NEW = '/conversations/new';
const HI = { body: { prompt: 'hi' } };

t.test('a prepare answer without a conduit token is named in the refusal', async (t) => {
  const { emulator, handler } = await webSetup(
    t,
    {},
    {
      fetch: rewritingFetch((path) =>
        path.endsWith('/prepare') ? Response.json({ status: 'ok' }) : undefined,
      ),
    },
  );
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 502);
  t.equal(answer.json.code, 'upstream_blocked');
  t.match(answer.json.error, /prepare call returned no conduit token/);
  t.notMatch(answer.json.error, /distrusts/);
  t.same(
    messagePosts(emulator).map((p) => p.refusal),
    ['conduit_missing', 'conduit_missing'],
  );
});

t.test('expire_after 0: one POST is made and the error says so', async (t) => {
  const { emulator, handler } = await webSetup(t, { sentinel: { tokenTtlSeconds: 0 } });
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 502);
  t.equal(answer.json.code, 'upstream_blocked');
  t.equal(requestsTo(emulator, '/sentinel/chat-requirements').length, 2);
  t.equal(messagePosts(emulator).length, 1, 'the first, expired token was never sent');
  t.notMatch(answer.json.error, /twice/);
  t.match(answer.json.error, /had already expired when it was sent \(it lived 0 s\)/);
});

t.test('one POST refused after an expired first token says it was sent once', async (t) => {
  const spoil = rewritingFetch((path, headers) => {
    if (path.endsWith('/f/conversation')) headers.set('openai-sentinel-proof-token', 'gAAAAABx');
    return undefined;
  });
  const { emulator, handler } = await webSetup(
    t,
    { sentinel: { tokenTtlSeconds: 0 } },
    {
      // The first token is born expired (the client skips it), the second lives: one refused POST.
      fetch: async (input, init) => {
        const response = await spoil(input, init);
        emulator.sentinelOptions.tokenTtlSeconds = 540;
        return response;
      },
    },
  );
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 502);
  t.equal(requestsTo(emulator, '/sentinel/chat-requirements').length, 2);
  t.equal(messagePosts(emulator).length, 1);
  t.match(answer.json.error, /sent once with a fresh requirements token and proof of work/);
  t.match(answer.json.error, /1 earlier requirements token expired/);
  t.notMatch(answer.json.error, /twice/);
});

t.test('two refused POSTs still say twice', async (t) => {
  const { emulator, handler } = await webSetup(
    t,
    {},
    {
      fetch: rewritingFetch((path, headers) => {
        if (path.endsWith('/f/conversation'))
          headers.set('openai-sentinel-proof-token', 'gAAAAABx');
        return undefined;
      }),
    },
  );
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(messagePosts(emulator).length, 2);
  t.match(answer.json.error, /refused the message twice/);
});
