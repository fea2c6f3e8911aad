import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import {
  createHandler,
  createNodeListener,
  type ChatGptRestOptions,
  type Logger,
} from '../src/index.js';
import { createBackendEmulator, type BackendEmulator } from '@chatgpt-rest/emulator';

const CANARY = 'CANARY-eyJhbGciOiJSUzI1NiJ9.secret-token-value';

function capturingLogger(lines: string[]): Logger {
  const write = (obj: object, msg?: string): void => {
    lines.push(JSON.stringify(obj) + (msg ?? ''));
  };
  return { debug: write, info: write, warn: write, error: write };
}

async function setup(
  t: Test,
  options: ChatGptRestOptions = {},
): Promise<{
  emulator: BackendEmulator;
  call: (path: string, init?: RequestInit) => Promise<Response>;
  logs: string[];
}> {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  const logs: string[] = [];
  const handler = createHandler({
    upstream: emulator.url,
    logger: capturingLogger(logs),
    ...options,
  });
  const call = (path: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', CANARY);
    if (init.body !== undefined && !headers.has('content-type'))
      headers.set('content-type', 'application/json');
    return handler(new Request(`http://api.local${path}`, { ...init, headers }));
  };
  return { emulator, call, logs };
}

t.test('a canary token never appears in any response body or log line', async (t) => {
  const { emulator, call, logs } = await setup(t);
  const bodies: string[] = [];
  const faults = [
    { type: 'token_expired' },
    { type: 'invalid_token' },
    { type: 'cloudflare' },
    { type: 'server_error' },
    { type: 'stream_error', message: `leaked ${CANARY}` },
    { type: 'http', status: 500, body: `Internal error for Bearer ${CANARY}` },
    { type: 'reset', afterEvents: 2 },
  ] as const;
  for (const fault of faults) {
    emulator.inject({ match: { method: 'POST' }, fault });
    const response = await call('/conversations/new', { method: 'POST', body: '{"prompt":"x"}' });
    bodies.push(await response.text());
  }
  bodies.push(await (await call('/conversations/not-a-uuid')).text());
  bodies.push(await (await call('/conversations/new', { method: 'POST', body: '{' })).text());
  const created = await call('/conversations/new', { method: 'POST', body: '{"prompt":"ok"}' });
  bodies.push(await created.text());
  for (const text of [...bodies, ...logs])
    t.notOk(text.includes(CANARY), `no canary in: ${text.slice(0, 80)}`);
  t.notOk(bodies.some((b) => b.includes('secret-token-value')));
  t.ok(logs.length > 0, 'failures were logged');
  const upstreamAuth = emulator.requests.map((r) => r.headers.authorization);
  t.ok(
    upstreamAuth.every((a) => a === `Bearer ${CANARY}`),
    'the upstream got the token as Bearer',
  );
});

t.test('a bug becomes a 500 internal_error with a request id and no details', async (t) => {
  const logs: string[] = [];
  const handler = createHandler({
    upstream: 'http://upstream.invalid/backend-api',
    logger: capturingLogger(logs),
    // A fetch whose answer breaks our code path in a way no RestError covers.
    fetch: () =>
      Promise.resolve({
        ok: true,
        status: 200,
        get headers(): Headers {
          throw new TypeError(`boom ${CANARY}`);
        },
      } as unknown as Response),
  });
  const response = await handler(
    new Request('http://api.local/conversations', { headers: { authorization: CANARY } }),
  );
  t.equal(response.status, 500);
  const body = (await response.json()) as { code: string; error: string };
  t.equal(body.code, 'internal_error');
  t.match(body.error, /request id \w+/);
  t.notMatch(body.error, /boom|TypeError/);
  t.ok(logs.some((l) => l.includes('internal error')));
  t.notOk(logs.some((l) => l.includes(CANARY)));
});

t.test('an unknown route is a 404 not_found and handles() says which paths are ours', async (t) => {
  const { call } = await setup(t);
  const response = await call('/nope');
  t.equal(response.status, 404);
  t.match(await response.json(), { code: 'not_found' });
  const handler = createHandler({ prefix: '/chat' });
  t.ok(handler.handles('/chat/conversations'));
  t.ok(handler.handles('/chat/conversations/x/ask'));
  t.notOk(handler.handles('/conversations'));
  t.notOk(handler.handles('/chat/other'));
  t.same(
    handler.routes.map((r) => r.path),
    [
      '/openapi.json',
      '/conversations',
      '/conversations/new',
      '/conversations/all',
      '/conversations/:id',
      '/conversations/:id/ask',
      '/conversations/:id/regenerate',
      '/conversations/:id/messages',
      '/v1/chat/completions',
      '/v1/models',
      '/v1/models/:id',
    ],
  );
});

t.test('a stream that goes quiet sends a ping comment', async (t) => {
  const { emulator, call } = await setup(t, { pingInterval: 20 });
  emulator.settings.pacingMs = 80;
  const response = await call('/conversations/new', {
    method: 'POST',
    body: '{"prompt":"slow"}',
    headers: { accept: 'text/event-stream' },
  });
  const text = await response.text();
  t.match(text, /^: ping$/m);
  t.match(text, /event: done/);
});

t.test('autocontinue stops after the configured number of continues', async (t) => {
  const { emulator, call } = await setup(t, { autocontinueLimit: 1 });
  emulator.settings.maxTokens = 3;
  emulator.settings.replyWords = 40;
  const response = await call('/conversations/new', {
    method: 'POST',
    body: '{"prompt":"very long","autocontinue":true}',
  });
  const { response: reply } = (await response.json()) as { response: { finish_details: string } };
  t.equal(reply.finish_details, 'max_tokens', 'still cut after one continue');
  const continues = emulator.requests.filter(
    (r) => (r.body as { action?: string } | undefined)?.action === 'continue',
  );
  t.equal(continues.length, 1);
});

t.test('a rename drops the cached tree so the next read asks the upstream', async (t) => {
  const { emulator, call } = await setup(t);
  const created = (await (
    await call('/conversations/new', { method: 'POST', body: '{"prompt":"x"}' })
  ).json()) as {
    response: { conversation_id: string };
  };
  const id = created.response.conversation_id;
  await call(`/conversations/${id}/messages`);
  const mark = emulator.requests.length;
  await call(`/conversations/${id}/messages`);
  t.equal(emulator.requests.length, mark, 'served from the cache');
  await call(`/conversations/${id}`, { method: 'PATCH', body: '{"title":"New"}' });
  const afterRename = emulator.requests.length;
  await call(`/conversations/${id}/messages`);
  t.equal(emulator.requests.length, afterRename + 1, 'the rename invalidated the cache');
});

t.test('with the cache off every read goes upstream', async (t) => {
  const { emulator, call } = await setup(t, { cache: false });
  const created = (await (
    await call('/conversations/new', { method: 'POST', body: '{"prompt":"x"}' })
  ).json()) as {
    response: { conversation_id: string };
  };
  const mark = emulator.requests.length;
  await call(`/conversations/${created.response.conversation_id}/messages`);
  t.equal(emulator.requests.length, mark + 1);
});

t.test('server-held tokens: API keys are required and the held token goes upstream', async (t) => {
  const { emulator, call } = await setup(t, {
    auth: {
      mode: 'server',
      tokens: [{ label: 'main', token: CANARY }],
      apiKeys: ['key-1', 'key-2'],
    },
  });
  t.equal(
    (await call('/conversations', { headers: { authorization: 'Bearer key-2' } })).status,
    200,
  );
  t.equal((await call('/conversations', { headers: { 'x-api-key': 'key-1' } })).status, 200);
  const wrong = await call('/conversations', { headers: { authorization: 'Bearer nope' } });
  t.equal(wrong.status, 401);
  t.match(await wrong.json(), { code: 'invalid_token' });
  const none = await call('/conversations', { headers: { authorization: '' } });
  t.equal(none.status, 401);
  t.ok(emulator.requests.every((r) => r.headers.authorization === `Bearer ${CANARY}`));
});

t.test(
  'a client that leaves before the upstream answered gets nothing and aborts the upstream',
  async (t) => {
    const { emulator } = await setup(t);
    const handler = createHandler({ upstream: emulator.url });
    emulator.inject({ fault: { type: 'stall_before_headers', ms: 2000 } });
    const controller = new AbortController();
    const pending = handler(
      new Request('http://api.local/conversations', {
        headers: { authorization: 'x' },
        signal: controller.signal,
      }),
    );
    const upstream = await emulator.waitForRequest();
    controller.abort();
    const response = await pending;
    t.equal(response.status, 499);
    const closure = await upstream.closed;
    t.equal(closure.aborted, true);
  },
);

t.test('a client leaving a stream is not logged as an internal error', async (t) => {
  const { emulator, logs } = await setup(t);
  emulator.settings.pacingMs = 30;
  const handler = createHandler({ upstream: emulator.url, logger: capturingLogger(logs) });
  const server = createServer(createNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${port}/conversations/new`, {
    method: 'POST',
    headers: {
      authorization: 'x',
      'content-type': 'application/json',
      accept: 'text/event-stream',
    },
    body: '{"prompt":"long"}',
    signal: controller.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  controller.abort();
  const upstream = emulator.requests.find((r) => r.method === 'POST');
  t.equal((await upstream?.closed)?.aborted, true, 'the upstream was aborted');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.notOk(
    logs.some((line) => line.includes('internal error')),
    logs.join('\n'),
  );
});
