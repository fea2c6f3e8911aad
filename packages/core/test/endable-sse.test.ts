import http from 'node:http';
import t from 'tap';
import { listenOn } from '@chatgpt-rest/test-kit';
import { RestError } from '../src/errors.js';
import { endableSse, type EndStream } from '../src/http/endable-sse.js';
import { directSse, sseResponse, type SseEvent } from '../src/http/sse-response.js';
import { createNodeListener } from '../src/node/node-bridge.js';

const FRAME = 'event: error\ndata: {"code":"upstream_unavailable","message":"shutting down"}\n\n';

/**
 * A stream of one event that then waits until it is cancelled, which fails its wait as an
 * aborted upstream read would; what cancelled it is kept.
 */
function liveStream(state: { cancelled?: unknown }): Response {
  let abort: (reason: unknown) => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    abort = reject;
  });
  async function* events(): AsyncGenerator<SseEvent> {
    yield { event: 'delta', data: { text: 'Hello' } };
    await aborted;
  }
  return sseResponse(events(), {
    pingInterval: 60_000,
    cancel: (reason) => {
      state.cancelled = reason;
      abort(reason);
    },
    toError: (error) => (error instanceof RestError ? error : new RestError('internal_error', 'x')),
  });
}

/** endableSse with the end function and the number of registrations kept. */
function endable(response: Response) {
  const hooks: { end?: EndStream; registered: number; forgotten: number } = {
    registered: 0,
    forgotten: 0,
  };
  const wrapped = endableSse(response, (end) => {
    hooks.end = end;
    hooks.registered++;
    return () => {
      hooks.forgotten++;
    };
  });
  return { wrapped, hooks };
}

t.test(
  'an endable stream keeps its direct writer: a Node mount writes it straight to res',
  async (t) => {
    const state: { cancelled?: unknown } = {};
    const original = liveStream(state);
    const { wrapped, hooks } = endable(original);
    t.ok(directSse(wrapped), 'the wrapped response still has a direct writer');
    t.equal(hooks.registered, 0, 'nothing registered before anyone reads');

    const port = await listenOn(
      t,
      createNodeListener(() => Promise.resolve(wrapped)),
    );
    const reason = new RestError('upstream_unavailable', 'shutting down');
    const text = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.includes('Hello') && hooks.end !== undefined && state.cancelled === undefined)
            hooks.end(FRAME, reason);
        });
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
    });
    t.match(text, /event: delta[\s\S]*event: error\ndata: \{"code":"upstream_unavailable"/);
    t.ok(text.endsWith(FRAME), 'the end frame is the last thing written');
    t.equal(
      state.cancelled,
      reason,
      'the stream (and so the upstream) was cancelled with the reason',
    );
    t.equal(original.body?.locked, false, "the original's web body was never read");
    t.equal(wrapped.body?.locked, false, "nor the wrapper's");
    t.equal(hooks.registered, 1);
    t.equal(hooks.forgotten, 1, 'forgotten once the stream is over');
  },
);

t.test('an endable stream read as a web body ends the same way', async (t) => {
  const state: { cancelled?: unknown } = {};
  const { wrapped, hooks } = endable(liveStream(state));
  const reader = (wrapped.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const first = await reader.read();
  t.match(decoder.decode(first.value), /event: delta/);
  t.equal(hooks.registered, 1, 'registered on the first read');
  const reason = new RestError('upstream_unavailable', 'shutting down');
  hooks.end?.(FRAME, reason);
  const last = await reader.read();
  t.equal(decoder.decode(last.value), FRAME);
  t.equal((await reader.read()).done, true, 'then the stream ends');
  t.equal(state.cancelled, reason);
  t.equal(hooks.forgotten, 1);
});

t.test('a stream that ends by itself is forgotten, and a later end changes nothing', async (t) => {
  async function* two(): AsyncGenerator<SseEvent> {
    await Promise.resolve();
    yield { event: 'delta', data: { i: 1 } };
  }
  const state: { cancelled?: unknown } = {};
  const response = sseResponse(two(), {
    pingInterval: 60_000,
    cancel: (reason) => {
      state.cancelled = reason;
    },
    toError: () => new RestError('internal_error', 'x'),
  });
  const { wrapped, hooks } = endable(response);
  const port = await listenOn(
    t,
    createNodeListener(() => Promise.resolve(wrapped)),
  );
  const text = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  t.match(text, /"i":1/);
  t.equal(hooks.forgotten, 1);
  hooks.end?.(FRAME, new Error('late'));
  t.equal(state.cancelled, undefined, 'a finished stream is not cancelled');
});

t.test('a response without a body is returned as it is', (t) => {
  const empty = new Response(null, { status: 204 });
  t.equal(
    endableSse(empty, () => () => undefined),
    empty,
  );
  t.end();
});
