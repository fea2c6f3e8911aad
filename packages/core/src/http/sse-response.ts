import { RestError } from '../errors.js';

/**
 * An event of a stream: its name (none: a `data:`-only frame, as OpenAI's streams are) and its
 * data, JSON-encoded unless `raw` (OpenAI's closing `[DONE]`).
 */
export interface SseEvent {
  event?: string;
  data: unknown;
  raw?: boolean;
}

const encoder = new TextEncoder();
const PING = Symbol('ping');

/** The text of one event. */
function frameText(event: SseEvent): string {
  const data = event.raw === true ? String(event.data) : JSON.stringify(event.data);
  const name = event.event === undefined ? '' : `event: ${event.event}\n`;
  return `${name}data: ${data}\n\n`;
}

function frame(event: SseEvent): Uint8Array {
  return encoder.encode(frameText(event));
}

/** The REST stream's error event: `event: error` with the error's JSON. */
export function restErrorEvent(error: RestError): SseEvent {
  return { event: 'error', data: error.toJSON() };
}

/**
 * The `event: error` frame that ends a failed stream, as text: the error's JSON (the REST
 * stream's event), or with `shape: 'backend'` the ChatGPT backend's own error event
 * (`message: null` first), for streams relayed from it (the sidecar's pass-through).
 */
export function sseErrorFrame(error: RestError, shape: 'rest' | 'backend' = 'rest'): string {
  const event = restErrorEvent(error);
  return frameText(
    shape === 'rest' ? event : { ...event, data: { message: null, ...error.toJSON() } },
  );
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
    errorEvent = restErrorEvent,
  }: {
    pingInterval: number;
    cancel: (reason?: unknown) => void;
    toError: (error: unknown) => RestError;
    /** The event that ends a failed stream. @default the REST stream's `event: error` */
    errorEvent?: (error: RestError) => SseEvent;
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
          controller.enqueue(frame(errorEvent(restError)));
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
