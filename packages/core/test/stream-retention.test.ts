/**
 * Issue 15, memory per open stream: while a streamed reply is open, the server holds the stream
 * (its reader, its writer), not the objects it was made from. Our own `Response` and the
 * upstream's are not needed once the stream runs; each used to be kept by a waiting frame (the
 * Node bridge awaited the write with the response in scope, the turn awaited the relay with the
 * upstream response in scope), ~2 KiB per stream with their headers. Nor the request: the
 * stream's error mapping kept the route's context, so its request view, headers and URL.
 */
import { request, type IncomingMessage } from 'node:http';
import t from 'tap';
import { collected } from './collected.js';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { listenOn } from '@chatgpt-rest/test-kit';
import { createHandler } from '../src/index.js';
import { nodeFaceOf, withNodeFace, type NodeFace } from '../src/http/node-face.js';
import { createNodeListener } from '../src/node/node-bridge.js';
import { createNodeFetch } from '../src/upstream/node-transport.js';

t.test(
  'an open stream keeps neither its Responses (ours, the upstream one) nor its request',
  async (t) => {
    // Replies paced at 30 s an event: the stream stays open, at its first event, while we look.
    const emulator = await createBackendEmulator({ dialect: 'legacy', pacingMs: 30_000 });
    t.teardown(() => emulator.close());
    const transport = createNodeFetch({ connectTimeout: 5_000 });
    let upstreamRef: WeakRef<Response> | undefined;
    let ownRef: WeakRef<Response> | undefined;
    let requestRef: WeakRef<Request> | undefined;
    const handler = createHandler({
      upstream: emulator.url,
      dialect: 'legacy',
      // A ping soon: the stream's first bytes, while its first event is 30 s away.
      pingInterval: 200,
      fetch: (async (url: string, init: RequestInit) => {
        const response = await transport(url, init);
        if (init.method === 'POST') upstreamRef = new WeakRef(response);
        return response;
      }) as typeof fetch,
    });
    // The handler's Node face (as the mounts call it), wrapped to see the Response it answers.
    const face = nodeFaceOf(handler) as NodeFace;
    const listener = createNodeListener(
      withNodeFace(
        (request: Request) => handler(request),
        async (request) => {
          requestRef = new WeakRef(request);
          const response = await face(request);
          ownRef = new WeakRef(response);
          return response;
        },
      ),
    );
    const port = await listenOn(t, listener);
    const token = 'retention-test-token';
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${port}/conversations/new`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      req.on('response', resolve).on('error', reject);
      req.end(JSON.stringify({ prompt: 'Hello', stream: true }));
    });
    t.teardown(() => res.destroy());
    // The stream's first bytes: a ping (the upstream has accepted the message).
    await new Promise((resolve) => res.once('data', resolve));
    t.ok(await collected(ownRef as WeakRef<Response>), 'our Response was collected');
    t.ok(
      await collected(upstreamRef as WeakRef<Response>),
      "the upstream's Response was collected",
    );
    // The error mapping keeps the client's credentials and the request's signal, not the request.
    t.ok(await collected(requestRef as WeakRef<Request>), 'the request (its view) was collected');
  },
);
