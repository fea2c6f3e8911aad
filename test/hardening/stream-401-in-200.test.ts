/**
 * Fault: a 200 `text/event-stream` whose body is the bare 401 JSON (no `data:` lines), as the
 * emulator's raw `unauthorized_in_stream` sends. It must be the 401 it is, not a 502 "ended before
 * [DONE]".
 */
import { sseEvents } from '@chatgpt-rest/test-kit';
import t from 'tap';
import { createHandler } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { collectReply } from '../../packages/core/src/stream/reply-reader.js';
import { RestError } from '../../packages/core/src/errors.js';
import { rest } from '../../packages/core/test/web-dialect-helpers.js';

const encoder = new TextEncoder();

async function* body(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await Promise.resolve();
    yield encoder.encode(part);
  }
}

const EXPIRED = JSON.stringify({
  detail: {
    message: 'Your authentication token has expired. Please try signing in again.',
    type: 'invalid_request_error',
    param: null,
    code: 'token_expired',
  },
});

t.test('the reader maps a bare JSON error body to the error it names', async (t) => {
  await t.rejects(collectReply(body(EXPIRED)), { code: 'token_expired' });
  await t.rejects(collectReply(body(EXPIRED.slice(0, 20), EXPIRED.slice(20))), {
    code: 'token_expired',
  });
  const pretty = JSON.stringify({ detail: { code: 'invalid_jwt', message: 'bad' } }, null, 2);
  await t.rejects(collectReply(body(pretty)), { code: 'invalid_token' }, 'pretty-printed JSON');
  await t.rejects(collectReply(body('{"detail": "Too many requests in 1 hour."}')), {
    code: 'rate_limited',
  });
  await t.rejects(
    collectReply(body('{"detail": "something odd"}')),
    { code: 'upstream_error', message: /error inside the stream/ },
    'an unknown detail is still an upstream error, not a truncated stream',
  );
});

t.test('a non-JSON or event-carrying body keeps the truncated-stream error', async (t) => {
  const error = await collectReply(body('not json at all')).catch((e: unknown) => e);
  t.ok(error instanceof RestError);
  t.match(error, { code: 'upstream_error', message: /ended before \[DONE\]/ });
  // Junk lines before real events are ignored as SSE says; a cut stream stays a cut stream.
  await t.rejects(collectReply(body(`${EXPIRED}\ndata: {"v": "x"}\n\n`)), {
    message: /ended before \[DONE\]/,
  });
});

for (const dialect of ['legacy', 'web'] as const) {
  t.test(`${dialect}: a raw 401 in a 200 stream answers 401 token_expired`, async (t) => {
    const emulator = await createBackendEmulator({ dialect });
    t.teardown(() => emulator.close());
    const handler = createHandler({ upstream: emulator.url, dialect });
    emulator.inject({
      match: { path: /\/conversation$/, method: 'POST' },
      fault: { type: 'unauthorized_in_stream', format: 'raw' },
    });
    const json = await rest(handler, 'POST', '/conversations/new', { body: { prompt: 'hi' } });
    t.equal(json.status, 401, json.text);
    t.equal(json.json.code, 'token_expired');

    emulator.inject({
      match: { path: /\/conversation$/, method: 'POST' },
      fault: { type: 'unauthorized_in_stream', format: 'raw' },
    });
    const streamed = await rest(handler, 'POST', '/conversations/new', {
      body: { prompt: 'hi', stream: true },
    });
    const events = sseEvents(streamed.text);
    t.same(events.at(-1)?.event, 'error');
    t.equal(events.at(-1)?.data.code, 'token_expired');
  });
}
