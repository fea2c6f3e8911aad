/**
 * A streaming client that stops reading but keeps its connection open: the writer waited for
 * `drain` for ever, holding the upstream request (and a server-held token's message slot) as
 * long as the client liked. With `stallMs` the stream is cut once the sink stays full that long,
 * and the upstream cancelled; on the direct writer and on the stream a framework pipes.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { RequestListener } from 'node:http';
import t from 'tap';
import { frameworkListener, listenOn } from '@chatgpt-rest/test-kit';
import { RestError } from '../src/errors.js';
import { sseResponse, type SseEvent } from '../src/http/sse-response.js';
import { createNodeListener } from '../src/node/node-bridge.js';

const STALL_MS = 300;
/** Long enough that a reading client's kernel buffers move within it on a loaded machine. */
const SLOW_STALL_MS = 1500;

/** Events of 64 KiB for as long as they are read: far more than socket buffers hold. */
async function* endless(): AsyncGenerator<SseEvent> {
  const text = 'x'.repeat(64 * 1024);
  for (;;) {
    await Promise.resolve();
    yield { event: 'delta', data: { text } };
  }
}

function stalledStream(cancelled: unknown[]) {
  return () =>
    Promise.resolve(
      sseResponse(endless(), {
        pingInterval: 60_000,
        stallMs: STALL_MS,
        cancel: (reason) => cancelled.push(reason),
        toError: (error) =>
          error instanceof RestError ? error : new RestError('internal_error', 'x'),
      }),
    );
}

const listeners: [string, (handler: () => Promise<Response>) => RequestListener][] = [
  ['the direct writer', (handler) => createNodeListener(handler)],
  ['a piped framework stream', (handler) => frameworkListener(handler)],
];

for (const [name, listener] of listeners) {
  t.test(`${name}: a client that stops reading is cut after stallMs`, async (t) => {
    const cancelled: unknown[] = [];
    let serverSide: net.Socket | undefined;
    const port = await listenOn(t, listener(stalledStream(cancelled)), (socket) => {
      serverSide = socket;
    });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    // Read the first bytes, then nothing more: the socket stays open.
    await once(socket, 'data');
    socket.pause();
    const started = Date.now();
    // The client, paused, sees nothing: the server's side of the connection tells.
    let timer: NodeJS.Timeout | undefined;
    const closedWithin = await Promise.race([
      once(serverSide!, 'close').then(() => Date.now() - started),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 5_000))),
    ]);
    clearTimeout(timer);
    socket.destroy();
    t.ok(closedWithin !== undefined, 'the server cut the connection');
    t.ok(cancelled.length > 0, 'the upstream was cancelled');
    t.match(cancelled[0], { code: 'upstream_timeout', message: /read nothing for 300 ms/ });
  });
}

/** Events of 8 MiB: each takes the slow client below longer than SLOW_STALL_MS to take. */
async function* large(): AsyncGenerator<SseEvent> {
  const text = 'y'.repeat(8 * 1024 * 1024);
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    yield { event: 'delta', data: { text } };
  }
}

for (const [name, listener] of listeners) {
  t.test(`${name}: a slow client that still reads is not cut`, async (t) => {
    const cancelled: unknown[] = [];
    const handler = () =>
      Promise.resolve(
        sseResponse(large(), {
          pingInterval: 60_000,
          stallMs: SLOW_STALL_MS,
          cancel: (reason) => cancelled.push(reason),
          toError: () => new RestError('internal_error', 'x'),
        }),
      );
    let serverSide: net.Socket | undefined;
    const port = await listenOn(t, listener(handler), (socket) => {
      serverSide = socket;
    });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    // A few MB/s: an 8 MiB frame takes seconds to drain, past SLOW_STALL_MS, bytes moving all
    // along.
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      socket.pause();
      setTimeout(() => socket.resume(), 20);
    });
    await new Promise((resolve) => setTimeout(resolve, 2 * SLOW_STALL_MS + 500));
    t.same(cancelled, [], 'never cancelled');
    t.equal(serverSide?.destroyed, false, 'the connection is open');
    t.ok(received > 1024 * 1024, `the client got ${received} bytes`);
    socket.destroy();
  });
}
