import t from 'tap';
import { listenOn, recordingTransport } from '@chatgpt-rest/test-kit';
import { leasedResponse, type Lease } from '../src/auth/lease.js';
import { createHandler } from '../src/handler.js';
import { jsonResponse } from '../src/http/responses.js';
import { chunksOfWeb, type ByteChunks } from '../src/http/byte-chunks.js';
import {
  ChunksResponse,
  WholeResponse,
  bodyTaken,
  genuineResponse,
  takeChunks,
  unreadContent,
} from '../src/http/whole-response.js';
import { createNodeListener } from '../src/node/node-bridge.js';
import { readCapped } from '../src/upstream/body-guards.js';
import { createNodeFetch } from '../src/upstream/node-transport.js';
import { readLimited } from '../src/upstream/read-limited.js';
import { UpstreamClient } from '../src/upstream/upstream-client.js';
import { resolveOptions } from '../src/options.js';

const TEXT = JSON.stringify({ greeting: 'Grüße, 世界' });

t.test('a WholeResponse is an ordinary Response to whoever reads it', async (t) => {
  const response = new WholeResponse(TEXT, { status: 201, headers: { 'x-a': '1' } });
  t.ok(response instanceof Response);
  t.equal(response.status, 201);
  t.equal(unreadContent(response), TEXT, 'its content, while nobody asked for a web body');
  t.equal(response.bodyUsed, false);
  t.same(await response.clone().json(), JSON.parse(TEXT), 'clone() reads the same content');
  t.equal(unreadContent(response), undefined, 'once a web body exists, it is the only way');
  t.equal(response.bodyUsed, false, 'the clone read its own branch');
  t.equal(await response.text(), TEXT);
  t.equal(response.bodyUsed, true);
  await t.rejects(response.text(), TypeError, 'read twice: refused as any Response refuses');

  const bytes = new WholeResponse(new TextEncoder().encode('\uFEFF{"a":1}'), { status: 200 });
  t.ok(bytes.body instanceof ReadableStream, 'body builds the web stream on demand');
  t.same(await bytes.json(), { a: 1 });
});

t.test('genuineResponse gives a fetch runtime a plain Response with the same answer', async (t) => {
  const whole = jsonResponse(200, { a: 1 });
  whole.headers.set('x-request-id', 'r1');
  const genuine = genuineResponse(whole);
  t.equal(Object.getPrototypeOf(genuine), Response.prototype, 'not our subclass');
  t.equal(genuine.headers.get('x-request-id'), 'r1');
  t.equal(genuine.headers.get('content-type'), 'application/json; charset=utf-8');
  t.same(await genuine.json(), { a: 1 });
  const plain = new Response('x');
  t.equal(genuineResponse(plain), plain, 'any other Response as it is');
});

t.test('the web face of the handler answers with genuine Responses', async (t) => {
  const handler = createHandler({ upstream: 'http://127.0.0.1:9/backend-api' });
  for (const path of ['/openapi.json', '/nowhere']) {
    const response = await handler(new Request(`http://localhost${path}`));
    t.equal(Object.getPrototypeOf(response), Response.prototype, path);
    t.ok((await response.text()).length > 0, `${path}: the body is there`);
  }
});

t.test('the Node bridge writes a JSON answer over 64 KiB whole, without a web body', async (t) => {
  const big = { items: Array.from({ length: 3000 }, (_, i) => ({ id: i, text: 'x'.repeat(40) })) };
  let answer: Response | undefined;
  const port = await listenOn(
    t,
    createNodeListener(() => {
      answer = jsonResponse(200, big);
      return Promise.resolve(answer);
    }),
  );
  const response = await fetch(`http://127.0.0.1:${port}/`);
  const text = await response.text();
  t.ok(text.length > 64 * 1024);
  t.equal(response.headers.get('content-length'), String(Buffer.byteLength(text)));
  t.same(JSON.parse(text), big);
  t.not(answer && unreadContent(answer), undefined, 'no web body was ever made for it');
});

t.test('the transport reads a short body whole; the core reads it without a stream', async (t) => {
  const port = await listenOn(t, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(TEXT);
  });
  const transport = createNodeFetch({ connectTimeout: 1000 });
  const response = await transport(`http://127.0.0.1:${port}/`);
  t.ok(unreadContent(response) instanceof Uint8Array, 'the bytes, kept whole');
  t.equal(await readCapped(response, 1024, 1000), TEXT);
  t.equal(unreadContent(response) instanceof Uint8Array, true, 'still no web stream made');
  await t.rejects(
    readCapped(await transport(`http://127.0.0.1:${port}/`), 8, 1000),
    { code: 'upstream_error' },
    'the caller’s own cap still holds on a whole body',
  );
  const sniffed = await readLimited(await transport(`http://127.0.0.1:${port}/`), 5);
  t.equal(sniffed, TEXT.slice(0, 5), 'an error body is sniffed to its limit');
});

/** A message lease that records what its answer taught it and when it was released. */
function recordingLease(): { lease: Lease; events: string[] } {
  const events: string[] = [];
  const lease: Lease = {
    label: 'a',
    message: true,
    release: () => events.push('release'),
    observe: () => undefined,
    remember: (conversationId) => events.push(`remember ${conversationId}`),
  };
  return { lease, events };
}

t.test('a lease on a whole answer ends at once and learns the conversation it names', (t) => {
  const id = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
  const { lease, events } = recordingLease();
  const response = new WholeResponse(JSON.stringify({ conversation_id: id }), { status: 200 });
  t.equal(leasedResponse(response, lease), response, 'the same response, no wrapper stream');
  t.same(events, [`remember ${id}`, 'release']);
  t.end();
});

t.test('the upstream client reads a JSON answer without building its web body', async (t) => {
  const port = await listenOn(t, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(TEXT);
  });
  const { fetch, seen } = recordingTransport();
  const options = resolveOptions({ upstream: `http://127.0.0.1:${port}`, fetch }, {});
  const client = new UpstreamClient(options);
  const got = await client.json(
    { token: 'tok' },
    { method: 'GET', path: '/x' },
    new AbortController().signal,
  );
  t.same(got, JSON.parse(TEXT));
  t.ok(seen[0] && unreadContent(seen[0]) !== undefined, 'its content was taken as it was');
});

/** Byte chunks of `parts`, recording how they were stopped. */
function recordedChunks(parts: string[]): { chunks: ByteChunks; stops: unknown[] } {
  const stops: unknown[] = [];
  const inner = chunksOfWeb(new Response(parts.join('')).body as ReadableStream<Uint8Array>);
  const chunks: ByteChunks = {
    ...inner,
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => inner.next(),
    return: async () => {
      stops.push('return');
      return inner.return?.() ?? { done: true, value: undefined };
    },
    cancel: (reason) => {
      stops.push(reason);
      inner.cancel(reason);
    },
  };
  return { chunks, stops };
}

t.test('a ChunksResponse gives its chunks to one reader, or a web body to a host', async (t) => {
  const taken = new ChunksResponse(recordedChunks(['data: 1\n\n']).chunks, { status: 200 });
  const chunks = takeChunks(taken);
  t.ok(chunks, 'the core takes the chunks');
  t.equal(takeChunks(taken), undefined, 'once');
  t.ok(bodyTaken(taken), 'taken: no direct writer may read it again');
  t.throws(() => taken.body, TypeError, 'and no web body over chunks already read');

  const hosted = new ChunksResponse(recordedChunks(['data: 1\n\n']).chunks, { status: 200 });
  t.equal(await hosted.text(), 'data: 1\n\n', 'a host reads the web body');
  t.equal(takeChunks(hosted), undefined, 'after which the chunks are not given out');

  const { chunks: cancelled, stops } = recordedChunks(['data: 1\n\n']);
  const response = new ChunksResponse(cancelled, { status: 200 });
  await response.body?.cancel(new Error('client left'));
  t.match(stops, [{ message: 'client left' }], "the web body's cancel passes its reason on");
});

t.test('a lease on streamed chunks ends with them and learns the conversation', async (t) => {
  const id = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
  const { lease, events } = recordingLease();
  const { chunks } = recordedChunks([`data: {"conversation_id": "${id}"}\n\n`, 'data: [DONE]\n\n']);
  const leased = leasedResponse(new ChunksResponse(chunks, { status: 200 }), lease);
  const read = takeChunks(leased);
  t.ok(read, 'still chunks: no web stream for the lease either');
  for await (const chunk of read ?? []) t.ok(chunk.byteLength > 0);
  t.same(events, [`remember ${id}`, 'release']);

  const early = recordedChunks(['data: 1\n\n', 'data: 2\n\n']);
  events.length = 0;
  const stopped = takeChunks(
    leasedResponse(new ChunksResponse(early.chunks, { status: 200 }), lease),
  );
  stopped?.cancel(new Error('client left'));
  t.same(events, ['release'], 'a cancel releases the lease');
  t.match(early.stops, [{ message: 'client left' }], 'and reaches the source with its reason');
});
