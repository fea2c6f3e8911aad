import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import express from 'express';
import Fastify from 'fastify';
import { chatGptRoutes as expressRoutes } from '@chatgpt-rest/express';
import { chatGptRoutes as fastifyRoutes } from '@chatgpt-rest/fastify';

t.test("express.json() failures on our paths become the spec's JSON errors", async (t) => {
  const app = express();
  app.use(express.json({ limit: '1kb' }));
  app.use('/chat', expressRoutes({ upstream: 'http://127.0.0.1:9/backend-api' }));
  app.post('/own', (_req, res) => {
    res.json({ own: true });
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (path: string, body: string): Promise<Response> =>
    fetch(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'x' },
      body,
    });

  const malformed = await post('/chat/conversations/new', '{"prompt":');
  t.equal(malformed.status, 400);
  t.match(await malformed.json(), { code: 'invalid_request' });
  const large = await post('/chat/conversations/new', JSON.stringify({ prompt: 'x'.repeat(4096) }));
  t.equal(large.status, 413);
  t.match(await large.json(), { code: 'payload_too_large' });
  // The app's own routes keep Express's own error handling.
  const own = await post('/own', '{"a":');
  t.equal(own.status, 400);
  t.notMatch(own.headers.get('content-type'), /json/);
});

t.test('the Fastify plugin adds real routes and leaves the parent parsers alone', async (t) => {
  const app = Fastify();
  app.post('/own', (request) => ({ got: request.body }));
  await app.register(fastifyRoutes, {
    upstream: 'http://127.0.0.1:9/backend-api',
    prefix: '/chat',
  });
  await app.ready();
  t.teardown(() => app.close());
  for (const [method, url] of [
    ['GET', '/chat/conversations'],
    ['POST', '/chat/conversations/new'],
    ['POST', '/chat/conversations/:id/ask'],
    ['GET', '/chat/conversations/:id/messages'],
  ] as const) {
    t.ok(app.hasRoute({ method, url }), `${method} ${url} is a Fastify route`);
  }
  t.match(app.printRoutes(), /conversations/);
  const own = await app.inject({ method: 'POST', url: '/own', payload: { a: 1 } });
  t.same(own.json(), { got: { a: 1 } }, 'the parent still parses JSON');
  t.ok(app.hasContentTypeParser('application/json'));
});
