import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import {
  countedBody,
  frameworkListener,
  listenOn,
  pullsWhileClientPauses,
} from '@chatgpt-rest/test-kit';
import { RestError } from '../src/errors.js';
import { frameworkResponse, type WebHandler } from '../src/node/node-bridge.js';

/**
 * A server that sends `frameworkResponse`'s answer as a framework does (Koa 2 pipes, Fastify
 * and Koa 3 too): status and headers on `res`, then the whole body, the piped stream, or nothing.
 */
function serve(t: Test, handler: WebHandler, bodyLimit?: number): Promise<number> {
  return listenOn(t, frameworkListener(handler, { bodyLimit }));
}

/** A stream the test feeds by hand, with a record of its cancellation. */
function handStream() {
  let feed!: ReadableStreamDefaultController<Uint8Array>;
  const state = { cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      feed = controller;
    },
    cancel: () => {
      state.cancelled = true;
    },
  });
  return { body, feed: () => feed, state };
}

/** A whole body as text (a Buffer is what small answers are). */
function text(body: Buffer | Readable | undefined): string {
  return Buffer.isBuffer(body) ? body.toString('utf8') : '';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

t.test('a stream shows its headers before its first chunk, then streams', async (t) => {
  const stream = handStream();
  const port = await serve(t, () =>
    Promise.resolve(
      new Response(stream.body, { headers: { 'content-type': 'text/event-stream' } }),
    ),
  );
  let fed = false;
  const feeding = setTimeout(() => {
    fed = true;
    stream.feed().enqueue(new TextEncoder().encode('event: delta\n\n'));
  }, 300);
  t.teardown(() => clearTimeout(feeding));
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal });
  t.notOk(fed, 'the head came before the first chunk was there');
  t.equal(response.status, 200);
  t.equal(response.headers.get('content-type'), 'text/event-stream');
  const reader = response.body!.getReader();
  const first = await reader.read();
  t.equal(new TextDecoder().decode(first.value), 'event: delta\n\n', 'the chunk came alone');
  controller.abort();
  for (let i = 0; i < 100 && !stream.state.cancelled; i++) await delay(5);
  t.ok(stream.state.cancelled, 'a client leaving cancels the body');
});

t.test(
  'a piped stream is pulled only as fast as a client that does not read accepts it',
  async (t) => {
    const counted = countedBody();
    const port = await serve(t, counted.response);
    const stall = await pullsWhileClientPauses(port, counted.pulls, (fn) => t.teardown(fn));
    t.ok(stall.stalled, 'the writer stopped pulling');
    t.ok(stall.pulls > 1, 'something was written');
    t.ok(stall.pulls < 400, `pulled ${stall.pulls} chunks of 1600 (bounded by the buffers)`);
  },
);

t.test('a body failing mid-way cuts the connection instead of ending it', async (t) => {
  const port = await serve(t, () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('partial'));
        setTimeout(() => controller.error(new Error('upstream broke')), 50);
      },
    });
    return Promise.resolve(new Response(body));
  });
  const response = await fetch(`http://127.0.0.1:${port}/`);
  await t.rejects(response.text(), 'the client sees a broken body, not a complete one');
});

/** A finished GET request and its response, for answers that are looked at, not sent. */
function getExchange(): { req: IncomingMessage; res: ServerResponse } {
  const req = new http.IncomingMessage(new net.Socket());
  req.method = 'GET';
  req.url = '/';
  req.push(null);
  return { req, res: new http.ServerResponse(req) };
}

t.test(
  'a small body of known length is whole; a stream stays a stream; none is undefined',
  async (t) => {
    const { req, res } = getExchange();
    const small = await frameworkResponse(
      () => Promise.resolve(new Response('{"ok":true}', { headers: { 'content-length': '11' } })),
      req,
      res,
    );
    t.same(small.body, Buffer.from('{"ok":true}'));
    const unknown = await frameworkResponse(
      () => Promise.resolve(new Response('streamed')),
      req,
      res,
    );
    t.ok(unknown.body instanceof Readable, 'a body of unknown length is a Node stream');
    const empty = await frameworkResponse(
      () => Promise.resolve(new Response(null, { status: 204 })),
      req,
      res,
    );
    t.equal(empty.body, undefined);
    t.equal(empty.status, 204);
    t.notOk(
      empty.headers.some(([name]) => name === 'connection'),
      'a request read to its end keeps the connection',
    );
  },
);

t.test('a large body of known length streams with its length', async (t) => {
  const big = 'x'.repeat(200 * 1024);
  const port = await serve(t, () =>
    Promise.resolve(new Response(big, { headers: { 'content-length': String(big.length) } })),
  );
  const response = await fetch(`http://127.0.0.1:${port}/`);
  t.equal(response.headers.get('content-length'), String(big.length));
  t.equal((await response.text()).length, big.length);
});

t.test('several set-cookie headers stay separate', async (t) => {
  const port = await serve(t, () => {
    const headers = new Headers();
    headers.append('set-cookie', 'a=1; Path=/');
    headers.append('set-cookie', 'b=2; Path=/');
    return Promise.resolve(new Response('x', { headers }));
  });
  const response = await fetch(`http://127.0.0.1:${port}/`);
  t.same(response.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/']);
});

t.test('a 413 with the body left unread closes the connection', async (t) => {
  const port = await serve(
    t,
    async (request) => {
      await request.text();
      return new Response('unreachable');
    },
    10,
  );
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    body: 'x'.repeat(1000),
  }).catch(() => undefined);
  t.equal(response?.status, 413);
  t.equal(response?.headers.get('connection'), 'close');
});

t.test('failures become JSON errors; the error callback hears of bugs only', async (t) => {
  const { req, res } = getExchange();
  const reported: unknown[] = [];
  const onError = (error: unknown): void => void reported.push(error);
  const thrown = await frameworkResponse(
    () => Promise.reject(new RestError('not_found', 'No such thing.')),
    req,
    res,
    { onError },
  );
  t.equal(thrown.status, 404);
  t.match(JSON.parse(text(thrown.body)), { code: 'not_found' });
  const bug = await frameworkResponse(() => Promise.reject(new Error('secret')), req, res, {
    onError,
  });
  t.equal(bug.status, 500);
  t.notMatch(text(bug.body), /secret/);
  const odd = await frameworkResponse(
    (() => Promise.resolve('not a response')) as unknown as WebHandler,
    req,
    res,
    { onError },
  );
  t.equal(odd.status, 500);
  t.equal(reported.length, 2, 'the bug and the missing Response were reported');
});
