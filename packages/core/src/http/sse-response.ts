import { RestError } from '../errors.js';

/** An event of the REST stream: its name and JSON data. */
export interface SseEvent {
  event: string;
  data: unknown;
}

const encoder = new TextEncoder();
const PING = Symbol('ping');

function frame(event: SseEvent): Uint8Array {
  return encoder.encode(`event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
}

/** The headers of every REST event stream. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

/**
 * A `text/event-stream` response that pulls events from `events` only as fast as the client
 * reads, sends `: ping` after `pingInterval` ms of silence, ends a failure with `event: error`
 * (no `done`), and calls `cancel` when the client goes away so the upstream is aborted.
 */
export function sseResponse(
  events: AsyncIterator<SseEvent>,
  {
    pingInterval,
    cancel,
    toError,
  }: {
    pingInterval: number;
    cancel: (reason?: unknown) => void;
    toError: (error: unknown) => RestError;
  },
): Response {
  let pending: Promise<IteratorResult<SseEvent>> | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        pending ??= events.next();
        let timer: NodeJS.Timeout | undefined;
        const ping = new Promise<typeof PING>((resolve) => {
          timer = setTimeout(() => resolve(PING), pingInterval);
        });
        try {
          const result = await Promise.race([pending, ping]);
          if (result === PING) {
            controller.enqueue(encoder.encode(': ping\n\n'));
            return;
          }
          pending = undefined;
          if (result.done === true) controller.close();
          else controller.enqueue(frame(result.value));
        } catch (error) {
          pending = undefined;
          const restError = toError(error);
          controller.enqueue(frame({ event: 'error', data: restError.toJSON() }));
          controller.close();
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        // The reason (a host's shutdown RestError, a client gone) goes on to the upstream abort.
        cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200, headers: SSE_HEADERS });
}
