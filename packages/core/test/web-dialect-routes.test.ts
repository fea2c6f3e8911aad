import { sseEvents } from '@chatgpt-rest/test-kit';
import t from 'tap';
import { header, messagePosts, requestsTo, rest, webSetup } from './web-dialect-helpers.js';

t.test('every REST route works in the web dialect with proof of work required', async (t) => {
  const { emulator, handler } = await webSetup(t, {
    sentinel: { proofOfWork: { required: true, difficulty: '00ffff' } },
  });

  const created = await rest(handler, 'POST', '/conversations/new', { body: { prompt: 'hi' } });
  t.equal(created.status, 201, created.text);
  const first = created.json.response;
  t.type(first.message, 'string');
  t.ok(first.message.length > 0, 'the reply has text');
  t.type(first.title, 'string', 'the title comes from the v1 stream');
  const id: string = first.conversation_id;

  const [post] = messagePosts(emulator);
  t.equal(post?.status, 200, 'the emulator accepted the first message POST');
  t.equal(post?.refusal, undefined);
  t.match(header(post, 'openai-sentinel-proof-token'), /^gAAAAAB/);
  t.ok(header(post, 'openai-sentinel-chat-requirements-token'));
  t.ok(header(post, 'x-conduit-token'));
  t.equal(header(post, 'openai-sentinel-turnstile-token'), undefined, 'no Turnstile header');
  t.equal(header(post, 'oai-language'), 'en-US');
  t.equal(header(post, 'origin'), 'https://chatgpt.com');
  t.equal(header(post, 'referer'), 'https://chatgpt.com/');
  t.match(header(post, 'user-agent'), /Chrome\//);
  t.match(
    header(post, 'oai-device-id'),
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-/,
  );
  t.equal(header(post, 'chatgpt-account-id'), undefined, 'no account id unless configured');
  t.match(post?.body, {
    parent_message_id: 'client-created-root',
    supported_encodings: ['v1'],
    messages: [{ content: { parts: ['hi'] } }],
  });
  t.notOk('conversation_id' in (post?.body as object), 'a new conversation sends no id');

  const [requirements] = requestsTo(emulator, '/sentinel/chat-requirements');
  t.match(requirements?.body, { p: /^gAAAAAC/ }, 'the requirements token is sent as p');
  const [prepare] = requestsTo(emulator, '/f/conversation/prepare');
  t.notOk('messages' in (prepare?.body as object), 'prepare gets the body without messages');
  t.match(prepare?.body, { parent_message_id: 'client-created-root', supported_encodings: ['v1'] });

  const asked = await rest(handler, 'POST', `/conversations/${id}/ask`, {
    body: { prompt: 'and then?' },
  });
  t.equal(asked.status, 201, asked.text);
  t.equal(asked.json.response.conversation_id, id);

  const branched = await rest(handler, 'POST', `/conversations/${id}/ask`, {
    body: { prompt: 'another branch', parent_id: first.parent_id },
  });
  t.equal(branched.status, 201, branched.text);
  t.match(messagePosts(emulator).at(-1)?.body, { parent_message_id: first.parent_id });

  const messages = await rest(handler, 'GET', `/conversations/${id}/messages`);
  t.equal(messages.status, 200);
  t.same(
    messages.json.map((m: { message: string }) => m.message),
    ['hi', first.message, 'another branch', branched.json.response.message],
    'the current branch is the one asked with parent_id',
  );

  const regenerated = await rest(handler, 'POST', `/conversations/${id}/regenerate`, {
    body: {},
  });
  t.equal(regenerated.status, 201, regenerated.text);
  t.match(messagePosts(emulator).at(-1)?.body, { action: 'variant' });

  const streamed = await rest(handler, 'POST', `/conversations/${id}/ask`, {
    body: { prompt: 'stream it', stream: true },
  });
  t.equal(streamed.status, 200);
  t.match(streamed.headers.get('content-type'), /text\/event-stream/);
  const events = sseEvents(streamed.text);
  t.ok(
    events.some((e) => e.event === 'delta'),
    'deltas arrive',
  );
  const reply = events.find((e) => e.event === 'reply');
  t.equal(
    events
      .filter((e) => e.event === 'delta')
      .map((e) => String(e.data.text))
      .join(''),
    reply?.data.message,
  );
  t.equal(events.at(-1)?.event, 'done');

  const got = await rest(handler, 'GET', `/conversations/${id}`);
  t.equal(got.status, 200);
  t.equal(got.json.id, id);

  const renamed = await rest(handler, 'PATCH', `/conversations/${id}`, {
    body: { title: 'Renamed' },
  });
  t.same(renamed.json, { id, title: 'Renamed' });
  const list = await rest(handler, 'GET', '/conversations');
  t.equal(list.status, 200);
  t.equal(list.json[0].title, 'Renamed');
  t.match(
    header(requestsTo(emulator, '/conversations').at(-1), 'oai-device-id'),
    /^[0-9a-f-]{36}$/,
    'the web headers go with every request',
  );

  const second = await rest(handler, 'POST', '/conversations/new', { body: { prompt: 'two' } });
  t.equal(second.status, 201);
  t.equal((await rest(handler, 'DELETE', `/conversations/${id}`)).status, 204);
  t.same(
    (await rest(handler, 'GET', '/conversations')).json.map((c: { id: string }) => c.id),
    [second.json.response.conversation_id],
  );
  t.equal((await rest(handler, 'DELETE', '/conversations/all')).status, 204);
  t.same((await rest(handler, 'GET', '/conversations')).json, []);

  t.equal(
    messagePosts(emulator).filter((r) => r.refusal !== undefined).length,
    0,
    'no message POST was refused',
  );
  t.equal(
    emulator.requests.filter((r) => r.path === '/backend-api/conversation').length,
    0,
    'the legacy path was never used',
  );
});

t.test('a Team account sends its workspace id on every request', async (t) => {
  const { emulator, handler } = await webSetup(t, {}, { web: { accountId: 'ws-123' } });
  const created = await rest(handler, 'POST', '/conversations/new', { body: { prompt: 'hi' } });
  t.equal(created.status, 201);
  for (const request of emulator.requests) {
    t.equal(header(request, 'chatgpt-account-id'), 'ws-123', request.path);
  }
});

t.test(
  'an ask on an unknown conversation fails at prepare with conversation_not_found',
  async (t) => {
    const { emulator, handler } = await webSetup(t);
    const missing = '00000000-0000-4000-8000-000000000000';
    const answer = await rest(handler, 'POST', `/conversations/${missing}/ask`, {
      body: { prompt: 'hi', parent_id: '00000000-0000-4000-8000-000000000001' },
    });
    t.equal(answer.status, 404);
    t.equal(answer.json.code, 'conversation_not_found');
    t.equal(messagePosts(emulator).length, 0);
  },
);
