import { RestError } from '../errors.js';
import { NO_PROBE, type StreamProbe } from '../metrics/recorder.js';
import { jsonText } from './json-text.js';
import { RecordHeaders } from './record-headers.js';
import { LazyBodyResponse, bodyTaken } from './whole-response.js';

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
const PING_FRAME = ': ping\n\n';

/** The text of one event. */
function frameText(event: SseEvent): string {
  const data = event.raw === true ? String(event.data) : jsonText(event.data);
  const name = event.event === undefined ? '' : `event: ${event.event}\n`;
  return `${name}data: ${data}\n\n`;
}

function frame(event: SseEvent): Uint8Array {
  return encoder.encode(frameText(event));
}

/**
 * The REST stream's error event: `event: error` with the error's JSON, and `request_id` (the
 * request's id, as its `X-Request-Id` header says) when given.
 */
export function restErrorEvent(error: RestError, requestId?: string): SseEvent {
  const data = error.toJSON();
  return {
    event: 'error',
    data: requestId === undefined ? data : { ...data, request_id: requestId },
  };
}

/**
 * The `event: error` frame that ends a failed stream, as text: the error's JSON (the REST
 * stream's event), or with `shape: 'backend'` the ChatGPT backend's own error event
 * (`message: null` first), for streams relayed from it (the sidecar's pass-through); with
 * `request_id` when `requestId` is given.
 */
export function sseErrorFrame(
  error: RestError,
  shape: 'rest' | 'backend' = 'rest',
  requestId?: string,
): string {
  const event = restErrorEvent(error, requestId);
  const data = event.data as Record<string, unknown>;
  return frameText(shape === 'rest' ? event : { ...event, data: { message: null, ...data } });
}

/** The headers of every REST event stream. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

/** How a stream is driven and ended: {@link sseResponse}'s options. */
export interface SseOptions {
  pingInterval: number;
  cancel: (reason?: unknown) => void;
  toError: (error: unknown) => RestError;
  /** The event that ends a failed stream. @default the REST stream's `event: error` */
  errorEvent?: (error: RestError) => SseEvent;
  /** Told when the stream opens, of each frame's bytes, and how it ends (metrics). */
  probe?: StreamProbe;
  /**
   * Longest a Node sink may stay full without the client taking a byte (it stopped reading, its
   * connection open) before the stream is cut and the upstream aborted: else it would hold the
   * upstream request, and a server-held token's message slot, for as long as the client likes.
   * A slow client that still reads is never cut. @default no limit
   */
  stallMs?: number;
}

/**
 * Where a Node host writes a stream's frames instead of reading the `Response` body: a Node
 * response, or a Node stream a framework pipes.
 */
export interface SseSink {
  /** Writes one frame; false when the sink is full: wait for `ready()` before the next. */
  write(frame: string): boolean;
  /** Resolves when the sink takes more again, or has closed. */
  ready(): Promise<void>;
  /** True once nobody reads on (the client left, the host destroyed it). */
  readonly closed: boolean;
  /** Ends the stream: every frame was written. */
  end(): void;
  /** Cuts the stream unfinished (its client stopped reading); without it the sink is left. */
  abort?(): void;
  /** Bytes held for the client (they move while it reads, however slowly); or unknown. */
  buffered?(): number | undefined;
}

/**
 * A stream's frames written straight to a Node sink, the body's web stream never started:
 * `run` once, `cancel` when the client leaves (it aborts the upstream; idempotent).
 */
export interface DirectSse {
  run(sink: SseSink): Promise<void>;
  cancel(reason?: unknown): void;
}

const DIRECT = Symbol('chatgpt-rest.sse-direct');
type WithDirect = Response & { [DIRECT]?: DirectSse };

/**
 * The direct writer of an event-stream `Response` made by {@link sseResponse}, unless its body
 * was read or locked (a host took it): then the body is the only way.
 */
export function directSse(response: Response): DirectSse | undefined {
  const direct = (response as WithDirect)[DIRECT];
  return direct === undefined || bodyTaken(response) ? undefined : direct;
}

/**
 * Lets the source of `response` stop (an upstream reply, a turn's lease) when nobody will write
 * it: its direct writer is cancelled, else its body.
 */
export function discardResponse(response: Response, reason?: unknown): void {
  const direct = directSse(response);
  if (direct !== undefined) direct.cancel(reason);
  else if (response.body !== null && !response.body.locked) {
    response.body.cancel(reason).catch(() => undefined);
  }
}

/** `to`, given `from`'s direct writer when it carries the same body (re-labelled headers). */
export function keepDirect(from: Response, to: Response): Response {
  const direct = (from as WithDirect)[DIRECT];
  return direct !== undefined && to.body === from.body ? withDirectSse(to, direct) : to;
}

/** `response`, written by `direct` on Node mounts (its web body left to fetch-style hosts). */
export function withDirectSse(response: Response, direct: DirectSse): Response {
  Object.defineProperty(response, DIRECT, { value: direct });
  return response;
}

/**
 * A `text/event-stream` response that pulls events from `events` only as fast as the client
 * reads, sends `: ping` after `pingInterval` ms of silence, ends a failure with `event: error`
 * (no `done`), and calls `cancel` when the client goes away so the upstream is aborted. Node
 * hosts write it through {@link directSse} instead; fetch-style hosts read the body.
 */
export function sseResponse(events: AsyncIterator<SseEvent>, options: SseOptions): Response {
  let claimed: 'web' | 'node' | undefined;
  let cancelled = false;
  const pinger: Pinger = {};
  const probe = options.probe ?? NO_PROBE;
  const cancel = (reason?: unknown): void => {
    if (cancelled) return;
    cancelled = true;
    probe.close('aborted');
    clearTimeout(pinger.timer);
    // The reason (a host's shutdown RestError, a client gone) goes on to the upstream abort.
    options.cancel(reason);
  };
  // The web body, made only if a fetch-style host asks for it (Node mounts write directly).
  const body = (): ReadableStream<Uint8Array> => {
    const pull = webPull(events, options);
    return new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (claimed === 'node') {
            controller.close();
            return undefined;
          }
          if (claimed === undefined) probe.open();
          claimed = 'web';
          return pull(controller);
        },
        cancel,
      },
      { highWaterMark: 0 },
    );
  };
  const headers = new RecordHeaders(SSE_HEADERS);
  const response = new LazyBodyResponse(body, { status: 200, headers });
  const direct: DirectSse = {
    run(sink) {
      if (claimed !== undefined) throw new TypeError('The event stream is already being read.');
      claimed = 'node';
      probe.open();
      // A sink closed under the stream: its client left, so the upstream stops too.
      return runDirect(events, options, sink, pinger).finally(() => {
        if (sink.closed) cancel();
      });
    },
    cancel,
  };
  return withDirectSse(response, direct);
}

/** `bytes`, its length told to `probe`. */
function counted(bytes: Uint8Array, probe: StreamProbe): Uint8Array {
  probe.frame(bytes.byteLength);
  return bytes;
}

/** The direct writer's ping timer, stopped by a cancel even while an event is awaited. */
interface Pinger {
  timer?: NodeJS.Timeout;
}

/** The web body's pull: one event (or a ping after a silence) per read. */
function webPull(
  events: AsyncIterator<SseEvent>,
  { pingInterval, toError, cancel, errorEvent = restErrorEvent, probe = NO_PROBE }: SseOptions,
): (controller: ReadableStreamDefaultController<Uint8Array>) => Promise<void> {
  let pending: Promise<IteratorResult<SseEvent>> | undefined;
  return async (controller) => {
    pending ??= events.next();
    let timer: NodeJS.Timeout | undefined;
    const ping = new Promise<typeof PING>((resolve) => {
      timer = setTimeout(() => resolve(PING), pingInterval);
    });
    let encoding = false;
    try {
      const result = await Promise.race([pending, ping]);
      if (result === PING) {
        probe.frame(PING_FRAME.length);
        controller.enqueue(encoder.encode(PING_FRAME));
        return;
      }
      pending = undefined;
      if (result.done === true) {
        probe.close('done');
        controller.close();
        return;
      }
      encoding = true;
      controller.enqueue(counted(frame(result.value), probe));
    } catch (error) {
      pending = undefined;
      controller.enqueue(counted(frame(errorEvent(toError(error))), probe));
      probe.close('error');
      controller.close();
      if (encoding) stopEvents(events, cancel, error);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Writes the events to `sink` as they come, waiting while it is full, with one ping timer
 * (re-armed by every frame) instead of a race per event. Returns once the stream ended, failed
 * (its error frame written) or the sink closed.
 */
async function runDirect(
  events: AsyncIterator<SseEvent>,
  options: SseOptions,
  sink: SseSink,
  pinger: Pinger,
): Promise<void> {
  const { pingInterval, toError, cancel, errorEvent = restErrorEvent, probe = NO_PROBE } = options;
  let full = false;
  const timer = (pinger.timer = setTimeout(function ping() {
    // Nobody reads on: no more pings, whatever the events do.
    if (sink.closed) return;
    // A client that reads nothing gets no pings piled up for it, as with the web body.
    if (!full) {
      probe.frame(PING_FRAME.length);
      sink.write(PING_FRAME);
    }
    timer.refresh();
  }, pingInterval));
  try {
    for (;;) {
      let result: IteratorResult<SseEvent>;
      try {
        result = await events.next();
      } catch (error) {
        if (!sink.closed) endWithError(sink, errorEvent(toError(error)), probe);
        return;
      }
      if (sink.closed) return;
      if (result.done === true) {
        probe.close('done');
        sink.end();
        return;
      }
      const text = encodedFrame(result.value);
      if (typeof text !== 'string') {
        // An event that cannot be encoded fails the stream like a broken one.
        endWithError(sink, errorEvent(toError(text.error)), probe);
        stopEvents(events, cancel, text.error);
        return;
      }
      timer.refresh();
      probe.frame(text);
      if (!sink.write(text)) {
        full = true;
        if (!(await readyWithin(sink, options.stallMs))) {
          // The client stopped reading: let go of the upstream and the events, then of it.
          stopEvents(events, cancel, stalledError(options.stallMs));
          sink.abort?.();
          return;
        }
        full = false;
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The frame of `event`, or why it cannot be encoded. */
function encodedFrame(event: SseEvent): string | { error: unknown } {
  try {
    return frameText(event);
  } catch (error) {
    return { error };
  }
}

/** Stops events still running after their stream failed: the upstream, and the generator. */
function stopEvents(
  events: AsyncIterator<SseEvent>,
  cancel: (reason?: unknown) => void,
  reason: unknown,
): void {
  cancel(reason);
  events.return?.().catch(() => undefined);
}

/** Writes the error frame that ends a failed stream, and ends it. */
function endWithError(sink: SseSink, event: SseEvent, probe: StreamProbe): void {
  const text = frameText(event);
  probe.frame(text);
  sink.write(text);
  probe.close('error');
  sink.end();
}

/**
 * True once `sink` takes more again (or closed); false once `ms` passed without a byte of what
 * it holds moving on to the client (a slow client, still reading, gets another `ms`).
 */
async function readyWithin(sink: SseSink, ms: number | undefined): Promise<boolean> {
  const ready = sink.ready().then(() => true);
  if (ms === undefined) return ready;
  // This tick's frames are still corked: they go to the socket before the first measure.
  await new Promise((resolve) => setImmediate(resolve));
  let held = sink.buffered?.();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const taken = await Promise.race([ready, late]);
    clearTimeout(timer);
    if (taken) return true;
    const now = sink.buffered?.();
    if (now === undefined || now === held) return false;
    held = now;
  }
}

function stalledError(ms: number | undefined): RestError {
  return new RestError('upstream_timeout', `The client read nothing for ${ms} ms.`);
}
