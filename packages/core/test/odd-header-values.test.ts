/**
 * Fault: a value with a control character reached a response header, and the client waited for
 * ever. The reply assembler kept any string as the conversation id, the OpenAI route sends it as
 * `X-ChatGPT-Conversation-Id`, and Node's `setHeader` refuses `\x01`-`\x1f` (which `Headers`
 * takes): `writeWebResponse` threw before the head went out, `res` was neither ended nor
 * destroyed, and the socket stayed held. Now the assembler fails a stream whose conversation id
 * is no id (502 `upstream_error`), and a head Node refuses is answered with a 500, the body
 * cancelled, the error told to `onError`.
 */
import t, { type Test } from 'tap';
import { listenOn } from '@chatgpt-rest/test-kit';
import { RestError } from '../src/errors.js';
import { createHandler, serveNode } from '../src/index.js';
import { collectReply } from '../src/stream/reply-reader.js';

const ODD = 'a\u0001b';

/** A Node server serving `handler` through the bridge; what `onError` heard. */
async function bridged(t: Test, handler: (request: Request) => Promise<Response>) {
  const heard: unknown[] = [];
  const port = await listenOn(t, (req, res) => {
    void serveNode(handler, req, res, { onError: (error) => heard.push(error) });
  });
  return { url: `http://127.0.0.1:${port}`, heard };
}

/** The answer to `init` at `url`, or 'hung' after two seconds. */
async function answer(url: string, init: RequestInit = {}) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) }).catch(
    () => undefined,
  );
  if (response === undefined) return 'hung';
  return { status: response.status, body: await response.text() };
}

function sse(conversationId: string): string {
  const message = {
    id: 'm1',
    author: { role: 'assistant' },
    content: { content_type: 'text', parts: ['hi'] },
    recipient: 'all',
    status: 'finished_successfully',
    metadata: {},
  };
  return `data: ${JSON.stringify({ message, conversation_id: conversationId })}\n\ndata: [DONE]\n\n`;
}

function body(text: string): ReadableStream<Uint8Array> {
  return new Response(text).body!;
}

t.test('a stream whose conversation id is no id fails as the upstream’s', async (t) => {
  for (const odd of [ODD, 'a b', 'x'.repeat(257), 'a/b', '']) {
    const error = await collectReply(body(sse(odd))).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (odd === '') {
      t.equal(error, undefined, 'an empty id is no id at all: left to the turn, as before');
      continue;
    }
    t.ok(error instanceof RestError, JSON.stringify(odd.slice(0, 10)));
    t.equal((error as RestError).code, 'upstream_error');
    t.match((error as RestError).message, /malformed conversation id/);
  }
  const id = '69eb5a4b-282c-83ea-b4f6-91ba9510bc9f';
  t.equal((await collectReply(body(sse(id)))).conversationId, id, 'a real one is kept');
});

t.test('the OpenAI route answers 502 for it instead of hanging', async (t) => {
  const upstream = (url: string | URL | Request): Promise<Response> =>
    Promise.resolve(
      (url instanceof Request ? url.url : url.toString()).endsWith('/conversation')
        ? new Response(sse(ODD), { headers: { 'content-type': 'text/event-stream' } })
        : Response.json({ title: 't' }),
    );
  const handler = createHandler({
    upstream: 'http://127.0.0.1:9/backend-api',
    dialect: 'legacy',
    fetch: upstream,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  const { url } = await bridged(t, handler);
  const got = await answer(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer tok-odd-header', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }),
  });
  t.not(got, 'hung');
  t.equal(typeof got === 'object' && got.status, 502);
});

t.test('a head Node refuses is answered with a 500 and the body cancelled', async (t) => {
  let cancelled = false;
  const answers = {
    whole: () => Response.json({ ok: 1 }, { headers: { 'x-odd': ODD } }),
    streamed: () =>
      new Response(
        new ReadableStream<Uint8Array>({
          cancel() {
            cancelled = true;
          },
        }),
        { headers: { 'x-odd': ODD, 'content-type': 'text/plain' } },
      ),
  };
  for (const [kind, make] of Object.entries(answers)) {
    const { url, heard } = await bridged(t, () => Promise.resolve(make()));
    const got = await answer(url);
    t.not(got, 'hung', `${kind}: answered`);
    if (got === 'hung') continue;
    t.equal(got.status, 500, kind);
    t.match(JSON.parse(got.body), { code: 'internal_error' }, kind);
    t.match(heard, [{ code: 'ERR_INVALID_CHAR' }], `${kind}: the host heard of it`);
  }
  t.ok(cancelled, 'the streamed body was cancelled');
});
