import t from 'tap';
import { frameworkListener, listenOn } from '@chatgpt-rest/test-kit';
import { createHandler } from '../src/handler.js';
import { serveNode } from '../src/node/node-bridge.js';
import type { UpstreamFetchInit } from '../src/upstream/node-transport.js';

/** A handler whose upstream answers every call with an empty list, recording each call's tag. */
function recordingHandler(tags: unknown[]) {
  const fetch = (_input: unknown, init?: UpstreamFetchInit): Promise<Response> => {
    tags.push(init?.tag);
    return Promise.resolve(
      new Response(JSON.stringify({ items: [], total: 0, limit: 10, offset: 0 }), {
        headers: { 'content-type': 'application/json' },
      }),
    );
  };
  return createHandler({ upstream: 'http://127.0.0.1:9/backend-api', fetch });
}

t.test('a host’s tag for a request reaches the upstream fetch of its calls', async (t) => {
  for (const [name, listener] of [
    [
      'serveNode',
      (handler: ReturnType<typeof createHandler>, tag: object) =>
        (req: Parameters<typeof serveNode>[1], res: Parameters<typeof serveNode>[2]) =>
          void serveNode(handler, req, res, { tag }),
    ],
    [
      'frameworkResponse',
      (handler: ReturnType<typeof createHandler>, tag: object) =>
        frameworkListener(handler, { tag }),
    ],
  ] as const) {
    const tags: unknown[] = [];
    const tag = { note: name };
    const port = await listenOn(t, listener(recordingHandler(tags), tag));
    const response = await fetch(`http://127.0.0.1:${port}/conversations`, {
      headers: { authorization: 'Bearer tok' },
    });
    t.equal(response.status, 200, name);
    t.equal(tags.length, 1, `${name}: one upstream call`);
    t.equal(tags[0], tag, `${name}: the host’s own object, not a copy`);
  }
  const untagged: unknown[] = [];
  const port = await listenOn(
    t,
    (req, res) => void serveNode(recordingHandler(untagged), req, res),
  );
  await (
    await fetch(`http://127.0.0.1:${port}/conversations`, {
      headers: { authorization: 'Bearer tok' },
    })
  ).arrayBuffer();
  t.same(untagged, [undefined], 'no tag given: none passed');
});
