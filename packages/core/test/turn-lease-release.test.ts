/**
 * Fault: a streamed turn whose response was cancelled before anyone read it (a fetch-style host
 * cancelling the body of a client already gone, a framework that awaited before piping while the
 * client left) aborted the upstream request but left the turn paused at its `start`, holding the
 * upstream body nobody read. The server-held token's message lease is let go only when that body
 * ends, fails or is cancelled, so it was held for ever: every later message on the token waited
 * in the queue and failed `429 conversation_busy` until the process restarted. Each case below
 * leaves a stream in a different place, then asks again on the same single token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import t, { type Test } from 'tap';
import {
  createHandler,
  frameworkResponse,
  serveNode,
  type ChatGptRestOptions,
} from '../src/index.js';
import { MAX_TIMER_MS } from '../src/timer-limit.js';
import { discardResponse } from '../src/http/sse-response.js';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { listenOn } from '@chatgpt-rest/test-kit';

const KEY = 'key-lease-release-0001';

async function setup(t: Test, pacingMs = 0, extra: Partial<ChatGptRestOptions> = {}) {
  const emulator = await createBackendEmulator({ dialect: 'legacy', pacingMs, replyWords: 30 });
  t.teardown(() => emulator.close());
  const handler = createHandler({
    upstream: emulator.url,
    dialect: 'legacy',
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    auth: {
      mode: 'server',
      tokens: [{ label: 'only', token: 'held-token-lease-release' }],
      apiKeys: [KEY],
      queue: { size: 4, waitMs: 1500 },
    },
    ...extra,
  });
  const ask = (stream: boolean, headers: Record<string, string> = {}) =>
    new Request('http://127.0.0.1/conversations/new', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY, ...headers },
      body: JSON.stringify({ prompt: 'hello there', stream }),
    });
  return { emulator, handler, ask };
}

/** The next message on the token is answered, not refused as busy. */
async function nextAskAnswered(
  t: Test,
  handler: (r: Request) => Promise<Response>,
  ask: (s: boolean) => Request,
) {
  const next = await handler(ask(false));
  t.equal(
    next.status,
    201,
    `the next message is answered (${next.status} ${await next.clone().text()})`,
  );
  await next.text();
}

t.test('a web stream cancelled before its first read lets go of the token', async (t) => {
  const { handler, ask } = await setup(t);
  const first = await handler(ask(true));
  t.equal(first.status, 200);
  await first.body?.cancel();
  await nextAskAnswered(t, handler, ask);
});

t.test('a web stream cancelled after its first event lets go of the token', async (t) => {
  const { handler, ask } = await setup(t, 20);
  const first = await handler(ask(true));
  const reader = first.body!.getReader();
  await reader.read();
  await reader.cancel();
  await nextAskAnswered(t, handler, ask);
});

t.test('a host CORS check that throws refuses the origin, not the answer', async (t) => {
  // A typical check parses the origin; `Origin: null` (a sandboxed iframe) makes it throw. That
  // came after the turn had started, so the answer became a 500 that ended cleanly and the
  // stream behind it, never read, held the token for ever.
  const origins = (origin: string) => new URL(origin).hostname.endsWith('.example.com');
  const { handler, ask } = await setup(t, 0, { cors: { origins } });
  const first = await handler(ask(true, { origin: 'null' }));
  t.equal(first.status, 200, 'the stream is answered');
  t.equal(first.headers.get('access-control-allow-origin'), null, 'without CORS headers');
  await first.body?.cancel();
  const allowed = await handler(ask(false, { origin: 'https://app.example.com' }));
  t.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
  await allowed.text();
  await nextAskAnswered(t, handler, ask);
});

t.test('discardResponse lets a turn nobody will write go', async (t) => {
  // What the handler does when finishing an answer throws after the turn started.
  const { handler, ask } = await setup(t, 20);
  discardResponse(await handler(ask(true)));
  await nextAskAnswered(t, handler, ask);
});

t.test('a stream a host drops unread gives its token back after three idle timeouts', async (t) => {
  // The backstop for a code path that forgets a body: neither read nor cancelled, the request
  // not aborted. Without it the token's message slot was held for ever.
  const warnings: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn: (_: object, m: string) => warnings.push(m),
    error() {},
  };
  const { handler, ask } = await setup(t, 0, { timeouts: { idle: 100 }, logger });
  const dropped = await handler(ask(true));
  t.equal(dropped.status, 200);
  await new Promise((resolve) => setTimeout(resolve, 450));
  await nextAskAnswered(t, handler, ask);
  t.ok(
    warnings.some((m) => /unread/.test(m)),
    'a warning says what happened',
  );
});

t.test(
  'the longest idle timeout a timer takes keeps the backstop waiting, not spinning',
  async (t) => {
    // Three idle timeouts past what a Node timer can wait made it fire after 1 ms, again and again
    // (and warn each time) for as long as the stream lived.
    const overflows: string[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'TimeoutOverflowWarning') overflows.push(warning.message);
    };
    process.on('warning', onWarning);
    t.teardown(() => process.off('warning', onWarning));
    const { handler, ask } = await setup(t, 0, { timeouts: { idle: MAX_TIMER_MS } });
    const answer = await handler(ask(true));
    await answer.text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.same(overflows, [], 'no timer overflowed');
  },
);

/** A Node server whose handler is `serve`; resolves with its URL. */
async function server(t: Test, serve: (req: IncomingMessage, res: ServerResponse) => void) {
  return `http://127.0.0.1:${await listenOn(t, serve)}`;
}

/** Posts a streamed ask and leaves after `leaveMs` (before or while the stream is read). */
async function leaveAfter(url: string, leaveMs: number) {
  const controller = new AbortController();
  const answer = fetch(`${url}/conversations/new`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify({ prompt: 'hello there', stream: true }),
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), leaveMs);
  try {
    const response = await answer;
    const reader = response.body!.getReader();
    for (;;) if ((await reader.read()).done) break;
  } catch {
    // Left, as meant.
  }
}

t.test('a client leaving a Node stream mid-reply lets go of the token', async (t) => {
  const { handler, ask } = await setup(t, 20);
  const url = await server(t, (req, res) => void serveNode(handler, req, res));
  await leaveAfter(url, 150);
  await nextAskAnswered(t, handler, ask);
});

t.test(
  'a framework that awaits before piping while the client leaves lets go of the token',
  async (t) => {
    const { handler, ask } = await setup(t, 20);
    const url = await server(t, (req, res) => {
      void (async () => {
        const answer = await frameworkResponse(handler, req, res);
        // A host middleware awaiting after ours (a session saved to a store): the client leaves.
        await new Promise((resolve) => setTimeout(resolve, 200));
        res.writeHead(answer.status, answer.headers.flat());
        if (answer.body === undefined || Buffer.isBuffer(answer.body)) res.end(answer.body);
        else {
          answer.body.on('error', () => undefined);
          answer.body.pipe(res);
        }
      })();
    });
    await leaveAfter(url, 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await nextAskAnswered(t, handler, ask);
  },
);
