/**
 * Issue 10 item 2 on the REST path: with held tokens, the token pool read a 401/429 body whole
 * (`clone().text()`) to learn from it. With an injected `fetch` (which streams), an endless 401
 * body grew without bound. It is now sniffed within 64 KiB and the rest cancelled.
 */
import { createHandler } from '@chatgpt-rest/core';
import t from 'tap';

t.test('an endless 401 body is sniffed within a cap, not buffered', async (t) => {
  let pulled = 0;
  const endless401: typeof fetch = () =>
    Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled += 65_536;
            controller.enqueue(new Uint8Array(65_536).fill(0x20));
          },
        }),
        { status: 401, headers: { 'content-type': 'application/json' } },
      ),
    );
  const handler = createHandler({
    upstream: 'http://127.0.0.1:9/backend-api',
    dialect: 'legacy',
    fetch: endless401,
    auth: {
      mode: 'server',
      tokens: [{ label: 'a', token: 'held-token-0123456789' }],
      apiKeys: ['k'],
    },
  });
  const response = await handler(
    new Request('http://x/conversations', { headers: { 'x-api-key': 'k' } }),
  );
  t.equal(response.status, 401);
  t.ok(pulled < 1024 * 1024, `read ${pulled} bytes of an endless body`);
});
