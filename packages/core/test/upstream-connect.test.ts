import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { collected } from './collected.js';
import { createNodeFetch } from '../src/upstream/node-transport.js';

t.test(
  'a kept-alive upstream socket does not keep the answer of the call that opened it',
  async (t) => {
    // A 1 MiB JSON answer on a new connection. Its connect-timeout listeners used to stay on
    // the socket, whose pool outlives the call, and held the call's promise and whole answer.
    const body = JSON.stringify({ items: 'x'.repeat(1024 * 1024) });
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => {
      server.closeAllConnections();
      server.close();
    });
    const { port } = server.address() as AddressInfo;
    const fetch = createNodeFetch({ connectTimeout: 5_000 });
    let ref: WeakRef<Response> | undefined;
    await (async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      t.equal((await response.text()).length, body.length);
      ref = new WeakRef(response);
    })();
    let open = 0;
    server.getConnections((_error, count) => (open = count));
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(open, 1, 'the connection is still open, kept alive in the pool');
    t.ok(await collected(ref as WeakRef<Response>), 'the answer was collected');
  },
);

/**
 * A port whose connections never complete: a listener with a backlog of one in a worker that
 * stops accepting, its queue filled, so the kernel drops further handshakes.
 */
async function stalledPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const worker = new Worker(
    `const { createServer } = require('node:net');
     const { parentPort } = require('node:worker_threads');
     const server = createServer();
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       parentPort.once('message', () =>
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000));
     });`,
    { eval: true },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  worker.postMessage('stop accepting');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const fillers: Socket[] = [];
  for (let i = 0; i < 4; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => undefined));
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    port,
    close: async () => {
      for (const socket of fillers) socket.destroy();
      await worker.terminate();
    },
  };
}

t.test('a connection that is not up within connectTimeout fails with ETIMEDOUT', async (t) => {
  const stalled = await stalledPort();
  t.teardown(stalled.close);
  const fetch = createNodeFetch({ connectTimeout: 200 });
  await t.rejects(fetch(`http://127.0.0.1:${stalled.port}/`), {
    name: 'TypeError',
    message: 'fetch failed',
    cause: { code: 'ETIMEDOUT' },
  });
});
