import { messageBody } from '@chatgpt-rest/test-kit';
import { once } from 'node:events';
import http from 'node:http';
import t from 'tap';
import { createJsonLogger } from '../src/logger.js';
import { resolveDialect } from '@chatgpt-rest/core';
import { checkRequestTarget } from '../src/request-target.js';
import { delay, raw, start } from './helpers.js';

const CANARY_TOKEN = 'canary-token-5f1d2c9e';
const CANARY_KEY = 'canary-key-a77b31e0';

/**
 * An upstream nobody answers: the discard port, refused on loopback. (A port freed by closing a
 * server could be handed to another test's server running in parallel, which then answers.)
 */
function deadUpstream(): Promise<string> {
  return Promise.resolve('http://127.0.0.1:9/backend-api');
}

t.test('GET /healthz answers 200 while the process is up, whatever the upstream', async (t) => {
  const { port } = await start(t, { upstream: await deadUpstream() });
  const reply = await raw(port, 'GET', '/healthz');
  t.equal(reply.status, 200);
  t.same(JSON.parse(reply.body), { status: 'ok' });
});

t.test('GET /readyz is ready when the upstream answers, without sending any token', async (t) => {
  const { port, emulator } = await start(t);
  const reply = await raw(port, 'GET', '/readyz');
  t.equal(reply.status, 200);
  // Passthrough mode has no API keys, so nobody gets the details.
  t.same(JSON.parse(reply.body), { status: 'ready' });
  t.equal(emulator.requests.length, 1);
  t.notOk('authorization' in (emulator.requests[0]?.headers ?? {}));
});

t.test('GET /readyz is 503 when the upstream cannot be reached', async (t) => {
  const { port } = await start(t, { upstream: await deadUpstream() });
  const reply = await raw(port, 'GET', '/readyz');
  t.equal(reply.status, 503);
  t.same(JSON.parse(reply.body), { status: 'not_ready' });
});

t.test(
  'every request writes one JSON log line with its facts and never a token or key',
  async (t) => {
    const { url, port, emulator, logLines, logs } = await start(t, {
      tokens: [{ label: 'canary', token: CANARY_TOKEN }],
      apiKeys: [CANARY_KEY],
    });
    const headers = { authorization: `Bearer ${CANARY_KEY}`, 'content-type': 'application/json' };
    const created = await fetch(`${url}/conversations/new`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ prompt: 'hello' }),
    });
    t.equal(created.status, 201);
    await fetch(`${url}/backend-api/conversations`, { headers });
    await fetch(`${url}/conversations`, { headers: { authorization: 'Bearer wrong-key' } });
    await fetch(`${url}/backend-api/conversation`, {
      method: 'POST',
      headers,
      body: JSON.stringify(messageBody('hi')),
    }).then((r) => r.text());
    emulator.tokens.expire(CANARY_TOKEN);
    await fetch(`${url}/conversations`, { headers });
    await raw(port, 'GET', '/backend-api/../etc', { authorization: `Bearer ${CANARY_KEY}` });
    await delay(20);

    const requestLines = logs().filter((line) => line.msg === 'request');
    t.equal(requestLines.length, 6, 'one line per request');
    t.match(requestLines[0], {
      level: 30,
      method: 'POST',
      route: '/conversations/new',
      status: 201,
      principal: 'canary',
      upstreamStatus: 200,
    });
    t.type(requestLines[0]?.durationMs, 'number');
    t.match(requestLines[1], {
      route: '/backend-api/conversations',
      status: 200,
      principal: 'canary',
    });
    t.match(requestLines[2], {
      route: '/conversations',
      status: 401,
      principal: '-',
      upstreamStatus: null,
    });
    t.match(requestLines[3], {
      route: '/backend-api/conversation',
      status: 200,
      upstreamStatus: 200,
    });
    t.match(requestLines[4], { status: 401, upstreamStatus: 401 });
    t.match(requestLines[5], { route: '(invalid target)', status: 400 });
    const all = logLines.join('');
    t.notOk(all.includes(CANARY_TOKEN), 'the access token is in no log line');
    t.notOk(all.includes(CANARY_KEY), 'the API key is in no log line');
  },
);

t.test('a passthrough client token never reaches the log either', async (t) => {
  const { url, logLines, logs } = await start(t);
  await fetch(`${url}/conversations`, { headers: { authorization: CANARY_TOKEN } });
  await fetch(`${url}/backend-api/conversations`, { headers: { authorization: CANARY_TOKEN } });
  await fetch(`${url}/conversations/not-a-uuid/messages`, {
    headers: { authorization: CANARY_TOKEN },
  });
  await delay(20);
  t.equal(logs().filter((line) => line.msg === 'request').length, 3);
  t.notOk(logLines.join('').includes(CANARY_TOKEN));
});

t.test('a stream shorter than the deadline finishes normally during shutdown', async (t) => {
  const { url, sidecar, emulator } = await start(t, {}, { pacingMs: 10, replyWords: 20 });
  const response = await fetch(`${url}/conversations/new`, {
    method: 'POST',
    headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'hello', stream: true }),
  });
  t.equal(response.status, 200);
  const closing = sidecar.close(5000);
  const text = await response.text();
  await closing;
  t.match(text, /event: done/);
  t.notMatch(text, /event: error/);
  const post = emulator.requests.find((r) => r.path === '/backend-api/conversation');
  t.equal((await post?.closed)?.aborted, false);
});

t.test(
  'a stream longer than the deadline ends with an error event and its upstream is aborted',
  async (t) => {
    const { url, sidecar, emulator } = await start(t, {}, { pacingMs: 30, replyWords: 400 });
    const response = await fetch(`${url}/conversations/new`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer tok',
        'content-type': 'application/json',
        'x-request-id': 'shutdown-rest-1',
      },
      body: JSON.stringify({ prompt: 'hello', stream: true }),
    });
    const started = Date.now();
    const closing = sidecar.close(100);
    const text = await response.text();
    await closing;
    t.ok(Date.now() - started < 2000, 'closed soon after the deadline');
    t.match(text, /event: delta/);
    t.match(
      text,
      /event: error\ndata: \{"error":"server shutting down","code":"upstream_unavailable","request_id":"shutdown-rest-1"\}\n\n$/,
    );
    const post = emulator.requests.find((r) => r.path === '/backend-api/conversation');
    t.equal((await post?.closed)?.aborted, true);
  },
);

t.test('a request arriving on an open connection during shutdown gets 503', async (t) => {
  const { port, sidecar } = await start(t, {}, { pacingMs: 30, replyWords: 100 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const ask = (path: string): Promise<http.IncomingMessage> =>
    new Promise((resolve) => {
      http.get({ host: '127.0.0.1', port, path, agent }, resolve);
    });
  const first = await ask('/healthz');
  first.resume();
  await once(first, 'end');
  // Keep the server busy with a stream so close() waits.
  const stream = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/conversations/new',
    headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
  });
  stream.end(JSON.stringify({ prompt: 'hello', stream: true }));
  const [streamRes] = (await once(stream, 'response')) as [http.IncomingMessage];
  streamRes.resume();
  const closing = sidecar.close(300);
  const during = await new Promise<number>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
  });
  t.ok(during === 503 || during === -1, 'a late request is refused, never served');
  await closing;
});

t.test('the pass-through streams end with an error event at the deadline', async (t) => {
  const { port, sidecar, emulator } = await start(t, {}, { pacingMs: 30, replyWords: 400 });
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/backend-api/conversation',
    headers: {
      authorization: 'Bearer tok',
      'content-type': 'application/json',
      'x-request-id': 'shutdown-pass-1',
    },
  });
  req.end(JSON.stringify(messageBody('hello')));
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  res.setEncoding('utf8');
  let text = '';
  res.on('data', (chunk: string) => (text += chunk));
  await once(res, 'data');
  await sidecar.close(50);
  await once(res, 'end');
  t.match(
    text,
    /event: error\ndata: \{"message":null,"error":"server shutting down","code":"upstream_unavailable","request_id":"shutdown-pass-1"\}\n\n$/,
  );
  const post = emulator.requests.find((r) => r.path === '/backend-api/conversation');
  t.equal((await post?.closed)?.aborted, true);
});

t.test('the dialect auto picks web for chatgpt.com and legacy elsewhere', (t) => {
  t.equal(resolveDialect('auto', 'https://chatgpt.com/backend-api'), 'web');
  t.equal(resolveDialect('auto', 'https://chat.openai.com/backend-api'), 'web');
  t.equal(resolveDialect('auto', 'http://127.0.0.1:8080/backend-api'), 'legacy');
  t.equal(resolveDialect('legacy', 'https://chatgpt.com/backend-api'), 'legacy');
  t.end();
});

t.test('request targets that are plain paths pass the check with their query', (t) => {
  t.same(checkRequestTarget('/conversations?limit=5'), {
    path: '/conversations',
    query: '?limit=5',
  });
  t.same(checkRequestTarget(undefined), { path: '/', query: '' });
  t.same(checkRequestTarget('/a/%41'), { path: '/a/%41', query: '' });
  t.end();
});

t.test('the JSON logger writes pino-shaped lines above its level only', (t) => {
  const lines: string[] = [];
  const logger = createJsonLogger({ level: 'warn', write: (l) => lines.push(l), now: () => 42 });
  logger.debug({ a: 1 }, 'hidden');
  logger.info({ a: 1 }, 'hidden');
  logger.warn({ a: 1 }, 'shown');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  logger.error(cyclic, 'still a line');
  t.same(lines, [
    '{"level":40,"time":42,"a":1,"msg":"shown"}\n',
    '{"level":50,"time":42,"msg":"still a line"}\n',
  ]);
  const silent: string[] = [];
  createJsonLogger({ level: 'silent', write: (l) => silent.push(l) }).error({}, 'x');
  t.same(silent, []);
  t.end();
});
