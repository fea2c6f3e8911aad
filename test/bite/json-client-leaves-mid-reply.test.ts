/**
 * Issue 12, tests that bite: a NON-streaming client (a JSON answer, sent only once the whole
 * reply is in) that disconnects while the upstream is mid-reply. The handler's `answer()` ties
 * the request's signal to the upstream request for both modes, and the README promises "a client
 * that disconnects aborts the upstream request at once": so the upstream request is aborted here
 * too, not left streaming to nobody. (The hardening suite covers leaving before the upstream's
 * headers, and streaming clients; this is the JSON client leaving after them.)
 */
import { createHandler } from '@chatgpt-rest/core';
import { createBackendEmulator, type RecordedRequest } from '@chatgpt-rest/emulator';
import t from 'tap';
import { MOUNTS, guardProcess } from '../hardening/harness.js';

/** Resolves with `promise`'s value, or undefined after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the upstream sent the message's response headers (the reply is under way). */
async function midReply(request: () => RecordedRequest | undefined): Promise<RecordedRequest> {
  for (let tries = 0; tries < 500; tries++) {
    const found = request();
    if (found?.status === 200) {
      // Let a few events reach the handler, which is now collecting the reply.
      await sleep(100);
      return found;
    }
    await sleep(10);
  }
  throw new Error('the upstream never started the reply');
}

/** The upstream sends a few events of a long reply, then stalls until its client leaves. */
const STALL = { type: 'stall_mid_stream', afterEvents: 6 } as const;

for (const mount of MOUNTS) {
  t.test(`${mount.name}: a JSON client leaving mid-reply aborts the upstream`, async (t) => {
    const guard = guardProcess(t);
    const emulator = await createBackendEmulator({ dialect: 'legacy', replyWords: 60 });
    const app = await mount.start({
      options: { upstream: emulator.url, dialect: 'legacy' },
      prefix: '',
      bodyParser: true,
    });
    t.teardown(async () => {
      await app.close();
      await emulator.close();
    });
    emulator.inject({ match: { method: 'POST' }, fault: STALL });
    const mark = emulator.requests.length;
    const controller = new AbortController();
    const pending = fetch(`${app.url}/conversations/new`, {
      method: 'POST',
      headers: { authorization: 'Bearer json-leaver', 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a long answer please', stream: false }),
      signal: controller.signal,
    }).then(
      () => 'answered',
      () => 'aborted',
    );
    const message = await midReply(() => emulator.requests[mark]);
    t.equal(message.closure, undefined, 'the upstream request is open mid-reply');
    controller.abort();
    t.equal(await pending, 'aborted', 'the client left before any answer');
    const closure = await within(message.closed, 2000);
    t.equal(closure?.aborted, true, 'the upstream request was aborted');
    t.same(guard.escaped, []);
  });
}

t.test('fetch-style host: aborting a JSON request mid-reply aborts the upstream', async (t) => {
  const guard = guardProcess(t);
  const emulator = await createBackendEmulator({ dialect: 'legacy', replyWords: 60 });
  t.teardown(() => emulator.close());
  const handler = createHandler({ upstream: emulator.url, dialect: 'legacy' });
  emulator.inject({ match: { method: 'POST' }, fault: STALL });
  const controller = new AbortController();
  const pending = handler(
    new Request('http://api.local/conversations/new', {
      method: 'POST',
      headers: { authorization: 'Bearer json-leaver', 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a long answer please' }),
      signal: controller.signal,
    }),
  );
  const message = await midReply(() => emulator.requests[0]);
  controller.abort();
  const closure = await within(message.closed, 2000);
  t.equal(closure?.aborted, true, 'the upstream request was aborted');
  const response = await within(pending, 2000);
  t.equal(response?.status, 499, 'the handler settles with the client-gone status');
  t.same(guard.escaped, []);
});
