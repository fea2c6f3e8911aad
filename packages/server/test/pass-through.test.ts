import { dataPayloads, messageBody } from '@chatgpt-rest/test-kit';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { delay, raw, rawSocket, start } from './helpers.js';

const HELD = 'held-token-1';
const KEY = 'client-api-key-1';

interface StreamPayload {
  message?: { id: string; author: { role: string } } | null;
  conversation_id?: string;
}

/** The conversation id and the assistant message id of a legacy stream. */
function replyOf(text: string): { conversationId: string; messageId: string } {
  const payloads = dataPayloads(text).filter(
    (value): value is StreamPayload => typeof value === 'object' && value !== null,
  );
  const assistant = payloads.filter((p) => p.message?.author.role === 'assistant').at(-1);
  return {
    conversationId: assistant?.conversation_id ?? '',
    messageId: assistant?.message?.id ?? '',
  };
}

t.test(
  'a raw-protocol client completes a multi-turn conversation through the pass-through with the held token injected and its API key stripped',
  async (t) => {
    const { url, emulator } = await start(t, {
      tokens: [{ label: 'main', token: HELD }],
      apiKeys: [KEY],
    });
    // The client only knows a reverse-proxy base URL, as revChatGPT's CHATGPT_BASE_URL.
    const base = `${url}/backend-api`;
    const headers = {
      authorization: `Bearer ${KEY}`,
      'x-api-key': KEY,
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'x-forwarded-for': '203.0.113.9',
    };
    const first = await fetch(`${base}/conversation`, {
      method: 'POST',
      headers,
      body: JSON.stringify(messageBody('Hello')),
    });
    t.equal(first.status, 200);
    t.match(first.headers.get('content-type'), /text\/event-stream/);
    const firstText = await first.text();
    t.ok(firstText.includes('data: [DONE]'), 'the stream arrives whole');
    const turn1 = replyOf(firstText);
    t.match(turn1.conversationId, /^[0-9a-f-]{36}$/);

    const second = await fetch(`${base}/conversation`, {
      method: 'POST',
      headers,
      body: JSON.stringify(
        messageBody('And then?', {
          parent_message_id: turn1.messageId,
          conversation_id: turn1.conversationId,
        }),
      ),
    });
    t.equal(second.status, 200);
    const turn2 = replyOf(await second.text());
    t.equal(turn2.conversationId, turn1.conversationId, 'the second turn continues the first');

    const tree = await fetch(`${base}/conversation/${turn1.conversationId}`, { headers });
    const body = (await tree.json()) as {
      mapping: Record<string, { message?: { author: { role: string } } }>;
    };
    const users = Object.values(body.mapping).filter((n) => n.message?.author.role === 'user');
    t.equal(users.length, 2, 'the upstream holds both user messages');

    const titled = await fetch(`${base}/conversation/gen_title/${turn1.conversationId}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ message_id: turn1.messageId, model: 'auto' }),
    });
    t.equal(titled.status, 200);

    t.equal(emulator.requests.length, 4);
    for (const request of emulator.requests) {
      t.equal(
        request.headers.authorization,
        `Bearer ${HELD}`,
        `${request.path} carries the held token`,
      );
      t.notOk('x-api-key' in request.headers, 'no X-API-Key upstream');
      t.notOk('x-forwarded-for' in request.headers, 'no X-Forwarded-For upstream');
      t.notOk(JSON.stringify(request.headers).includes(KEY), 'the API key appears in no header');
    }
  },
);

t.test('a wrong API key gets 401 and never reaches the upstream', async (t) => {
  const { port, emulator } = await start(t, {
    tokens: [{ label: 'main', token: HELD }],
    apiKeys: [KEY],
  });
  const reply = await raw(port, 'GET', '/backend-api/conversations', {
    authorization: 'Bearer not-the-key',
  });
  t.equal(reply.status, 401);
  t.equal(JSON.parse(reply.body).code, 'invalid_token');
  t.equal(emulator.requests.length, 0);
});

t.test(
  "in passthrough mode the client's bare access token is forwarded as Bearer and forwarding headers are dropped",
  async (t) => {
    const { port, emulator } = await start(t);
    const reply = await raw(port, 'GET', '/backend-api/conversations?offset=0&limit=3', {
      authorization: 'client-token-7',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      forwarded: 'for=203.0.113.9',
      'x-real-ip': '203.0.113.9',
      host: 'evil.example',
    });
    t.equal(reply.status, 200);
    const [request] = emulator.requests;
    t.equal(request?.headers.authorization, 'Bearer client-token-7');
    t.equal(request?.query.limit, '3', 'the query is kept');
    for (const name of [
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
      'forwarded',
      'x-real-ip',
    ]) {
      t.notOk(name in (request?.headers ?? {}), `${name} is not forwarded`);
    }
    t.equal(
      request?.headers.host,
      `127.0.0.1:${emulator.port}`,
      'Host names the configured upstream',
    );
  },
);

t.test(
  'a pass-through request without any token gets 401 and never reaches the upstream',
  async (t) => {
    const { port, emulator } = await start(t);
    const reply = await raw(port, 'GET', '/backend-api/conversations');
    t.equal(reply.status, 401);
    t.equal(JSON.parse(reply.body).code, 'missing_token');
    t.equal(emulator.requests.length, 0);
  },
);

const TARGETS: [string, string][] = [
  ['//evil/x', 'GET //evil/x'],
  ['/\\evil/x', 'GET /\\evil/x'],
  ['http://evil/x', 'GET http://evil/x'],
  ['/backend-api/../x', 'GET /backend-api/../x'],
  ['/backend-api/conversation/../../x', 'GET /backend-api/conversation/../../x'],
  ['/backend-api/%2e%2e/x', 'GET /backend-api/%2e%2e/x'],
  ['/backend-api/%2E%2E/conversations', 'GET /backend-api/%2E%2E/conversations'],
  ['/backend-api/conversation%2f..%2fx', 'GET /backend-api/conversation%2f..%2fx'],
  ['/backend-api//evil/x', 'GET /backend-api//evil/x'],
  ['/backend-api/./conversations', 'GET /backend-api/./conversations'],
];

for (const [target] of TARGETS) {
  t.test(`a request target of ${target} gets 400 and never reaches the upstream`, async (t) => {
    const { port, emulator } = await start(t);
    const reply = await raw(port, 'GET', target, { authorization: 'Bearer client-token' });
    t.equal(reply.status, 400);
    t.match(reply.headers['content-type'], /application\/json/);
    t.equal(JSON.parse(reply.body).code, 'invalid_request');
    t.equal(emulator.requests.length, 0);
  });
}

t.test('an unparsable request gets a 400 JSON answer and the server stays up', async (t) => {
  const { port } = await start(t);
  const answer = await rawSocket(port, 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n');
  t.match(answer, /^HTTP\/1\.1 400/);
  t.match(answer, /"code":"invalid_request"/);
  t.equal((await raw(port, 'GET', '/healthz')).status, 200);
});

t.test(
  'a backend path outside the allowlist gets 404 and never reaches the upstream',
  async (t) => {
    const { port, emulator } = await start(t);
    const reply = await raw(port, 'GET', '/backend-api/accounts/check', {
      authorization: 'Bearer client-token',
    });
    t.equal(reply.status, 404);
    t.equal(JSON.parse(reply.body).code, 'not_found');
    t.equal(emulator.requests.length, 0);
  },
);

t.test(
  'a method outside the allowlist gets 405 with Allow and never reaches the upstream',
  async (t) => {
    const { port, emulator } = await start(t);
    const reply = await raw(port, 'DELETE', `/backend-api/conversation/${crypto.randomUUID()}`, {
      authorization: 'Bearer client-token',
    });
    t.equal(reply.status, 405);
    t.equal(reply.headers.allow, 'GET, PATCH');
    t.equal(JSON.parse(reply.body).code, 'method_not_allowed');
    t.equal(emulator.requests.length, 0);
  },
);

t.test('a configured allowlist replaces the default one', async (t) => {
  const { port, emulator } = await start(t, { passThroughAllow: ['GET /conversations'] });
  const listed = await raw(port, 'GET', '/backend-api/conversations', {
    authorization: 'Bearer client-token',
  });
  t.equal(listed.status, 200);
  const refused = await raw(
    port,
    'POST',
    '/backend-api/conversation',
    { authorization: 'Bearer client-token', 'content-type': 'application/json' },
    JSON.stringify(messageBody('hi')),
  );
  t.equal(refused.status, 404);
  t.equal(emulator.requests.length, 1);
});

t.test('an empty allowlist turns the pass-through off', async (t) => {
  const { port, emulator } = await start(t, { passThroughAllow: [] });
  const reply = await raw(port, 'GET', '/backend-api/conversations', {
    authorization: 'Bearer client-token',
  });
  t.equal(reply.status, 404);
  t.equal(emulator.requests.length, 0);
});

t.test('a request body over the limit gets 413 and never reaches the upstream', async (t) => {
  const { port, emulator } = await start(t, { core: { limits: { body: 1000 } } });
  const reply = await raw(
    port,
    'POST',
    '/backend-api/conversation',
    { authorization: 'Bearer client-token', 'content-type': 'application/json' },
    JSON.stringify(messageBody('x'.repeat(2000))),
  );
  t.equal(reply.status, 413);
  t.equal(JSON.parse(reply.body).code, 'payload_too_large');
  t.equal(emulator.requests.length, 0);
});

t.test('hop-by-hop headers named in Connection are stripped both ways', async (t) => {
  const seen: http.IncomingHttpHeaders[] = [];
  let connections = 0;
  const upstream = http.createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, {
      'content-type': 'application/json',
      connection: 'keep-alive, X-Upstream-Hop',
      'x-upstream-hop': 'internal',
      'keep-alive': 'timeout=5',
      'x-end-to-end': 'kept',
    });
    res.end('{"items":[],"total":0}');
  });
  upstream.on('connection', () => (connections += 1));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  t.teardown(() => {
    upstream.closeAllConnections();
    upstream.close();
  });
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const { port } = await start(t, { upstream: `http://127.0.0.1:${upstreamPort}/backend-api` });

  const reply = await raw(port, 'GET', '/backend-api/conversations', {
    authorization: 'Bearer client-token',
    connection: 'keep-alive, X-Client-Hop',
    'x-client-hop': 'secret',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    'proxy-authorization': 'Basic eDp5',
    'x-end-to-end': 'kept',
  });
  t.equal(reply.status, 200);
  const request = seen[0] ?? {};
  t.equal(request['x-end-to-end'], 'kept', 'end-to-end request headers pass');
  for (const name of ['x-client-hop', 'te', 'proxy-authorization', 'keep-alive']) {
    t.notOk(name in request, `request header ${name} is stripped`);
  }
  t.notMatch(request.connection ?? '', /x-client-hop/i);
  t.equal(reply.headers['x-end-to-end'], 'kept', 'end-to-end response headers pass');
  t.notOk('x-upstream-hop' in reply.headers, 'response header named in Connection is stripped');
  t.notMatch(reply.headers.connection ?? '', /x-upstream-hop/i);

  await raw(port, 'GET', '/backend-api/conversations', { authorization: 'Bearer client-token' });
  t.equal(seen.length, 2);
  t.equal(connections, 1, 'the keep-alive agent reuses one upstream connection');
});

t.test('an upstream reset mid-stream destroys the client connection', async (t) => {
  const { port, emulator } = await start(t, {}, { pacingMs: 5 });
  emulator.inject({
    match: { method: 'POST', path: '/conversation' },
    fault: { type: 'reset', afterEvents: 3 },
  });
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/backend-api/conversation',
    headers: { authorization: 'Bearer client-token', 'content-type': 'application/json' },
    agent: false,
  });
  req.end(JSON.stringify(messageBody('hello')));
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  t.equal(res.statusCode, 200);
  let text = '';
  res.setEncoding('utf8');
  const outcome = await new Promise<string>((resolve) => {
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve('clean end'));
    res.on('error', () => resolve('cut'));
    res.on('aborted', () => resolve('cut'));
  });
  t.equal(outcome, 'cut', 'the client sees a cut connection, not a complete reply');
  t.ok(text.length > 0, 'the events before the reset were passed on');
  t.notOk(text.includes('[DONE]'));
});

t.test('ECONNREFUSED upstream gives 503 and the server stays up', async (t) => {
  const closed = http.createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const deadPort = (closed.address() as AddressInfo).port;
  closed.close();
  const { port } = await start(t, { upstream: `http://127.0.0.1:${deadPort}/backend-api` });
  for (let i = 0; i < 2; i++) {
    const reply = await raw(port, 'GET', '/backend-api/conversations', {
      authorization: 'Bearer client-token',
    });
    t.equal(reply.status, 503);
    t.equal(JSON.parse(reply.body).code, 'upstream_unavailable');
  }
  t.equal((await raw(port, 'GET', '/healthz')).status, 200, 'the process is still serving');
});

t.test('an upstream that sends no headers in time gets 504', async (t) => {
  const { port, emulator } = await start(t, { core: { timeouts: { idle: 150 } } });
  emulator.inject({ fault: { type: 'stall_before_headers', ms: 2000 } });
  const reply = await raw(port, 'GET', '/backend-api/conversations', {
    authorization: 'Bearer client-token',
  });
  t.equal(reply.status, 504);
  t.equal(JSON.parse(reply.body).code, 'upstream_timeout');
});

t.test('a client that leaves mid-stream aborts the upstream request', async (t) => {
  const { port, emulator } = await start(t, {}, { pacingMs: 20, replyWords: 200 });
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/backend-api/conversation',
    headers: { authorization: 'Bearer client-token', 'content-type': 'application/json' },
    agent: false,
  });
  req.end(JSON.stringify(messageBody('hello')));
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  await once(res, 'data');
  req.destroy();
  const upstream = emulator.requests.find((r) => r.path === '/backend-api/conversation');
  const closure = await upstream?.closed;
  t.equal(closure?.aborted, true, 'the emulator saw the upstream request abandoned');
  await delay(10);
});
