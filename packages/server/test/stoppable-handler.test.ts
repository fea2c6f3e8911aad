import t from 'tap';
import { RestError, type ChatGptHandler } from '@chatgpt-rest/core';
import {
  directSse,
  sseResponse,
  type SseEvent,
  type SseSink,
} from '../../core/src/http/sse-response.js';
import { SHUTDOWN_MESSAGE, StreamStoppers } from '../src/shutdown.js';
import { stoppable } from '../src/stoppable-handler.js';

/**
 * One event, then a wait that the stream's cancellation fails, as the core's upstream abort
 * does when a stream is cancelled (at shutdown: with the shutdown reason).
 */
function streamingHandler(): ChatGptHandler {
  const handler = (): Promise<Response> => {
    let abort: (reason: unknown) => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      abort = reject;
    });
    aborted.catch(() => undefined);
    async function* events(): AsyncGenerator<SseEvent> {
      yield { event: 'delta', data: { text: 'Hi' } };
      await aborted;
    }
    const response = sseResponse(events(), {
      pingInterval: 60_000,
      cancel: (reason) => abort(reason),
      toError: (error) =>
        error instanceof RestError ? error : new RestError('internal_error', 'x'),
    });
    response.headers.set('x-request-id', 'req-7');
    return Promise.resolve(response);
  };
  return handler as unknown as ChatGptHandler;
}

t.test(
  'the sidecar keeps the direct writer of its event streams, and shutdown ends them through it',
  async (t) => {
    const streams = new StreamStoppers();
    const served = stoppable(streamingHandler(), streams);
    const response = await served(
      new Request('http://127.0.0.1/conversations/new', { method: 'POST' }),
    );
    const direct = directSse(response);
    t.ok(direct, 'Node mounts write it straight to res, no web-stream wrapper');
    const frames: string[] = [];
    let ended = false;
    const sink: SseSink = {
      write(frame) {
        frames.push(frame);
        if (frame.includes('"Hi"')) streams.stopAll();
        return true;
      },
      ready: () => Promise.resolve(),
      get closed() {
        return ended;
      },
      end() {
        ended = true;
      },
    };
    await direct?.run(sink);
    t.match(frames[0], /event: delta/);
    t.match(frames.at(-1), new RegExp(`event: error\\ndata: .*${SHUTDOWN_MESSAGE}.*req-7`));
    t.equal(frames.length, 2, 'nothing after the shutdown frame');
    t.ok(ended, 'the stream ended');
    t.equal(streams.size, 0, 'the stopper is forgotten');
  },
);

t.test(
  'a stream that starts after shutdown stopped the others gets the shutdown frame at once',
  async (t) => {
    const streams = new StreamStoppers();
    streams.stopAll();
    const served = stoppable(streamingHandler(), streams);
    const response = await served(
      new Request('http://127.0.0.1/conversations/new', { method: 'POST' }),
    );
    const frames: string[] = [];
    let ended = false;
    await directSse(response)?.run({
      write: (frame) => frames.push(frame) > 0,
      ready: () => Promise.resolve(),
      get closed() {
        return ended;
      },
      end() {
        ended = true;
      },
    });
    t.equal(frames.length, 1, 'only the shutdown frame');
    t.match(frames[0], new RegExp(SHUTDOWN_MESSAGE));
    t.ok(ended);
    t.equal(streams.size, 0);
  },
);
