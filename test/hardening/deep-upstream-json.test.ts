/**
 * JSON the upstream nests thousands deep: `JSON.parse` takes any depth but `JSON.stringify`
 * recurses, so relaying or caching such an answer threw a `RangeError`. Reads and lists answered
 * 500 `internal_error` instead of 502, and a streamed reply whose last message held it never
 * ended on the bridge, Express and the sidecar (the frame was encoded outside the stream's error
 * path: no `reply`, no `error`, no end, no pings). On every mount.
 */
import t from 'tap';
import { MOUNTS, guardProcess, rawAnswer, rawUpstream, type RawRequest } from './harness.js';

const TOKEN = 'Bearer deep-upstream-json-token';
const ID = '4c1d2e3f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const PARENT = '5d2e3f4a-6b7c-4d8e-9f0a-1b2c3d4e5f6a';
const DEEP = '['.repeat(100_000) + ']'.repeat(100_000);

const tree = `{"title":"t","create_time":1,"update_time":2,"current_node":"a","mapping":{"a":{"id":"a","parent":null,"children":[],"message":{"id":"a","author":{"role":"assistant"},"content":{"content_type":"text","parts":["hi"]},"metadata":{"x":${DEEP}},"recipient":"all"}}}}`;
const list = `{"items":[{"id":"${ID}","title":"t","x":${DEEP}}],"total":1,"limit":20,"offset":0}`;

function message(text: string, extra = ''): string {
  return `{"message":{"id":"m1","author":{"role":"assistant"},"content":{"content_type":"text","parts":["${text}"]},"status":"finished_successfully","end_turn":true,"metadata":{"model_slug":"x","finish_details":{"type":"stop"}${extra}},"recipient":"all"},"conversation_id":"${ID}","error":null}`;
}
const stream = `data: ${message('Hel')}\n\ndata: ${message('Hello', `,"citations":[${DEEP}]`)}\n\ndata: [DONE]\n\n`;

function answer(request: RawRequest): string {
  if (request.method === 'POST' && request.path === '/conversation') {
    return rawAnswer(200, stream).replace(
      'content-type: application/json',
      'content-type: text/event-stream',
    );
  }
  return rawAnswer(200, request.path.startsWith('/conversations?') ? list : tree);
}

for (const mount of MOUNTS) {
  t.test(`${mount.name}: JSON nested too deeply to relay is a 502, never a 500`, async (t) => {
    const guard = guardProcess(t);
    const upstream = await rawUpstream((request, socket) => socket.end(answer(request)));
    const app = await mount.start({
      options: { upstream: upstream.url, dialect: 'legacy', timeouts: { idle: 3000 } },
      prefix: '',
      bodyParser: false,
    });
    t.teardown(async () => {
      await app.close();
      await upstream.close();
    });
    const call = (path: string, body?: object) =>
      fetch(`${app.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: TOKEN, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
    for (const path of [
      '/conversations',
      `/conversations/${ID}`,
      `/conversations/${ID}/messages`,
    ]) {
      const response = await call(path);
      t.equal(response.status, 502, `GET ${path}`);
      t.equal(((await response.json()) as { code: string }).code, 'upstream_error');
    }
    const plain = await call('/conversations/new', { prompt: 'hi' });
    t.equal(plain.status, 502, 'a whole reply that cannot be encoded');
    t.match(await plain.text(), /nested too deeply/);

    // Not cached (a parent id is given), so the reply's frame is the first to encode it.
    const streamed = await call(`/conversations/${ID}/ask`, {
      prompt: 'hi',
      parent_id: PARENT,
      stream: true,
    });
    t.equal(streamed.status, 200);
    const text = await streamed.text();
    t.match(text, /event: delta/, 'the deltas came');
    t.match(text, /event: error\ndata: \{"error":"The upstream answer is nested too deeply/);
    t.match(text, /"code":"upstream_error"/);
    t.notMatch(text, /event: done/);
    t.same(guard.escaped, []);
  });
}
