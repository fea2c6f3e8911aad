import t from 'tap';
import { listenOn } from '@chatgpt-rest/test-kit';
import { readBodyFields } from '../src/http/request-body.js';
import { withNodeFace } from '../src/http/node-face.js';
import { jsonResponse } from '../src/http/responses.js';
import { createNodeListener } from '../src/node/node-bridge.js';

/** What a handler saw of its request, and the fields it read from the body. */
interface Seen {
  isRequest: boolean;
  method: string;
  url: string;
  requestId: string | null;
  fields: unknown;
}

function recorder(seen: Seen[], limit = 64) {
  return async (request: Request): Promise<Response> => {
    seen.push({
      isRequest: request instanceof Request,
      method: request.method,
      url: request.url,
      requestId: request.headers.get('x-request-id'),
      fields: await readBodyFields(request, limit).catch(
        (error: unknown) => (error as { code?: string }).code,
      ),
    });
    return jsonResponse(200, { ok: true });
  };
}

async function post(port: number, body: string, type = 'application/json'): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/conversations/new?x=1`, {
    method: 'POST',
    headers: { 'content-type': type, 'x-request-id': 'req-1' },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

t.test('the bridge gives a Node face a request view, any other handler a Request', async (t) => {
  const viewed: Seen[] = [];
  const faced = recorder(viewed);
  const real: Seen[] = [];
  const viewPort = await listenOn(t, createNodeListener(withNodeFace(faced, faced)));
  const realPort = await listenOn(t, createNodeListener(recorder(real)));
  for (const port of [viewPort, realPort]) {
    t.equal(await post(port, '{"prompt":"Hi"}'), 200);
    t.equal(await post(port, 'prompt=Hi&title=T', 'application/x-www-form-urlencoded'), 200);
    t.equal(await post(port, JSON.stringify({ prompt: 'x'.repeat(100) })), 200);
  }
  t.same(
    viewed.map((s) => s.isRequest),
    [false, false, false],
    'no web Request built for the Node face',
  );
  t.same(
    real.map((s) => s.isRequest),
    [true, true, true],
    'a host handler gets a real one',
  );
  // Both read the same: method, URL, headers (the id), and the body within its limit.
  const asRead = ({ isRequest: _, url, ...rest }: Seen) => ({
    ...rest,
    path: new URL(url).pathname,
  });
  t.same(viewed.map(asRead), real.map(asRead));
  t.same(viewed[0], {
    isRequest: false,
    method: 'POST',
    url: `http://127.0.0.1:${viewPort}/conversations/new?x=1`,
    requestId: 'req-1',
    fields: { prompt: 'Hi' },
  });
  t.same(viewed[1]?.fields, { prompt: 'Hi', title: 'T' });
  t.equal(viewed[2]?.fields, 'payload_too_large', 'a body over the limit: 413');
});

t.test('a request view still gives its body as a web stream to whoever asks', async (t) => {
  let text: string | undefined;
  const handler = async (request: Request): Promise<Response> => {
    text = await new Response(request.body).text();
    return jsonResponse(200, {});
  };
  const port = await listenOn(t, createNodeListener(withNodeFace(handler, handler)));
  t.equal(await post(port, '{"prompt":"streamed"}'), 200);
  t.equal(text, '{"prompt":"streamed"}');
});
