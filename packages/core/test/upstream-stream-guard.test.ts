import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { recordingTransport } from '@chatgpt-rest/test-kit';
import { resolveOptions } from '../src/options.js';
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

async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
  return text;
}

t.test('the built-in transport guards the stream itself: no second wrapper', async (t) => {
  const server = await upstream((res) => res.end('data: {}\n\n'));
  t.teardown(server.close);
  const { fetch, seen } = recordingTransport();
  const options = resolveOptions({ upstream: server.url, dialect: 'legacy', fetch }, {});
  const response = await new UpstreamClient(options).call(
    TOK,
    STREAM,
    new AbortController().signal,
  );
  t.ok(isGuardedBody(response), 'the transport marked its response');
  t.equal(response, seen[0], 'the transport response itself, not a re-wrapped one');
  t.equal(await readAll(response.body as ReadableStream<Uint8Array>), 'data: {}\n\n');
});

t.test(
  'only silence is limited: a stream longer than the idle timeout in all goes on',
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
    const options = resolveOptions(
      { upstream: server.url, dialect: 'legacy', timeouts: { idle: 150 } },
      {},
    );
    const response = await new UpstreamClient(options).call(
      TOK,
      STREAM,
      new AbortController().signal,
    );
    const text = await readAll(response.body as ReadableStream<Uint8Array>);
    t.equal(
      text.split('\n\n').length - 1,
      6,
      'all six events over ~360 ms with a 150 ms idle limit',
    );
  },
);

t.test('a silence while a read waits fails the stream with upstream_timeout', async (t) => {
  let closed = false;
  const server = await upstream((res) => {
    res.write('data: 1\n\n');
    res.on('close', () => (closed = true));
  });
  t.teardown(server.close);
  const options = resolveOptions(
    { upstream: server.url, dialect: 'legacy', timeouts: { idle: 100 } },
    {},
  );
  const response = await new UpstreamClient(options).call(
    TOK,
    STREAM,
    new AbortController().signal,
  );
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  // A consumer that does not read is not the upstream's silence: no timeout while nobody waits.
  await sleep(250);
  t.equal(new TextDecoder().decode((await reader.read()).value), 'data: 1\n\n');
  await t.rejects(reader.read(), {
    code: 'upstream_timeout',
    message: 'The upstream stream was silent for more than 100 ms.',
  });
  await sleep(50);
  t.ok(closed, 'the upstream request was cut');
});

t.test('a connection broken mid-body is an upstream_error', async (t) => {
  const server = await upstream((res) => {
    res.write('data: 1\n\n');
    setTimeout(() => res.socket?.destroy(), 50);
  });
  t.teardown(server.close);
  const options = resolveOptions({ upstream: server.url, dialect: 'legacy' }, {});
  const response = await new UpstreamClient(options).call(
    TOK,
    STREAM,
    new AbortController().signal,
  );
  await t.rejects(readAll(response.body as ReadableStream<Uint8Array>), {
    code: 'upstream_error',
    message: 'The upstream connection broke in the middle of the reply.',
  });
});

t.test('a client that leaves aborts the upstream request', async (t) => {
  let closed = false;
  const server = await upstream((res) => {
    res.write('data: 1\n\n');
    res.on('close', () => (closed = true));
  });
  t.teardown(server.close);
  const options = resolveOptions({ upstream: server.url, dialect: 'legacy' }, {});
  const client = new AbortController();
  const response = await new UpstreamClient(options).call(TOK, STREAM, client.signal);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  client.abort();
  await reader.read().catch(() => undefined);
  await sleep(50);
  t.ok(closed, 'the upstream saw the request end');
});
