import t from 'tap';
import { frameworkListener, listenOn } from '@chatgpt-rest/test-kit';
import { jsonResponse, wholeBody, withHeaders } from '../src/http/responses.js';
import { unreadContent } from '../src/http/whole-response.js';
import { createNodeListener } from '../src/node/node-bridge.js';

async function getText(port: number): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  return { status: response.status, text: await response.text() };
}

const BODY = { items: [{ id: 'c1', title: 'Grüße, 世界' }], total: 1 };

for (const [name, listener] of [
  ['the Node bridge', createNodeListener],
  ['a framework (Fastify/Koa path)', frameworkListener],
] as const) {
  t.test(`${name} writes a JSON answer from its text, never reading its web body`, async (t) => {
    const answers: Response[] = [];
    const port = await listenOn(
      t,
      listener(() => {
        const response = jsonResponse(200, BODY);
        answers.push(response);
        return Promise.resolve(response);
      }),
    );
    const { status, text } = await getText(port);
    t.equal(status, 200);
    t.same(JSON.parse(text), BODY, 'the whole body, multi-byte characters included');
    t.equal(answers.length, 1);
    t.equal(answers[0]?.bodyUsed, false, 'the web body was left unread');
    t.not(answers[0] && unreadContent(answers[0]), undefined, 'no web body was ever made');
  });

  t.test(`${name} still writes a JSON answer whose body a host locked`, async (t) => {
    const port = await listenOn(
      t,
      listener(() => {
        const response = jsonResponse(200, BODY);
        // A host that tees or inspects the body: the web body is then the only way.
        const [a, b] = (response.body as ReadableStream<Uint8Array>).tee();
        void a.cancel();
        return Promise.resolve(new Response(b, { status: 200, headers: response.headers }));
      }),
    );
    const { status, text } = await getText(port);
    t.equal(status, 200);
    t.same(JSON.parse(text), BODY);
  });
}

t.test(
  'wholeBody: the text of our JSON answers only, and only while the body is unread',
  async (t) => {
    const response = jsonResponse(201, BODY);
    t.equal(wholeBody(response), JSON.stringify(BODY));
    t.equal(wholeBody(new Response('{}')), undefined, 'a Response we did not make has none');
    await response.text();
    t.equal(wholeBody(response), undefined, 'read by someone: the body was the way');
  },
);

t.test('withHeaders changes our headers in place and copies an immutable answer', (t) => {
  const ours = jsonResponse(200, BODY);
  t.equal(
    withHeaders(ours, (h) => h.set('x-request-id', 'r1')),
    ours,
    'the same object',
  );
  t.equal(ours.headers.get('x-request-id'), 'r1');

  const immutable = jsonResponse(200, BODY);
  Object.defineProperty(immutable.headers, 'set', {
    value: () => {
      throw new TypeError('immutable');
    },
  });
  const copy = withHeaders(immutable, (h) => h.set('x-request-id', 'r2'));
  t.not(copy, immutable, 'a copy');
  t.equal(copy.headers.get('x-request-id'), 'r2');
  t.equal(copy.headers.get('content-type'), 'application/json; charset=utf-8');
  t.equal(wholeBody(copy), JSON.stringify(BODY), 'the copy keeps the text of the same body');
  t.end();
});
