import http from 'node:http';
import t from 'tap';
import { listenOn } from '@chatgpt-rest/test-kit';
import { RestError } from '../src/errors.js';
import { endableSse, type EndStream } from '../src/http/endable-sse.js';
import {
  directSse,
  sseResponse,
  withDirectSse,
  type DirectSse,
  type SseEvent,
  type SseSink,
} from '../src/http/sse-response.js';
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
  // Cancelled while nothing reads on, the rejection has no waiter yet.
  aborted.catch(() => undefined);
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

/** A stream of ours whose direct writer is `run` (its web body one event). */
function fakeSse(run: DirectSse['run'], cancel: DirectSse['cancel'] = () => undefined): Response {
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new TextEncoder().encode('data: w\n\n'));
      controller.close();
    },
  });
  const response = new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  return withDirectSse(response, { run, cancel });
}

/** A sink that records frames and its end. */
function recordingSink(frames: string[]): SseSink {
  let ended = false;
  return {
    write: (frame) => frames.push(frame) > 0,
    ready: () => Promise.resolve(),
    get closed() {
      return ended;
    },
    end: () => {
      ended = true;
      frames.push('<end>');
    },
  };
}

t.test(
  'a host that ends the stream inside register (already stopping) gets the frame and an end',
  async (t) => {
    const cancelled: unknown[] = [];
    let ran = false;
    const response = fakeSse(
      () => {
        ran = true;
        return Promise.resolve();
      },
      (reason) => cancelled.push(reason),
    );
    const wrapped = endableSse(response, (end) => {
      end(FRAME, 'stopping');
      return () => undefined;
    });
    const frames: string[] = [];
    await directSse(wrapped)?.run(recordingSink(frames));
    t.same(frames, [FRAME, '<end>']);
    t.same(cancelled, ['stopping'], 'the stream (and its upstream) cancelled');
    t.equal(ran, false, 'nothing left to run');
  },
);

t.test(
  'an end right after the stream ended itself writes nothing to the ended response',
  async (t) => {
    const errors: unknown[] = [];
    const onUncaught = (error: unknown): void => void errors.push(error);
    process.on('uncaughtException', onUncaught);
    t.teardown(() => process.off('uncaughtException', onUncaught));
    let end: EndStream | undefined;
    const response = fakeSse(async (sink) => {
      sink.write('data: 1\n\n');
      sink.end();
      // It settles a few microtasks after its own end, as runDirect does; the host ends in between.
      queueMicrotask(() => end?.(FRAME, 'late'));
      await Promise.resolve();
      await Promise.resolve();
    });
    const wrapped = endableSse(response, (e) => {
      end = e;
      return () => undefined;
    });
    const port = await listenOn(
      t,
      createNodeListener(() => Promise.resolve(wrapped)),
    );
    const text = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.equal(text, 'data: 1\n\n');
    t.same(errors, [], 'no write after end on res');
  },
);

t.test('a web body someone else locked leaves no stopper behind', async (t) => {
  const stoppers = new Set<() => void>();
  const response = new Response(new ReadableStream<Uint8Array>(), {
    headers: { 'content-type': 'text/event-stream' },
  });
  response.body?.getReader();
  const wrapped = endableSse(response, (end) => {
    const stop = (): void => end(FRAME, 'x');
    stoppers.add(stop);
    return () => stoppers.delete(stop);
  });
  await t.rejects(wrapped.text());
  t.equal(stoppers.size, 0);
});

t.test(
  'an end while no web read waits cancels the source at once and forgets the stopper',
  async (t) => {
    const state: { cancelled?: unknown } = {};
    const { wrapped, hooks } = endable(liveStream(state));
    const reader = (wrapped.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    hooks.end?.(FRAME, 'now');
    t.equal(state.cancelled, 'now', 'cancelled before anyone reads again');
    t.equal(hooks.forgotten, 1);
    t.equal(
      new TextDecoder().decode((await reader.read()).value),
      FRAME,
      'the next read gets the frame',
    );
    t.equal((await reader.read()).done, true);
  },
);
