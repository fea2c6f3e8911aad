import { dataEvents, type Json, messageBody } from '@chatgpt-rest/test-kit';
import t from 'tap';
import { createBackendEmulator } from '../src/index.js';
import { call, legacyText, rawRequest, v1Text } from './emulator-helpers.js';

t.test(
  'a legacy message POST streams whole-message events and stores the conversation tree',
  async (t) => {
    const emulator = await createBackendEmulator({ dialect: 'legacy' });
    t.teardown(() => emulator.close());
    t.match(emulator.url, /^http:\/\/127\.0\.0\.1:\d+\/backend-api$/);
    const reply = await call(emulator.url, 'POST', '/conversation', {
      body: messageBody('Hello there'),
    });
    t.equal(reply.status, 200);
    t.match(reply.headers.get('content-type'), /text\/event-stream/);
    t.ok(reply.text.trimEnd().endsWith('data: [DONE]'));
    const { text, id, conversationId, last } = legacyText(reply.text);
    t.ok(text.length > 0);
    t.equal(last.message.status, 'finished_successfully');
    t.equal(last.message.metadata.finish_details.type, 'stop');
    t.equal(last.message.metadata.model_slug, 'gpt-5-2', 'auto is answered as gpt-5-2');
    const detail = await call(emulator.url, 'GET', `/conversation/${conversationId}`);
    t.equal(detail.status, 200);
    const mapping = detail.json.mapping;
    t.equal(detail.json.current_node, id);
    t.equal(typeof detail.json.create_time, 'number');
    const root = Object.values<Json>(mapping).find((n) => n.parent === null);
    t.notOk(root.message, 'the root node has no message');
    const system = mapping[root.children[0]];
    t.equal(system.message.author.role, 'system');
    t.equal(system.message.metadata.is_visually_hidden_from_conversation, true);
    const user = mapping[system.children[0]];
    t.equal(user.message.author.role, 'user');
    t.same(user.children, [id]);
    t.equal(mapping[id].message.content.parts[0], text);
    t.equal(detail.json.title, 'New chat', 'legacy streams leave the title to gen_title');
  },
);

t.test(
  'replies are deterministic per prompt and seed, and scripted replies are used verbatim',
  async (t) => {
    const a = await createBackendEmulator({ seed: 7, replyWords: 12 });
    const b = await createBackendEmulator({ seed: 7, replyWords: 12 });
    const c = await createBackendEmulator({ seed: 8, replyWords: 12 });
    const scripted = await createBackendEmulator({
      reply: (prompt, ctx) => `echo: ${prompt} (${ctx.model})`,
    });
    t.teardown(async () => {
      await Promise.all([a.close(), b.close(), c.close(), scripted.close()]);
    });
    const text = async (url: string, prompt: string) =>
      legacyText((await call(url, 'POST', '/conversation', { body: messageBody(prompt) })).text)
        .text;
    const first = await text(a.url, 'same prompt');
    t.equal(await text(b.url, 'same prompt'), first);
    t.not(await text(c.url, 'same prompt'), first);
    t.not(await text(a.url, 'other prompt'), first);
    t.equal(first.split(' ').length, 12);
    t.equal(await text(scripted.url, 'hi 🚀'), 'echo: hi 🚀 (gpt-5-2)');
  },
);

t.test('non-ASCII text is escaped as \\u sequences with surrogate pairs in streams', async (t) => {
  const emulator = await createBackendEmulator({ reply: () => 'Beyoncé 🚀' });
  t.teardown(() => emulator.close());
  const reply = await call(emulator.url, 'POST', '/conversation', { body: messageBody('x') });
  t.match(reply.text, /Beyonc\\u00e9 \\ud83d\\ude80/);
  t.ok(
    Buffer.from(reply.text).every((byte) => byte < 0x80),
    'the stream is pure ASCII',
  );
  t.equal(legacyText(reply.text).text, 'Beyoncé 🚀');
});

t.test('next, variant and continue keep correct parent links', async (t) => {
  const emulator = await createBackendEmulator({ replyWords: 30, maxTokens: 10 });
  t.teardown(() => emulator.close());
  const first = messageBody('Tell me a story');
  const r1 = legacyText((await call(emulator.url, 'POST', '/conversation', { body: first })).text);
  t.equal(r1.last.message.metadata.finish_details.type, 'max_tokens');
  t.equal(r1.last.message.end_turn, false);
  const userMessage = (first.messages as Json[])[0];

  // continue: a new assistant message under the cut one, carrying only the continuation
  const r2 = legacyText(
    (
      await call(emulator.url, 'POST', '/conversation', {
        body: {
          action: 'continue',
          conversation_id: r1.conversationId,
          parent_message_id: r1.id,
          model: 'auto',
        },
      })
    ).text,
  );
  t.equal(r2.last.message.metadata.message_type, 'continue');
  t.equal(r2.last.message.metadata.parent_id, r1.id);
  const r3 = legacyText(
    (
      await call(emulator.url, 'POST', '/conversation', {
        body: {
          action: 'continue',
          conversation_id: r1.conversationId,
          parent_message_id: r2.id,
          model: 'auto',
        },
      })
    ).text,
  );
  t.equal(r3.last.message.metadata.finish_details.type, 'stop');
  const unlimited = await createBackendEmulator({ replyWords: 30 });
  t.teardown(() => unlimited.close());
  const whole = legacyText(
    (await call(unlimited.url, 'POST', '/conversation', { body: messageBody('Tell me a story') }))
      .text,
  ).text;
  t.equal(r1.text + r2.text + r3.text, whole, 'continue resumes exactly where max_tokens stopped');

  // variant: another assistant child of the same user message, no duplicated user message
  const variant = legacyText(
    (
      await call(emulator.url, 'POST', '/conversation', {
        body: {
          action: 'variant',
          conversation_id: r1.conversationId,
          parent_message_id:
            r1.last.message.metadata.parent_id === userMessage.id ? undefined : 'x',
          messages: [userMessage],
          model: 'auto',
        },
      })
    ).text,
  );
  const detail = (await call(emulator.url, 'GET', `/conversation/${r1.conversationId}`)).json;
  const userNode = detail.mapping[userMessage.id];
  t.equal(userNode.children.length, 2, 'the user message now has two replies');
  t.ok(userNode.children.includes(variant.id));
  t.equal(detail.current_node, variant.id);
  t.equal(variant.last.message.metadata.message_type, 'variant');
  t.not(variant.text, r1.text, 'a regeneration differs');
  const users = Object.values<Json>(detail.mapping).filter(
    (n) => n.message?.author.role === 'user',
  );
  t.equal(users.length, 1);
  t.same(detail.mapping[r2.id].children, [r3.id]);
  t.equal(detail.mapping[r2.id].parent, r1.id);

  // next after a reply; top-level role (revChatGPT) accepted
  const follow = legacyText(
    (
      await call(emulator.url, 'POST', '/conversation', {
        body: {
          action: 'next',
          conversation_id: r1.conversationId,
          parent_message_id: variant.id,
          messages: [
            {
              id: 'revchatgpt-1',
              role: 'user',
              content: { content_type: 'text', parts: ['more'] },
            },
          ],
          model: 'gpt-4o',
        },
      })
    ).text,
  );
  const after = (await call(emulator.url, 'GET', `/conversation/${r1.conversationId}`)).json;
  t.equal(after.mapping['revchatgpt-1'].parent, variant.id);
  t.equal(after.mapping['revchatgpt-1'].message.author.role, 'user');
  t.equal(after.mapping[follow.id].parent, 'revchatgpt-1');
  t.equal(follow.last.message.metadata.model_slug, 'gpt-4o');
});

t.test(
  'a variant whose user message id is new but text matches reuses the existing user message',
  async (t) => {
    const emulator = await createBackendEmulator();
    t.teardown(() => emulator.close());
    const first = legacyText(
      (await call(emulator.url, 'POST', '/conversation', { body: messageBody('Same text') })).text,
    );
    const detail = (await call(emulator.url, 'GET', `/conversation/${first.conversationId}`)).json;
    const userId = detail.mapping[first.id].parent;
    const parentOfUser = detail.mapping[userId].parent;
    const variant = legacyText(
      (
        await call(emulator.url, 'POST', '/conversation', {
          body: messageBody('Same text', {
            action: 'variant',
            conversation_id: first.conversationId,
            parent_message_id: parentOfUser,
          }),
        })
      ).text,
    );
    const after = (await call(emulator.url, 'GET', `/conversation/${first.conversationId}`)).json;
    t.same(after.mapping[userId].children, [first.id, variant.id]);
  },
);

t.test('bad turns are refused like the backend refuses them', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const missing = await call(emulator.url, 'POST', '/conversation', {
    body: messageBody('x', { conversation_id: 'nope' }),
  });
  t.equal(missing.status, 404);
  t.same(missing.json, {
    detail: { message: 'Conversation not found', code: 'conversation_not_found' },
  });
  const first = legacyText(
    (await call(emulator.url, 'POST', '/conversation', { body: messageBody('x') })).text,
  );
  const badParent = await call(emulator.url, 'POST', '/conversation', {
    body: messageBody('y', { conversation_id: first.conversationId, parent_message_id: 'missing' }),
  });
  t.equal(badParent.status, 422);
  const badAction = await call(emulator.url, 'POST', '/conversation', {
    body: messageBody('y', { action: 'fly' }),
  });
  t.equal(badAction.status, 422);
  const noMessages = await call(emulator.url, 'POST', '/conversation', {
    body: { action: 'next', model: 'auto' },
  });
  t.equal(noMessages.status, 422);
  const badContinue = await call(emulator.url, 'POST', '/conversation', {
    body: {
      action: 'continue',
      conversation_id: first.conversationId,
      parent_message_id: 'nope',
      model: 'auto',
    },
  });
  t.equal(badContinue.status, 422);
  const continueNew = await call(emulator.url, 'POST', '/conversation', {
    body: { action: 'continue', parent_message_id: 'nope', model: 'auto' },
  });
  t.equal(continueNew.status, 404);
  const notJson = await call(emulator.url, 'POST', '/conversation', { body: 'not json' });
  t.equal(notJson.status, 422);
});

t.test('the list pages newest first and excludes hidden and archived conversations', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const ids: string[] = [];
  for (const prompt of ['one', 'two', 'three', 'four']) {
    ids.push(
      legacyText(
        (await call(emulator.url, 'POST', '/conversation', { body: messageBody(prompt) })).text,
      ).conversationId,
    );
    await new Promise((r) => setTimeout(r, 5));
  }
  const page = await call(emulator.url, 'GET', '/conversations?offset=1&limit=2&order=updated');
  t.equal(page.status, 200);
  t.equal(page.json.total, 4);
  t.equal(page.json.limit, 2);
  t.equal(page.json.offset, 1);
  t.equal(page.json.has_missing_conversations, false);
  t.same(
    page.json.items.map((i: Json) => String(i.id)),
    [ids[2], ids[1]],
  );
  t.match(page.json.items[0].create_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  t.equal(page.json.items[0].mapping, null);

  t.same(
    (await call(emulator.url, 'PATCH', `/conversation/${ids[0]}`, { body: { is_visible: false } }))
      .json,
    { success: true },
  );
  t.same(
    (await call(emulator.url, 'PATCH', `/conversation/${ids[1]}`, { body: { is_archived: true } }))
      .json,
    { success: true },
  );
  t.same(
    (await call(emulator.url, 'PATCH', `/conversation/${ids[2]}`, { body: { title: 'Renamed' } }))
      .json,
    { success: true },
  );
  const list = (await call(emulator.url, 'GET', '/conversations')).json;
  t.same(
    list.items.map((i: Json) => String(i.id)),
    [ids[2], ids[3]],
    'rename bumps update_time; hidden and archived are gone',
  );
  t.equal(list.items[0].title, 'Renamed');
  const archived = (await call(emulator.url, 'GET', '/conversations?is_archived=true')).json;
  t.same(
    archived.items.map((i: Json) => String(i.id)),
    [ids[1]],
  );
  const created = (await call(emulator.url, 'GET', '/conversations?order=created')).json;
  t.same(
    created.items.map((i: Json) => String(i.id)),
    [ids[3], ids[2]],
  );
  t.equal(
    (await call(emulator.url, 'GET', `/conversation/${ids[0]}`)).status,
    404,
    'a hidden conversation is not found',
  );
  t.equal(
    (await call(emulator.url, 'PATCH', `/conversation/${ids[0]}`, { body: { title: 'x' } })).status,
    404,
  );

  t.same(
    (await call(emulator.url, 'PATCH', '/conversations', { body: { is_visible: false } })).json,
    { success: true },
  );
  t.equal((await call(emulator.url, 'GET', '/conversations')).json.total, 0);
  t.equal(
    (await call(emulator.url, 'PATCH', '/conversations', { body: { title: 'x' } })).status,
    422,
  );
  t.equal((await call(emulator.url, 'DELETE', '/conversations')).status, 405);
});

t.test('conversations belong to their access token', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const mine = legacyText(
    (await call(emulator.url, 'POST', '/conversation', { token: 'alice', body: messageBody('x') }))
      .text,
  );
  t.equal(
    (await call(emulator.url, 'GET', `/conversation/${mine.conversationId}`, { token: 'bob' }))
      .status,
    404,
  );
  t.equal((await call(emulator.url, 'GET', '/conversations', { token: 'bob' })).json.total, 0);
  t.equal((await call(emulator.url, 'GET', '/conversations', { token: 'alice' })).json.total, 1);
});

t.test('a temporary chat is never listed but can be read and continued', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const temporary = { history_and_training_disabled: true };
  const first = legacyText(
    (await call(emulator.url, 'POST', '/conversation', { body: messageBody('a', temporary) })).text,
  );
  await call(emulator.url, 'POST', '/conversation', { body: messageBody('b') });
  const list = (await call(emulator.url, 'GET', '/conversations')).json;
  t.equal(list.total, 1, 'only the saved chat counts');
  t.not(list.items[0].id, first.conversationId, 'the temporary chat is left out');
  t.equal((await call(emulator.url, 'GET', `/conversation/${first.conversationId}`)).status, 200);
  const next = messageBody('again', {
    conversation_id: first.conversationId,
    parent_message_id: first.id,
  });
  t.equal((await call(emulator.url, 'POST', '/conversation', { body: next })).status, 200);
  t.equal((await call(emulator.url, 'GET', '/conversations')).json.total, 1, 'still unlisted');
});

t.test('gen_title names the conversation after its first prompt', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const r = legacyText(
    (
      await call(emulator.url, 'POST', '/conversation', {
        body: messageBody('famous people, please!'),
      })
    ).text,
  );
  const title = await call(emulator.url, 'POST', `/conversation/gen_title/${r.conversationId}`, {
    body: { message_id: r.id, model: 'auto' },
  });
  t.same(title.json, { title: 'Famous People Please' });
  t.equal(
    (await call(emulator.url, 'GET', `/conversation/${r.conversationId}`)).json.title,
    'Famous People Please',
  );
  t.equal(
    (
      await call(emulator.url, 'POST', '/conversation/gen_title/nope', {
        body: { message_id: r.id },
      })
    ).status,
    404,
  );
  t.equal(
    (
      await call(emulator.url, 'POST', `/conversation/gen_title/${r.conversationId}`, {
        body: { message_id: 'nope' },
      })
    ).status,
    422,
  );
  t.equal(
    (await call(emulator.url, 'GET', `/conversation/gen_title/${r.conversationId}`)).status,
    405,
  );
});

t.test(
  'v1 streams set the title from title_generation and follow supported_encodings',
  async (t) => {
    const emulator = await createBackendEmulator();
    t.teardown(() => emulator.close());
    const reply = await call(emulator.url, 'POST', '/conversation', {
      body: messageBody('List famous people', { supported_encodings: ['v1'] }),
    });
    t.match(reply.text, /^event: delta_encoding\ndata: "v1"\n\n/);
    const titles = dataEvents(reply.text).filter((e) => e.type === 'title_generation');
    t.equal(titles.length, 2);
    const { conversationId, text } = v1Text(reply.text);
    const detail = (await call(emulator.url, 'GET', `/conversation/${conversationId}`)).json;
    t.equal(detail.title, 'List Famous People');
    t.equal(detail.mapping[detail.current_node].message.content.parts[0], text);
    // a follow-up turn in v1 adds the user message first and has no title events
    const next = await call(emulator.url, 'POST', '/conversation', {
      body: messageBody('More', {
        supported_encodings: ['v1'],
        conversation_id: conversationId,
        parent_message_id: detail.current_node,
      }),
    });
    const events = dataEvents(next.text);
    t.equal(events.filter((e) => e.type === 'title_generation').length, 0);
    t.equal(events.find((e) => e.o === 'add').v.message.author.role, 'user');
  },
);

t.test(
  'authorization is required, and tokens can be expired or invalidated at run time',
  async (t) => {
    const emulator = await createBackendEmulator({
      tokens: { expired: ['old'], invalid: ['bad'] },
    });
    t.teardown(() => emulator.close());
    const none = await call(emulator.url, 'GET', '/conversations', { token: null });
    t.equal(none.status, 401);
    t.same(none.json, { detail: 'Unauthorized' });
    const old = await call(emulator.url, 'GET', '/conversations', { token: 'old' });
    t.equal(old.status, 401);
    t.equal(old.json.detail.code, 'token_expired');
    t.equal(
      (await call(emulator.url, 'GET', '/conversations', { token: 'bad' })).json.detail.code,
      'invalid_jwt',
    );
    t.equal((await call(emulator.url, 'GET', '/conversations', { token: 'fine' })).status, 200);
    emulator.tokens.expire('fine');
    t.equal(
      (await call(emulator.url, 'POST', '/conversation', { token: 'fine', body: messageBody('x') }))
        .json.detail.code,
      'token_expired',
    );
    emulator.tokens.invalidate('fine', 'invalid_token');
    t.same((await call(emulator.url, 'GET', '/conversations', { token: 'fine' })).json, {
      detail: 'invalid_token',
    });
    emulator.tokens.allow('fine');
    t.equal((await call(emulator.url, 'GET', '/conversations', { token: 'fine' })).status, 200);
    emulator.tokens.defaultState = 'expired';
    t.equal((await call(emulator.url, 'GET', '/conversations', { token: 'new' })).status, 401);
  },
);

t.test('unknown routes and methods answer like FastAPI', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const unknown = await call(emulator.url, 'GET', '/nothing/here');
  t.equal(unknown.status, 404);
  t.same(unknown.json, { detail: 'Not Found' });
  t.equal((await call(emulator.url.replace('/backend-api', ''), 'GET', '/other')).status, 404);
  t.equal((await call(emulator.url, 'GET', '/conversation')).status, 405);
  t.equal((await call(emulator.url, 'DELETE', '/conversation/abc')).status, 405);
  t.equal((await call(emulator.url, 'GET', '/sentinel/chat-requirements')).status, 405);
  t.equal((await call(emulator.url, 'GET', '/f/conversation')).status, 405);
  t.equal((await call(emulator.url, 'GET', '/f/conversation/prepare')).status, 405);
});

t.test('only one message streams at a time per token', async (t) => {
  const emulator = await createBackendEmulator({ pacingMs: 30, replyWords: 10 });
  t.teardown(() => emulator.close());
  const first = call(emulator.url, 'POST', '/conversation', { body: messageBody('slow') });
  await emulator.waitForRequest((r) => r.path.endsWith('/conversation'));
  await new Promise((r) => setTimeout(r, 20));
  t.equal(emulator.inFlight, 1);
  const second = await call(emulator.url, 'POST', '/conversation', { body: messageBody('again') });
  t.equal(second.status, 429);
  t.match(second.json.detail, /^Only one message at a time/);
  const other = await call(emulator.url, 'POST', '/conversation', {
    token: 'someone-else',
    body: messageBody('x'),
  });
  t.equal(other.status, 200, 'another account is not blocked');
  t.equal((await first).status, 200);
  t.equal(emulator.inFlight, 0);
  t.equal(
    (await call(emulator.url, 'POST', '/conversation', { body: messageBody('later') })).status,
    200,
  );
  emulator.settings.oneAtATime = 409;
  const slow = call(emulator.url, 'POST', '/conversation', { body: messageBody('slow') });
  await new Promise((r) => setTimeout(r, 40));
  t.equal(
    (await call(emulator.url, 'POST', '/conversation', { body: messageBody('x') })).status,
    409,
  );
  await slow;
});

t.test('models can be restricted and mapped', async (t) => {
  const emulator = await createBackendEmulator({
    models: ['auto', 'gpt-4o'],
    modelMap: { 'gpt-4o': 'gpt-4o-2024' },
  });
  t.teardown(() => emulator.close());
  const refused = await call(emulator.url, 'POST', '/conversation', {
    body: messageBody('x', { model: 'gpt-9' }),
  });
  t.equal(refused.status, 404);
  t.equal(refused.json.detail.code, 'model_not_found');
  const ok = legacyText(
    (
      await call(emulator.url, 'POST', '/conversation', {
        body: messageBody('x', { model: 'gpt-4o' }),
      })
    ).text,
  );
  t.equal(ok.last.message.metadata.model_slug, 'gpt-4o-2024');
});

t.test('every request is recorded with method, path, query, headers and parsed body', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  await call(emulator.url, 'GET', '/conversations?offset=0&limit=5', {
    headers: { 'oai-language': 'en-US' },
  });
  await call(emulator.url, 'POST', '/conversation', { body: messageBody('recorded') });
  await call(emulator.url, 'PATCH', '/conversation/x', { body: 'plain text' });
  const [list, post, patch] = emulator.requests;
  t.equal(list!.method, 'GET');
  t.equal(list!.path, '/backend-api/conversations');
  t.same(list!.query, { offset: '0', limit: '5' });
  t.equal(list!.headers['oai-language'], 'en-US');
  t.equal(list!.body, undefined);
  t.equal(list!.status, 200);
  t.equal((post!.body as Json).messages[0].content.parts[0], 'recorded');
  t.equal(patch!.body, 'plain text');
  t.same(await post!.closed, { aborted: false, at: post!.closure!.at });
  t.equal(emulator.requests.map((r) => r.seq).join(), '1,2,3');
  const since = emulator.requests.length;
  const waiting = emulator.waitForRequest((r) => r.method === 'DELETE', { since });
  await call(emulator.url, 'DELETE', '/conversation/x');
  t.equal((await waiting).method, 'DELETE');
  await t.rejects(
    emulator.waitForRequest((r) => r.method === 'PUT', { timeoutMs: 20 }),
    /no matching request/,
  );
  emulator.reset();
  t.equal(emulator.requests.length, 0);
});

t.test(
  'a client that disconnects mid-stream is seen as aborted and its reply is stored interrupted',
  async (t) => {
    const emulator = await createBackendEmulator({ pacingMs: 20, replyWords: 40 });
    t.teardown(() => emulator.close());
    const { done, abort } = rawRequest(`${emulator.url}/conversation`, messageBody('abort me'));
    const res = await done;
    let received = '';
    await new Promise<void>((resolve) => {
      res.on('data', (chunk: Buffer) => {
        received += chunk.toString();
        if (received.split('\n\n').length > 4) resolve();
      });
    });
    const before = Date.now();
    abort();
    const recorded = emulator.requests[0]!;
    const closure = await recorded.closed;
    t.equal(closure.aborted, true);
    t.ok(closure.at - before < 100, 'the close is seen within 100 ms');
    await new Promise((r) => setTimeout(r, 50));
    t.equal(emulator.inFlight, 0);
    const conversation = emulator.conversations.all()[0]!;
    const message = conversation.mapping[conversation.currentNode]!.message!;
    t.equal(message.metadata!.finish_details!.type, 'interrupted');
    t.ok((message.content.parts![0] as string).length < legacyText(received).text.length + 40);
    // the token is free again
    t.equal(
      (await call(emulator.url, 'POST', '/conversation', { body: messageBody('next') })).status,
      200,
    );
  },
);

t.test('chunking by characters and pacing shape the stream', async (t) => {
  const emulator = await createBackendEmulator({
    reply: () => 'abcdefghij',
    chunking: { by: 'char', size: 3 },
    pacingMs: 5,
  });
  t.teardown(() => emulator.close());
  const started = Date.now();
  const reply = await call(emulator.url, 'POST', '/conversation', {
    body: messageBody('x', { supported_encodings: ['v1'] }),
  });
  t.ok(Date.now() - started >= 5 * 10);
  const appends = dataEvents(reply.text).filter((e) => typeof e.v === 'string' && e.v !== 'v1');
  t.same(
    appends.map((e) => String(e.v)),
    ['abc', 'def', 'ghi'],
  );
  t.equal(v1Text(reply.text).text, 'abcdefghij');
});

t.test('an invalid stream profile is refused at start', async (t) => {
  await t.rejects(createBackendEmulator({ streamProfile: 'nope' as never }), RangeError);
});
