import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { createApp as expressApp } from '../examples/express/app.js';
import { createApp as fastifyApp } from '../examples/fastify/app.js';
import { createApp as koaApp } from '../examples/koa/app.js';

type Start = (upstream: string) => Promise<{ url: string; close: () => Promise<void> }>;

function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

const examples: [string, Start][] = [
  ['express', (upstream) => listen(createServer(expressApp({ upstream })))],
  [
    'fastify',
    async (upstream) => {
      const app = await fastifyApp({ upstream });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  ],
  [
    'koa',
    (upstream) => {
      const callback = koaApp({ upstream }).callback();
      return listen(createServer((req, res) => void callback(req, res)));
    },
  ],
];

for (const [name, start] of examples) {
  t.test(
    `the ${name} example serves its own routes and a conversation against the emulator`,
    async (t) => {
      const emulator = await createBackendEmulator();
      const app = await start(emulator.url);
      t.teardown(async () => {
        await app.close();
        await emulator.close();
      });
      t.same(await (await fetch(`${app.url}/health`)).json(), { ok: true });
      const note = await fetch(`${app.url}/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text":"hi"}',
      });
      t.equal(note.status, 201);
      t.same(await note.json(), { saved: { text: 'hi' } });
      const created = await fetch(`${app.url}/chat/conversations/new`, {
        method: 'POST',
        headers: {
          authorization: 'example-token',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'prompt=Hello',
      });
      t.equal(created.status, 201);
      const { response } = (await created.json()) as { response: { conversation_id: string } };
      const messages = await fetch(
        `${app.url}/chat/conversations/${response.conversation_id}/messages`,
        {
          headers: { authorization: 'example-token' },
        },
      );
      t.equal(((await messages.json()) as unknown[]).length, 2);
    },
  );
}
