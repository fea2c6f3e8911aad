/**
 * Issue 12, tests that bite: on a fetch-style host (no Node bridge: the handler's `Response` is
 * handed on as is, and the request's signal never fires), a client that goes away shows up only
 * as a cancel of the SSE body. That cancel must abort the upstream request at once, or the
 * upstream stream (and the token's one-message-at-a-time slot) stays held until it ends by itself.
 */
import t from 'tap';
import { createHandler } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { guardProcess } from '../hardening/harness.js';

/** Resolves with `promise`'s value, or undefined after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
}

for (const dialect of ['legacy', 'web'] as const) {
  t.test(`${dialect}: cancelling the SSE body aborts the upstream request`, async (t) => {
    const guard = guardProcess(t);
    const emulator = await createBackendEmulator({ dialect, replyWords: 40 });
    t.teardown(() => emulator.close());
    const handler = createHandler({ upstream: emulator.url, dialect });
    // The upstream sends a few events, then stalls until its client leaves.
    emulator.inject({
      match: { method: 'POST', path: /\/conversation$/ },
      fault: { type: 'stall_mid_stream', afterEvents: 8 },
    });
    // A signal that never fires: the host only tells us by cancelling the body.
    const never = new AbortController();
    const response = await handler(
      new Request('http://api.local/conversations/new', {
        method: 'POST',
        headers: { authorization: 'Bearer cancel-token', 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'cancel me', stream: true }),
        signal: never.signal,
      }),
    );
    t.equal(response.status, 200);
    t.match(response.headers.get('content-type'), /^text\/event-stream/);
    const message = emulator.requests.find(
      (r) => r.method === 'POST' && /\/conversation$/.test(r.path),
    );
    if (message === undefined) throw new Error('no message request reached the upstream');
    const reader = response.body!.getReader();
    const first = await reader.read();
    t.equal(first.done, false, 'one chunk was read');
    t.match(new TextDecoder().decode(first.value), /^event: delta\n/);
    t.equal(message.closure, undefined, 'the upstream request is still open');
    await reader.cancel();
    const closure = await within(message.closed, 2000);
    t.equal(closure?.aborted, true, 'the upstream request was aborted');
    t.notOk(never.signal.aborted, 'the request signal never fired');
    t.same(guard.escaped, []);
  });
}
