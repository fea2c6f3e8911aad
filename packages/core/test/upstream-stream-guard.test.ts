import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { recordingTransport } from '@chatgpt-rest/test-kit';
import { resolveOptions, type ChatGptRestOptions } from '../src/options.js';
import { takeChunks } from '../src/http/whole-response.js';
import { isGuardedBody } from '../src/upstream/node-stream-body.js';
import { UpstreamClient } from '../src/upstream/upstream-client.js';

/** An upstream whose message stream is written by `play`. */
async function upstream(
  play: (res: ServerResponse) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    play(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/backend-api`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const TOK = { token: 'tok' };
const STREAM = { method: 'POST', path: '/conversation', accept: 'text/event-stream' } as const;

/** Opens the message stream of the upstream at `url` through the core's upstream client. */
function streamCall(
  url: string,
  options: Partial<ChatGptRestOptions> = {},
  signal: AbortSignal = new AbortController().signal,
): Promise<Response> {
  const resolved = resolveOptions({ upstream: url, dialect: 'legacy', ...options }, {});
  return new UpstreamClient(resolved).call(TOK, STREAM, signal);
}

/** The two ways a body is read: the core takes the transport's chunks, a host reads `body`. */
const WAYS = ['chunks', 'web body'] as const;
type Way = (typeof WAYS)[number];

interface Reader {
  read(): Promise<IteratorResult<Uint8Array>>;
}

/** A reader of `response`'s body, the `way` given. */
function readerOf(response: Response, way: Way): Reader {
  if (way === 'web body') return (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks = takeChunks(response);
  if (chunks === undefined) throw new Error('the transport gave no chunks');
  return { read: () => chunks.next() };
}

async function readAll(response: Response, way: Way): Promise<string> {
  const reader = readerOf(response, way);
  let text = '';
  const decoder = new TextDecoder();
  for (let r = await reader.read(); r.done !== true; r = await reader.read()) {
    text += decoder.decode(r.value, { stream: true });
  }
  return text;
}

for (const way of WAYS) {
  t.test(
    `the built-in transport guards the stream itself: no second wrapper (${way})`,
    async (t) => {
      const server = await upstream((res) => res.end('data: {}\n\n'));
      t.teardown(server.close);
      const { fetch, seen } = recordingTransport();
      const response = await streamCall(server.url, { fetch });
      t.ok(isGuardedBody(response), 'the transport marked its response');
      t.equal(response, seen[0], 'the transport response itself, not a re-wrapped one');
      t.equal(await readAll(response, way), 'data: {}\n\n');
    },
  );

  t.test(
    `only silence is limited: a stream longer than the idle timeout in all goes on (${way})`,
    async (t) => {
      const server = await upstream((res) => {
        let sent = 0;
        const tick = setInterval(() => {
          res.write(`data: ${sent}\n\n`);
          if (++sent === 6) {
            clearInterval(tick);
            res.end();
          }
        }, 60);
      });
      t.teardown(server.close);
      const response = await streamCall(server.url, { timeouts: { idle: 150 } });
      const text = await readAll(response, way);
      t.equal(
        text.split('\n\n').length - 1,
        6,
        'all six events over ~360 ms with a 150 ms idle limit',
      );
    },
  );

  t.test(
    `a silence while a read waits fails the stream with upstream_timeout (${way})`,
    async (t) => {
      let closed = false;
      const server = await upstream((res) => {
        res.write('data: 1\n\n');
        res.on('close', () => (closed = true));
      });
      t.teardown(server.close);
      const response = await streamCall(server.url, { timeouts: { idle: 100 } });
      const reader = readerOf(response, way);
      // A consumer that does not read is not the upstream's silence: no timeout while nobody waits.
      await sleep(250);
      t.equal(new TextDecoder().decode((await reader.read()).value), 'data: 1\n\n');
      await t.rejects(reader.read(), {
        code: 'upstream_timeout',
        message: 'The upstream stream was silent for more than 100 ms.',
      });
      await sleep(50);
      t.ok(closed, 'the upstream request was cut');
    },
  );

  t.test(`a connection broken mid-body is an upstream_error (${way})`, async (t) => {
    const server = await upstream((res) => {
      res.write('data: 1\n\n');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    t.teardown(server.close);
    const response = await streamCall(server.url);
    await t.rejects(readAll(response, way), {
      code: 'upstream_error',
      message: 'The upstream connection broke in the middle of the reply.',
    });
  });

  t.test(`a client that leaves aborts the upstream request (${way})`, async (t) => {
    let closed = false;
    const server = await upstream((res) => {
      res.write('data: 1\n\n');
      res.on('close', () => (closed = true));
    });
    t.teardown(server.close);
    const client = new AbortController();
    const response = await streamCall(server.url, {}, client.signal);
    const reader = readerOf(response, way);
    await reader.read();
    client.abort();
    await reader.read().catch(() => undefined);
    await sleep(50);
    t.ok(closed, 'the upstream saw the request end');
  });
}
