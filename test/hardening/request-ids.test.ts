/**
 * Request ids on every mount: the client's `X-Request-Id` comes back on the answer and is on
 * every log line about that request (through the host's logger: pino-style `child()` on the
 * framework mounts, merged into each line by the sidecar), on an error, a REST stream and an
 * OpenAI stream that fail after their first byte (the `error` events name it too); an invalid
 * or oversized id is replaced by a new one and never repeated anywhere.
 */
import t from 'tap';
import Fastify from 'fastify';
import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { captureLogs, readEvents, type LogLine } from '@chatgpt-rest/test-kit';
import { chatGptRoutes as expressRoutes } from '@chatgpt-rest/express';
import { chatGptRoutes as fastifyRoutes } from '@chatgpt-rest/fastify';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { MOUNTS, guardProcess, startOnEmulator } from './harness.js';
import { fastifyFive, sidecar } from '../conformance/mounts.js';

const SEND = /\/conversation$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TOKEN = { authorization: 'Bearer request-ids-token', 'content-type': 'application/json' };

/** Ids a client may send that must never be repeated: spaces, quotes, markup, too long. */
const INVALID_IDS = [
  'canary id with spaces',
  'canary"quoted"',
  'canary<script>',
  `canary-${'x'.repeat(130)}`,
];

for (const mount of MOUNTS) {
  t.test(`${mount.name}: the request id on the answer and every log line`, async (t) => {
    const guard = guardProcess(t);
    const logs = captureLogs({ child: mount !== sidecar });
    const { app, emulator } = await startOnEmulator(t, mount, {
      emulator: { replyWords: 30 },
      options: { logger: logs.logger },
    });
    // The sidecar writes its own line once the answer is closed; the core logs before answering.
    const last = mount === sidecar ? 'request' : undefined;
    const linesOf = async (id: string, coreLine: string): Promise<LogLine[]> => {
      await logs.line((line) => line.msg === (last ?? coreLine) && line.requestId === id);
      return logs.lines.splice(0);
    };
    const everyLineNames = (lines: LogLine[], id: string, what: string): void => {
      t.ok(lines.length > 0, `${what}: lines were written`);
      t.same(
        lines.filter((line) => line.requestId !== id),
        [],
        `${what}: every line carries the id`,
      );
    };

    // An error answered before any upstream call: 401.
    logs.lines.length = 0;
    const refused = await fetch(`${app.url}/conversations`, {
      headers: { 'x-request-id': 'canary-req-401' },
    });
    t.equal(refused.status, 401);
    t.equal(refused.headers.get('x-request-id'), 'canary-req-401', '401: the id comes back');
    await refused.arrayBuffer();
    everyLineNames(await linesOf('canary-req-401', 'request failed'), 'canary-req-401', '401');

    // A REST stream that fails after its first byte.
    emulator.inject({ match: { method: 'POST', path: SEND }, fault: { type: 'stream_error' } });
    const stream = await fetch(`${app.url}/conversations/new`, {
      method: 'POST',
      headers: { ...TOKEN, 'x-request-id': 'canary-req-stream' },
      body: JSON.stringify({ prompt: 'tell me a story', stream: true }),
    });
    t.equal(stream.status, 200);
    t.equal(stream.headers.get('x-request-id'), 'canary-req-stream', 'stream: the id comes back');
    const events = [];
    for await (const event of readEvents(stream)) events.push(event);
    const failed = events.find((event) => event.event === 'error')?.data as Record<string, unknown>;
    t.equal(failed.request_id, 'canary-req-stream', 'the error event names the id');
    everyLineNames(
      await linesOf('canary-req-stream', 'stream failed'),
      'canary-req-stream',
      'stream',
    );

    // An OpenAI stream that fails after its first byte.
    emulator.inject({ match: { method: 'POST', path: SEND }, fault: { type: 'stream_error' } });
    const chat = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...TOKEN, 'x-request-id': 'canary-req-openai' },
      body: JSON.stringify({
        model: 'auto',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    });
    t.equal(chat.headers.get('x-request-id'), 'canary-req-openai', 'OpenAI: the id comes back');
    const chunks = [];
    for await (const event of readEvents(chat)) chunks.push(event.data as Record<string, unknown>);
    const chunkError = chunks.find((chunk) => typeof chunk === 'object' && 'error' in chunk);
    t.match(chunkError, { error: { request_id: 'canary-req-openai' } }, 'the error chunk names it');
    everyLineNames(
      await linesOf('canary-req-openai', 'stream failed'),
      'canary-req-openai',
      'OpenAI',
    );

    // Ids that must not be repeated: replaced by a new one, on the answer and in the lines.
    for (const invalid of INVALID_IDS) {
      const answer = await fetch(`${app.url}/conversations`, {
        headers: { 'x-request-id': invalid },
      });
      const made = answer.headers.get('x-request-id') ?? '';
      // Fastify's own id stands in on its mount (so that host and core lines match).
      t.match(
        made,
        mount === fastifyFive ? /^req-\w+$/ : UUID,
        `${invalid.slice(0, 16)}…: replaced`,
      );
      t.notMatch(await answer.text(), 'canary', 'not in the body');
      const lines = await linesOf(made, 'request failed');
      everyLineNames(lines, made, 'replaced id');
      t.notMatch(JSON.stringify(lines), 'canary', 'never in a log line');
    }
    t.same(guard.escaped, []);
  });
}

t.test('sidecar: the pass-through answers with the request id, not the upstream’s', async (t) => {
  const logs = captureLogs({ child: false });
  const { app } = await startOnEmulator(t, sidecar, { options: { logger: logs.logger } });
  const answer = await fetch(`${app.url}/backend-api/conversations?offset=0&limit=2`, {
    headers: { ...TOKEN, 'x-request-id': 'canary-req-pass' },
  });
  t.equal(answer.status, 200);
  t.equal(answer.headers.get('x-request-id'), 'canary-req-pass');
  await answer.arrayBuffer();
  const line = await logs.line((l) => l.msg === 'request');
  t.equal(line.requestId, 'canary-req-pass', 'the request line names it');
  const health = await fetch(`${app.url}/healthz`);
  t.match(health.headers.get('x-request-id'), UUID, 'health answers carry one too');
});

function listening(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

t.test('fastify: without a client id, Fastify’s request.id is ours too', async (t) => {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  const logs = captureLogs();
  const app = Fastify();
  const seen: string[] = [];
  app.addHook('onResponse', (request, _reply, done) => {
    seen.push(request.id);
    done();
  });
  await app.register(fastifyRoutes, { upstream: emulator.url, logger: logs.logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    await app.close();
    await emulator.close();
  });
  const { port } = app.server.address() as AddressInfo;
  const answer = await fetch(`http://127.0.0.1:${port}/conversations`);
  await answer.arrayBuffer();
  await logs.line((line) => line.msg === 'request failed');
  t.equal(seen.length, 1);
  t.equal(answer.headers.get('x-request-id'), seen[0], 'the answer names Fastify’s id');
  t.equal(logs.lines[0]?.requestId, seen[0], 'and so does our line');
  const sent = await fetch(`http://127.0.0.1:${port}/conversations`, {
    headers: { 'x-request-id': 'client-id-1' },
  });
  t.equal(sent.headers.get('x-request-id'), 'client-id-1', 'a client’s valid id wins');
});

t.test('express: an id a request-id middleware of the app set is kept', async (t) => {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  const logs = captureLogs();
  const app = express();
  app.use((_req, res, next) => {
    res.setHeader('X-Request-Id', 'host-made-id-7');
    next();
  });
  app.use(expressRoutes({ upstream: emulator.url, logger: logs.logger }));
  const server = createServer(app);
  const url = await listening(server);
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
    await emulator.close();
  });
  const answer = await fetch(`${url}/conversations`);
  t.equal(answer.headers.get('x-request-id'), 'host-made-id-7');
  await answer.arrayBuffer();
  t.equal(logs.lines[0]?.requestId, 'host-made-id-7', 'our line names the host’s id');
  // A body the app's parser refused on our path (413 by express.json) carries one too.
  const big = express();
  big.use(express.json({ limit: 10 }));
  big.use(expressRoutes({ upstream: emulator.url }));
  const bigServer = createServer(big);
  const bigUrl = await listening(bigServer);
  t.teardown(() => {
    bigServer.closeAllConnections();
    bigServer.close();
  });
  const tooBig = await fetch(`${bigUrl}/conversations/new`, {
    method: 'POST',
    headers: { ...TOKEN, 'x-request-id': 'canary-req-413' },
    body: JSON.stringify({ prompt: 'a prompt longer than ten bytes' }),
  });
  t.equal(tooBig.status, 413);
  t.equal(tooBig.headers.get('x-request-id'), 'canary-req-413');
});
