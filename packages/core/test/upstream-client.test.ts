import { getEventListeners } from 'node:events';
import nock from 'nock';
import t from 'tap';
import { resolveOptions } from '../src/options.js';
import { UpstreamClient } from '../src/upstream/upstream-client.js';

const BASE = 'http://upstream.test';

function client(): UpstreamClient {
  return new UpstreamClient(
    resolveOptions({ upstream: `${BASE}/backend-api`, dialect: 'legacy' }, {}),
  );
}
const signal = new AbortController().signal;
const TOK = { token: 'tok' };

t.before(() => nock.disableNetConnect());
t.afterEach(() => nock.cleanAll());
t.teardown(() => nock.enableNetConnect());

t.test('the list request carries paging, order and the token as Bearer', async (t) => {
  const scope = nock(BASE, {
    reqheaders: { authorization: 'Bearer tok', accept: 'application/json' },
  })
    .get('/backend-api/conversations')
    .query({ offset: '20', limit: '10', order: 'updated' })
    .reply(200, { items: [], total: 0, limit: 10, offset: 20 });
  const list = await client().listConversations(TOK, { offset: 20, limit: 10 }, signal);
  t.same(list.items, []);
  t.ok(scope.isDone());
});

t.test('a 2xx body that is not JSON is an upstream_error', async (t) => {
  nock(BASE).get('/backend-api/conversation/abc').reply(200, '<html>oops</html>');
  await t.rejects(client().getConversation(TOK, 'abc', signal), { code: 'upstream_error' });
});

t.test('a refused connection is upstream_unavailable', async (t) => {
  nock(BASE)
    .get('/backend-api/conversation/abc')
    .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
  await t.rejects(client().getConversation(TOK, 'abc', signal), { code: 'upstream_unavailable' });
});

t.test('rename, hide, hide-all and gen_title send the protocol bodies', async (t) => {
  const scope = nock(BASE)
    .patch('/backend-api/conversation/abc', { title: 'T' })
    .reply(200, { success: true })
    .patch('/backend-api/conversation/abc', { is_visible: false })
    .reply(200, { success: true })
    .patch('/backend-api/conversations', { is_visible: false })
    .reply(200, { success: true })
    .post('/backend-api/conversation/gen_title/abc', { message_id: 'm', model: 'gpt-4o' })
    .reply(200, { title: 'Generated' });
  const c = client();
  await c.patchConversation(TOK, 'abc', { title: 'T' }, signal);
  await c.patchConversation(TOK, 'abc', { is_visible: false }, signal);
  await c.patchAllConversations(TOK, { is_visible: false }, signal);
  t.equal(
    await c.generateTitle(TOK, 'abc', { message_id: 'm', model: 'gpt-4o' }, signal),
    'Generated',
  );
  t.ok(scope.isDone());
});

t.test('an error body is read once and mapped, with Retry-After from clears_in', async (t) => {
  nock(BASE)
    .post('/backend-api/conversation')
    .reply(429, { detail: { code: 'model_cap_exceeded', clears_in: 90, message: 'cap' } });
  await t.rejects(
    client().sendMessage(TOK, { action: 'next', parent_message_id: 'p', model: 'auto' }, signal),
    { code: 'rate_limited', retryAfter: 90 },
  );
});

t.test('the message POST asks for an event stream and returns it unread', async (t) => {
  nock(BASE, { reqheaders: { accept: 'text/event-stream', 'content-type': 'application/json' } })
    .post('/backend-api/conversation', (body: { action?: string }) => body.action === 'next')
    .reply(200, 'data: [DONE]\n\n', { 'content-type': 'text/event-stream' });
  const response = await client().sendMessage(
    TOK,
    { action: 'next', parent_message_id: 'p', model: 'auto' },
    signal,
  );
  t.equal(await response.text(), 'data: [DONE]\n\n');
});

t.test('a JSON call lets go of the client signal once answered', async (t) => {
  // A streamed ask reads the tree first: that call's abort link (a listener, a controller and
  // its signal, ~1.5 KiB) used to stay on the request's signal for the whole stream.
  nock(BASE)
    .get('/backend-api/conversations')
    .query(true)
    .times(3)
    .reply(200, { items: [], total: 0, limit: 10, offset: 0 });
  const own = new AbortController();
  const upstream = client();
  for (let i = 0; i < 3; i++) {
    await upstream.listConversations(TOK, { offset: 0, limit: 10 }, own.signal);
  }
  t.equal(getEventListeners(own.signal, 'abort').length, 0, 'no listener is left');
});
