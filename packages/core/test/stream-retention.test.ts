/**
 * Issue 15, memory per open stream: while a streamed reply is open, the server holds the stream
 * (its reader, its writer), not the objects it was made from. Our own `Response` and the
 * upstream's are not needed once the stream runs; each used to be kept by a waiting frame (the
 * Node bridge awaited the write with the response in scope, the turn awaited the relay with the
 * upstream response in scope), ~2 KiB per stream with their headers. Nor the request: the
 * stream's error mapping kept the route's context, so its request view, headers and URL.
 */
import { request, type IncomingMessage } from 'node:http';
import t, { type Test } from 'tap';
import { collected } from './collected.js';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { listenOn } from '@chatgpt-rest/test-kit';
import { createHandler } from '../src/index.js';
import { nodeFaceOf, withNodeFace, type NodeFace } from '../src/http/node-face.js';
import { createNodeListener } from '../src/node/node-bridge.js';
import { createNodeFetch, forwardingFetch } from '../src/upstream/node-transport.js';

interface Refs {
  upstream?: WeakRef<Response>;
  own?: WeakRef<Response>;
  request?: WeakRef<Request>;
}

/** Opens a streamed reply on `path` and waits for its first bytes; resolves with what to watch. */
async function openStream(t: Test, path: string, body: unknown, marked = true): Promise<Refs> {
  // Replies paced at 30 s an event: the stream stays open, at its first event, while we look.
  const emulator = await createBackendEmulator({ dialect: 'legacy', pacingMs: 30_000 });
  t.teardown(() => emulator.close());
  const transport = createNodeFetch({ connectTimeout: 5_000 });
  const refs: Refs = {};
  const observe = (async (url: string, init: RequestInit) => {
    const response = await transport(url, init);
    if (init.method === 'POST') refs.upstream = new WeakRef(response);
    return response;
  }) as typeof fetch;
  const handler = createHandler({
    upstream: emulator.url,
    dialect: 'legacy',
    // A ping soon: the stream's first bytes, while its first event is 30 s away.
    pingInterval: 200,
    // Handing `init` on unchanged, as the sidecar's observer does: the default transport's path.
    fetch: marked ? forwardingFetch(transport, observe) : observe,
  });
  // The handler's Node face (as the mounts call it), wrapped to see the Response it answers.
  const face = nodeFaceOf(handler) as NodeFace;
  const listener = createNodeListener(
    withNodeFace(
      (request: Request) => handler(request),
      async (request) => {
        refs.request = new WeakRef(request);
        const response = await face(request);
        refs.own = new WeakRef(response);
        return response;
      },
    ),
  );
  const port = await listenOn(t, listener);
  const token = 'retention-test-token';
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    req.on('response', resolve).on('error', reject);
    req.end(JSON.stringify(body));
  });
  t.teardown(() => res.destroy());
  // The stream's first bytes: a ping or a first chunk (the upstream has accepted the message).
  await new Promise((resolve) => res.once('data', resolve));
  return refs;
}

t.test(
  'an open stream keeps neither its Responses (ours, the upstream one) nor its request',
  async (t) => {
    const refs = await openStream(t, '/conversations/new', { prompt: 'Hello', stream: true });
    t.ok(await collected(refs.own as WeakRef<Response>), 'our Response was collected');
    t.ok(
      await collected(refs.upstream as WeakRef<Response>),
      "the upstream's Response was collected",
    );
    // The error mapping keeps the client's credentials and the request's signal, not the request.
    t.ok(await collected(refs.request as WeakRef<Request>), 'the request (its view) was collected');
  },
);

t.test('an open OpenAI-style stream does not keep its request either', async (t) => {
  const refs = await openStream(t, '/v1/chat/completions', {
    model: 'auto',
    messages: [{ role: 'user', content: 'Hello' }],
    stream: true,
  });
  t.ok(await collected(refs.own as WeakRef<Response>), 'our Response was collected');
  // Its chunk writer remembers the thread at the end: it keeps the principal, not the context.
  t.ok(await collected(refs.request as WeakRef<Request>), 'the request (its view) was collected');
});

t.test('nor does a stream through an unmarked wrapper (a controller per call)', async (t) => {
  const refs = await openStream(t, '/conversations/new', { prompt: 'Hello', stream: true }, false);
  t.ok(await collected(refs.own as WeakRef<Response>), 'our Response was collected');
  t.ok(await collected(refs.upstream as WeakRef<Response>), "the upstream's was collected");
  t.ok(await collected(refs.request as WeakRef<Request>), 'the request was collected');
});
