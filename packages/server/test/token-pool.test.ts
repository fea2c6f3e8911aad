import { dataPayloads, messageBody } from '@chatgpt-rest/test-kit';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { TokenPool, conversationIdSniffer, isMessagePost } from '@chatgpt-rest/core';
import { start, until } from './helpers.js';

const A = 'token-a-secret';
const B = 'token-b-secret';
const KEY = 'pool-api-key';
const TOKENS = [
  { label: 'a', token: A },
  { label: 'b', token: B },
];
const AUTH = { authorization: `Bearer ${KEY}` };

interface Reply {
  conversation_id: string;
  parent_id: string;
}

async function post(url: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function newConversation(url: string, prompt = 'hello'): Promise<Reply> {
  const response = await post(`${url}/conversations/new`, { prompt });
  if (response.status !== 201) throw new Error(`new conversation: ${response.status}`);
  return ((await response.json()) as { response: Reply }).response;
}

/** The bearer token of the last message POST the emulator received. */
function lastMessageToken(emulator: {
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
}): string | undefined {
  const post = emulator.requests
    .filter((r) => r.method === 'POST' && r.path === '/backend-api/conversation')
    .at(-1);
  return post?.headers.authorization?.replace(/^Bearer /, '');
}

t.test('a conversation sticks to the token that created it', async (t) => {
  const { url, emulator } = await start(t, { tokens: TOKENS, apiKeys: [KEY] });
  const one = await newConversation(url, 'first');
  const oneToken = lastMessageToken(emulator);
  const two = await newConversation(url, 'second');
  const twoToken = lastMessageToken(emulator);
  t.not(oneToken, twoToken, 'two idle tokens share new conversations');
  for (let i = 0; i < 2; i++) {
    for (const [conversation, token] of [
      [one, oneToken],
      [two, twoToken],
    ] as const) {
      const asked = await post(`${url}/conversations/${conversation.conversation_id}/ask`, {
        prompt: `again ${i}`,
      });
      t.equal(asked.status, 201);
      t.equal(lastMessageToken(emulator), token, 'the ask went to the conversation’s token');
    }
  }
  const messages = await fetch(`${url}/conversations/${one.conversation_id}`, { headers: AUTH });
  t.equal(messages.status, 200, 'reads of the conversation go to its token too');
});

t.test('a new conversation goes to the least busy token', async (t) => {
  const { url, emulator } = await start(
    t,
    { tokens: TOKENS, apiKeys: [KEY] },
    { pacingMs: 20, replyWords: 60 },
  );
  emulator.settings.pacingMs = 0;
  const one = await newConversation(url, 'first'); // a
  await newConversation(url, 'second'); // b
  emulator.settings.pacingMs = 20;
  // A long stream keeps a's token busy; a was also picked most recently.
  const streaming = await post(`${url}/conversations/${one.conversation_id}/ask`, {
    prompt: 'long one',
    stream: true,
  });
  t.equal(streaming.status, 200);
  emulator.settings.pacingMs = 0;
  await newConversation(url, 'third');
  t.equal(lastMessageToken(emulator), B, 'the idle token got the new conversation');
  await streaming.text();
});

t.test('a token that got a 401 is taken out of rotation and reported', async (t) => {
  const { url, emulator, logLines } = await start(t, { tokens: TOKENS, apiKeys: [KEY] });
  emulator.tokens.expire(A);
  const refused = await post(`${url}/conversations/new`, { prompt: 'hello' });
  t.equal(refused.status, 401);
  t.equal(((await refused.json()) as { code: string }).code, 'token_expired');
  const ready = await fetch(`${url}/readyz`, { headers: { 'x-api-key': KEY } });
  t.equal(ready.status, 200, 'still ready: b is usable');
  const body = (await ready.json()) as { tokens: { label: string; state: string }[] };
  t.same(
    body.tokens.map((token) => [token.label, token.state]),
    [
      ['a', 'evicted'],
      ['b', 'ok'],
    ],
  );
  const warned = logLines.find((line) => line.includes('out of rotation'));
  t.match(warned, /"label":"a"/);
  for (let i = 0; i < 3; i++) {
    await newConversation(url, `after ${i}`);
    t.equal(lastMessageToken(emulator), B, 'every new conversation avoids the evicted token');
  }
  emulator.tokens.expire(B);
  await post(`${url}/conversations/new`, { prompt: 'last' });
  const none = await post(`${url}/conversations/new`, { prompt: 'nothing left' });
  t.equal(none.status, 503);
  t.equal(((await none.json()) as { code: string }).code, 'upstream_unavailable');
  const notReady = await fetch(`${url}/readyz`, { headers: { 'x-api-key': KEY } });
  t.equal(notReady.status, 503, 'not ready once no token is usable');
  t.notOk(logLines.join('').includes(A), 'no log line holds a token');
});

t.test(
  'a capped token is skipped until it clears and all capped gives the earliest Retry-After',
  async (t) => {
    const { url, emulator } = await start(t, { tokens: TOKENS, apiKeys: [KEY] });
    emulator.inject({
      match: { method: 'POST', path: '/conversation', token: A },
      fault: { type: 'model_cap', clearsIn: 100 },
    });
    const capped = await post(`${url}/conversations/new`, { prompt: 'hello' });
    t.equal(capped.status, 429);
    t.equal(capped.headers.get('retry-after'), '100');
    for (let i = 0; i < 2; i++) {
      await newConversation(url, `then ${i}`);
      t.equal(lastMessageToken(emulator), B, 'the capped token is skipped');
    }
    emulator.inject({
      match: { method: 'POST', path: '/conversation', token: B },
      fault: { type: 'model_cap', clearsIn: 30 },
    });
    t.equal((await post(`${url}/conversations/new`, { prompt: 'cap b' })).status, 429);
    const before = emulator.requests.length;
    const all = await post(`${url}/conversations/new`, { prompt: 'both capped' });
    t.equal(all.status, 429);
    const body = (await all.json()) as { code: string; retry_after: number };
    t.equal(body.code, 'rate_limited');
    t.equal(all.headers.get('retry-after'), '30', 'the earliest cap to clear');
    t.equal(body.retry_after, 30);
    t.equal(emulator.requests.length, before, 'no upstream request while every token is capped');
    const ready = (await (
      await fetch(`${url}/readyz`, { headers: { 'x-api-key': KEY } })
    ).json()) as {
      tokens: { state: string; retryAfter: number }[];
    };
    t.same(
      ready.tokens.map((token) => token.state),
      ['capped', 'capped'],
    );
  },
);

t.test('a cap clears after its time and the token is used again', (t) => {
  let now = 1_000_000;
  const pool = new TokenPool({ tokens: TOKENS, now: () => now });
  pool.observe(
    'a',
    429,
    JSON.stringify({ detail: { code: 'model_cap_exceeded', clears_in: 60, message: 'cap' } }),
  );
  t.equal(pool.pick().label, 'b');
  t.equal(pool.pick().label, 'b', 'a stays skipped while capped');
  now += 61_000;
  t.equal(pool.pick().label, 'a', 'a is back once the cap cleared');
  t.end();
});

t.test('a capped or evicted token refuses its own conversations with a clear error', (t) => {
  const pool = new TokenPool({ tokens: TOKENS });
  pool.remember('conv-a', 'a');
  pool.observe('a', 429, JSON.stringify({ detail: { code: 'model_cap_exceeded', clears_in: 5 } }));
  t.throws(() => pool.pick('conv-a'), { code: 'rate_limited', retryAfter: 5 });
  pool.observe('a', 401, JSON.stringify({ detail: { code: 'token_expired' } }));
  t.throws(() => pool.pick('conv-a'), { code: 'invalid_token' });
  t.equal(pool.pick('unknown').label, 'b', 'other conversations use the remaining token');
  t.end();
});

t.test('a one-at-a-time refusal does not take a token out of rotation', (t) => {
  const pool = new TokenPool({ tokens: TOKENS });
  pool.observe('a', 429, JSON.stringify({ detail: 'Only one message at a time. Please wait.' }));
  pool.observe('a', 500, 'Internal Server Error');
  pool.observe('nobody', 401, '{}');
  t.same(
    pool.status().map((s) => s.state),
    ['ok', 'ok'],
  );
  t.end();
});

t.test('concurrent messages for one token are queued instead of refused upstream', async (t) => {
  const { url, emulator } = await start(
    t,
    { tokens: [{ label: 'only', token: A }], apiKeys: [KEY] },
    { pacingMs: 5, replyWords: 30 },
  );
  const replies = await Promise.all([
    post(`${url}/conversations/new`, { prompt: 'one' }),
    post(`${url}/conversations/new`, { prompt: 'two' }),
    post(`${url}/conversations/new`, { prompt: 'three' }),
  ]);
  t.same(
    replies.map((reply) => reply.status),
    [201, 201, 201],
  );
  const posts = emulator.requests.filter((r) => r.path === '/backend-api/conversation');
  t.equal(posts.length, 3, 'each message reached the upstream once');
  t.same(
    posts.map((p) => p.status),
    [200, 200, 200],
    'the upstream never refused one',
  );
  for (let i = 1; i < posts.length; i++) {
    const previous = await posts[i - 1]?.closed;
    t.ok(
      (posts[i]?.receivedAt ?? 0) >= (previous?.at ?? Infinity),
      'each started after the last ended',
    );
  }
});

t.test('a full queue answers 429 conversation_busy without asking the upstream', async (t) => {
  const { url, emulator } = await start(
    t,
    { tokens: [{ label: 'only', token: A }], apiKeys: [KEY], queueSize: 0 },
    { pacingMs: 20, replyWords: 60 },
  );
  const first = await post(`${url}/conversations/new`, { prompt: 'one', stream: true });
  t.equal(first.status, 200);
  const second = await post(`${url}/conversations/new`, { prompt: 'two' });
  t.equal(second.status, 429);
  t.equal(((await second.json()) as { code: string }).code, 'conversation_busy');
  t.ok(second.headers.get('retry-after'));
  await first.text();
  t.equal(emulator.requests.filter((r) => r.path === '/backend-api/conversation').length, 1);
});

t.test('a queued message whose wait runs out gets 429 conversation_busy', async (t) => {
  const { url } = await start(
    t,
    { tokens: [{ label: 'only', token: A }], apiKeys: [KEY], queueSize: 2, queueWait: 100 },
    { pacingMs: 30, replyWords: 80 },
  );
  const first = await post(`${url}/conversations/new`, { prompt: 'one', stream: true });
  const started = Date.now();
  const second = await post(`${url}/conversations/new`, { prompt: 'two' });
  t.equal(second.status, 429);
  t.equal(((await second.json()) as { code: string }).code, 'conversation_busy');
  t.ok(Date.now() - started >= 90, 'it waited for the configured time');
  await first.body?.cancel();
});

t.test('a queued message whose client leaves gives up its place', async (t) => {
  const pool = new TokenPool({ tokens: [{ label: 'only', token: A }], queueSize: 1 });
  const release = await pool.acquireMessageSlot('only');
  const controller = new AbortController();
  const waiting = pool.acquireMessageSlot('only', controller.signal);
  t.equal(pool.status()[0]?.queued, 1);
  controller.abort(new Error('client left'));
  await t.rejects(waiting, { message: 'client left' });
  t.equal(pool.status()[0]?.queued, 0);
  await t.rejects(pool.acquireMessageSlot('only', AbortSignal.abort(new Error('gone'))), {
    message: 'gone',
  });
  release();
  release();
  const again = await pool.acquireMessageSlot('only');
  again();
  t.equal(await pool.acquireMessageSlot('nobody').then((free) => typeof free), 'function');
});

t.test('messages through the pass-through share the same per-token queue', async (t) => {
  const { url, emulator } = await start(
    t,
    { tokens: [{ label: 'only', token: A }], apiKeys: [KEY] },
    { pacingMs: 5, replyWords: 30 },
  );
  const send = (): Promise<Response> =>
    fetch(`${url}/backend-api/conversation`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(messageBody('hi')),
    });
  const [raw, rest] = await Promise.all([
    send(),
    post(`${url}/conversations/new`, { prompt: 'two' }),
  ]);
  t.equal(raw.status, 200);
  t.ok((await raw.text()).includes('[DONE]'));
  t.equal(rest.status, 201);
  const posts = emulator.requests.filter((r) => r.path === '/backend-api/conversation');
  t.same(
    posts.map((p) => p.status),
    [200, 200],
    'the upstream never refused one',
  );
});

t.test('a conversation started through the pass-through sticks to its token', async (t) => {
  const { url, emulator } = await start(t, { tokens: TOKENS, apiKeys: [KEY] });
  const send = async (body: Record<string, unknown>): Promise<string> => {
    const response = await fetch(`${url}/backend-api/conversation`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return response.text();
  };
  await newConversation(url, 'warm up a'); // a was picked last
  const text = await send(messageBody('hello'));
  const used = lastMessageToken(emulator);
  t.equal(used, B);
  const payloads = dataPayloads(text).filter(
    (p): p is { conversation_id: string; message: { id: string; author: { role: string } } } =>
      typeof p === 'object' && p !== null && 'message' in p,
  );
  const reply = payloads.filter((p) => p.message.author.role === 'assistant').at(-1);
  for (let i = 0; i < 2; i++) {
    await send(
      messageBody('more', {
        parent_message_id: reply?.message.id ?? '',
        conversation_id: reply?.conversation_id,
      }),
    );
    t.equal(lastMessageToken(emulator), B, 'the follow-up used the same token');
  }
  const asked = await post(`${url}/conversations/${reply?.conversation_id ?? ''}/ask`, {
    prompt: 'through REST now',
  });
  t.equal(asked.status, 201, 'the REST API finds it on the same token');
  t.equal(lastMessageToken(emulator), B);
});

t.test('a 401 seen by the pass-through evicts the token', async (t) => {
  const { url, emulator, sidecar } = await start(t, { tokens: TOKENS, apiKeys: [KEY] });
  emulator.tokens.invalidate(A);
  const response = await fetch(`${url}/backend-api/conversations`, { headers: AUTH });
  t.equal(response.status, 401, 'the upstream answer is passed on');
  t.match(await response.text(), /invalid_jwt|detail/);
  await until(() => sidecar.pool?.status()[0]?.state === 'evicted');
  t.equal(sidecar.pool?.status()[0]?.reason, 'invalid_token');
  const next = await fetch(`${url}/backend-api/conversations`, { headers: AUTH });
  t.equal(next.status, 200);
  t.equal(emulator.requests.at(-1)?.headers.authorization, `Bearer ${B}`);
});

t.test('a lease counts its request, holds the message slot and learns for its token', async (t) => {
  const pool = new TokenPool({ tokens: [{ label: 'only', token: A }], queueSize: 1 });
  pool.pick();
  const plain = await pool.lease('only', { message: false });
  const message = await pool.lease('only', { message: true });
  t.equal(pool.status()[0]?.inFlight, 2, 'both requests count');
  const controller = new AbortController();
  const waiting = pool.lease('only', { message: true, signal: controller.signal });
  t.equal(pool.status()[0]?.queued, 1, 'a second message waits for the slot');
  controller.abort(new Error('client left'));
  await t.rejects(waiting, { message: 'client left' });
  t.equal(pool.status()[0]?.inFlight, 2, 'a lease that was never granted counts nothing');
  message.release();
  message.release();
  plain.release();
  t.equal(pool.status()[0]?.inFlight, 0, 'release is idempotent');
  const next = await pool.lease('only', { message: true });
  message.remember('11111111-2222-3333-4444-555555555555');
  next.observe(401, JSON.stringify({ detail: { code: 'token_expired' } }));
  next.release();
  t.equal(pool.status()[0]?.state, 'evicted');
  t.throws(() => pool.pick('11111111-2222-3333-4444-555555555555'), { code: 'invalid_token' });
  const stranger = await pool.lease('nobody', { message: true });
  stranger.observe(401, '{}');
  stranger.release();
  t.equal(pool.status().length, 1, 'a label the pool does not hold gets a lease that does nothing');
});

t.test('one message-POST test and one conversation-id sniffer for core and pass-through', (t) => {
  t.ok(isMessagePost('POST', '/conversation'));
  t.ok(isMessagePost('post', '/f/conversation?x=1'));
  t.ok(isMessagePost('POST', '/backend-api/conversation'), 'a whole URL path ends the same way');
  t.notOk(isMessagePost('GET', '/conversation'));
  t.notOk(isMessagePost('POST', '/f/conversation/prepare'));
  t.notOk(isMessagePost('POST', '/conversation/gen_title/abc'));
  const found: string[] = [];
  const id = '0f0e0d0c-0b0a-4999-8888-777766665555';
  const sniff = conversationIdSniffer((value) => found.push(value));
  sniff(new TextEncoder().encode('data: {"conversation_'));
  sniff(new TextEncoder().encode(`id": "${id}"}\n\n`));
  sniff(new TextEncoder().encode(`data: {"conversation_id": "${id.replace('0f', 'ff')}"}`));
  t.same(found, [id], 'the first id, across chunks, once');
  const late: string[] = [];
  const capped = conversationIdSniffer((value) => late.push(value));
  capped(new Uint8Array(64 * 1024).fill(0x20));
  capped(new TextEncoder().encode(`{"conversation_id":"${id}"}`));
  t.same(late, [], 'nothing past the first 64 KiB is searched');
  t.end();
});

t.test(
  'the sniffer searches each byte of a stream cut into 1-byte chunks a bounded number of times',
  (t) => {
    // It searched all the text gathered so far at each chunk: 64 KiB of 1-byte chunks without an
    // id scanned 2 billion characters (0.3 s of one stream's CPU).
    // Counting what every search reads: the original is called on its own regex, then put back.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const exec = RegExp.prototype.exec;
    let scanned = 0;
    RegExp.prototype.exec = function (this: RegExp, input: string) {
      scanned += input.length;
      return exec.call(this, input);
    };
    const found: string[] = [];
    try {
      const sniff = conversationIdSniffer((value) => found.push(value));
      const bytes = new TextEncoder().encode(
        `${'x'.repeat(30_000)}{"conversation_id" :  "0f0e0d0c-0b0a-4999-8888-777766665555"}`,
      );
      for (let i = 0; i < bytes.length; i++) sniff(bytes.subarray(i, i + 1));
    } finally {
      RegExp.prototype.exec = exec;
    }
    t.same(found, ['0f0e0d0c-0b0a-4999-8888-777766665555'], 'an id split byte by byte is found');
    t.ok(scanned < 30_100 * 200, `${scanned} characters scanned for 30,100 bytes`);
    t.end();
  },
);

t.test(
  'a cap the pass-through sees only in Retry-After parks the token (the pool learns the header too)',
  async (t) => {
    const upstream = http.createServer((req, res) => {
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '77' });
      res.end(JSON.stringify({ detail: 'Too many requests in 1 hour. Try again later.' }));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    t.teardown(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
    const { port } = upstream.address() as AddressInfo;
    const { url } = await start(t, {
      upstream: `http://127.0.0.1:${port}/backend-api`,
      tokens: [{ label: 'only', token: A }],
      apiKeys: [KEY],
    });
    const refused = await fetch(`${url}/backend-api/conversation`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(messageBody('hi')),
    });
    t.equal(refused.status, 429, 'relayed as the upstream answered');
    await refused.text();
    const ready = (await (
      await fetch(`${url}/readyz`, { headers: { 'x-api-key': KEY } })
    ).json()) as { tokens: { label: string; state: string; retryAfter?: number }[] };
    t.equal(ready.tokens[0]?.state, 'capped', 'the token is parked');
    t.ok((ready.tokens[0]?.retryAfter ?? 0) > 70, 'until the Retry-After the upstream gave');
  },
);
