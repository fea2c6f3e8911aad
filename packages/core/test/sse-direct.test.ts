import http, { type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import t from 'tap';
import { bodyTaken } from '../src/http/whole-response.js';
import { frameworkListener, listenOn } from '@chatgpt-rest/test-kit';
import { RestError } from '../src/errors.js';
import { sseResponse, type SseEvent } from '../src/http/sse-response.js';
import { createNodeListener, type WebHandler } from '../src/node/node-bridge.js';

/** The socket writes (`_write`/`_writev` calls) the server made on each connection. */
interface Writes {
  count: number;
}

type SocketWrite = (...args: unknown[]) => void;

/** Counts the socket writes of every connection `listenOn` accepts. */
function countWrites(writes: Writes) {
  return (connection: Socket): void => {
    const socket = connection as unknown as Record<'_write' | '_writev', SocketWrite>;
    for (const name of ['_write', '_writev'] as const) {
      const original = socket[name].bind(connection);
      socket[name] = (...args) => {
        writes.count++;
        original(...args);
      };
    }
  };
}

/** GETs `/` and reads the answer, calling `onData` with the text so far on every chunk. */
function get(port: number, onData?: (text: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          onData?.(text);
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const options = {
  pingInterval: 60_000,
  cancel: () => undefined,
  toError: (error: unknown) =>
    error instanceof RestError ? error : new RestError('internal_error', 'x'),
};

async function* burst(n: number): AsyncGenerator<SseEvent> {
  await Promise.resolve();
  for (let i = 0; i < n; i++) yield { event: 'delta', data: { i } };
}

const mounts: [string, (handler: WebHandler) => RequestListener][] = [
  ['Node bridge', (handler) => createNodeListener(handler)],
  ['framework response (Fastify, Koa)', frameworkListener],
];

for (const [name, mount] of mounts) {
  t.test(`${name}: an event stream is written without reading its web body`, async (t) => {
    const made: Response[] = [];
    const handler: WebHandler = () => {
      const response = sseResponse(burst(3), options);
      made.push(response);
      return Promise.resolve(response);
    };
    const port = await listenOn(t, mount(handler));
    const text = await get(port);
    t.equal(text.split('event: delta').length - 1, 3, 'all three events');
    const [response] = made;
    t.equal(bodyTaken(response as Response), false, 'its web body was never even made');
    t.equal(response?.body?.locked, false, 'the web body was never locked');
    t.equal(response?.bodyUsed, false, 'nor read');
  });

  t.test(`${name}: the events of one tick leave in fewer socket writes`, async (t) => {
    const writes: Writes = { count: 0 };
    const port = await listenOn(
      t,
      mount(() => Promise.resolve(sseResponse(burst(20), options))),
      countWrites(writes),
    );
    const text = await get(port);
    t.equal(text.split('event: delta').length - 1, 20);
    // The head, the 20 frames together, the end: not one write per frame.
    t.ok(writes.count <= 4, `${writes.count} socket writes for 20 events of one tick`);
  });

  t.test(`${name}: a lone event is not held back for the next`, async (t) => {
    let seen!: () => void;
    const received = new Promise<void>((resolve) => (seen = resolve));
    async function* waiting(): AsyncGenerator<SseEvent> {
      yield { event: 'delta', data: { i: 0 } };
      // The second event only comes once the client has the first: a writer that waited for
      // more would never send it.
      await received;
      yield { event: 'delta', data: { i: 1 } };
    }
    const port = await listenOn(
      t,
      mount(() => Promise.resolve(sseResponse(waiting(), options))),
    );
    const text = await get(port, (so) => {
      if (so.includes('"i":0')) seen();
    });
    t.match(text, /"i":1/);
  });

  t.test(`${name}: a client that leaves cancels the stream`, async (t) => {
    const state = { cancelled: false };
    async function* endless(): AsyncGenerator<SseEvent> {
      yield { event: 'delta', data: {} };
      await new Promise(() => undefined);
    }
    const port = await listenOn(
      t,
      mount(() =>
        Promise.resolve(
          sseResponse(endless(), { ...options, cancel: () => void (state.cancelled = true) }),
        ),
      ),
    );
    await new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
    });
    for (let i = 0; i < 50 && !state.cancelled; i++) await new Promise((r) => setTimeout(r, 10));
    t.ok(state.cancelled, 'cancel was called');
  });
}

t.test('a host that reads the body itself still gets the whole stream', async (t) => {
  const response = sseResponse(burst(2), options);
  const text = await response.text();
  t.equal(text.split('event: delta').length - 1, 2);
});
