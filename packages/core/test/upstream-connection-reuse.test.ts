import type { ServerResponse } from 'node:http';
import t, { type Test } from 'tap';
import { listenOn } from '@chatgpt-rest/test-kit';
import { createNodeFetch } from '../src/upstream/node-transport.js';

const GUARD = { idleMs: 5000, idleError: () => new Error('idle'), brokenError: (e: unknown) => e };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An upstream that sends `[DONE]` at once and ends its body `tailMs` later after `tail`, the way
 * a real message stream's last chunk (the chunked terminator) trails its last event. Counts the
 * connections it accepted.
 */
async function upstream(
  t: Test,
  tail = '',
  tailMs = 30,
): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const port = await listenOn(
    t,
    (_req, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"message": "hi"}\n\ndata: [DONE]\n\n');
      setTimeout(() => res.end(tail), tailMs);
    },
    () => connections++,
  );
  return { url: `http://127.0.0.1:${port}/conversation`, connections: () => connections };
}

/** One message call read up to `[DONE]` (its first chunk), then cancelled as readReply does. */
async function askOnce(url: string, reason?: unknown): Promise<void> {
  const fetch = transport;
  const response = await fetch(url, { method: 'POST', streamGuard: GUARD } as RequestInit);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  await reader.cancel(reason);
}

const transport = createNodeFetch({ connectTimeout: 1000 });

t.test('a reader that stops after [DONE] leaves the connection for the next call', async (t) => {
  const server = await upstream(t);
  await askOnce(server.url);
  await sleep(60);
  await askOnce(server.url);
  await sleep(60);
  await askOnce(server.url);
  t.equal(server.connections(), 1, 'one connection for three messages');
});

t.test('a cancel with a reason (the client left) closes the connection at once', async (t) => {
  const server = await upstream(t, '', 500);
  await askOnce(server.url, new DOMException('gone', 'AbortError'));
  await askOnce(server.url);
  t.equal(server.connections(), 2, 'the first connection was not waited for');
});

t.test('a body that goes on after the reader stopped is cut, not read on', async (t) => {
  const server = await upstream(t, 'data: x\n\n'.repeat(4096));
  const response = await transport(server.url, {
    method: 'POST',
    streamGuard: GUARD,
  } as RequestInit);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  await reader.cancel();
  await sleep(150);
  await askOnce(server.url);
  t.equal(server.connections(), 2, 'over 16 KiB of trailing body: the connection was closed');
});

t.test(
  'aborting the signal of a call that read to [DONE] leaves its connection to the next call',
  async (t) => {
    const server = await upstream(t, 'data: tail\n\n', 100);
    const first = new AbortController();
    const a = await transport(server.url, {
      method: 'POST',
      signal: first.signal,
      streamGuard: GUARD,
    } as RequestInit);
    // Read up to `[DONE]`, then stopped as readReply stops: the rest is drained, the socket pooled.
    const reader = (a.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    // The turn that made the call ends and aborts its signal, while the tail drains or after.
    first.abort(new DOMException('turn over', 'AbortError'));
    await sleep(150);
    const b = await transport(server.url, { method: 'POST', streamGuard: GUARD } as RequestInit);
    const text = await b.text();
    t.ok(text.endsWith('data: tail\n\n'), 'the second call read its whole body');
    t.equal(server.connections(), 1, 'on the connection the first call had');
  },
);
