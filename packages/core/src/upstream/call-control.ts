/**
 * How one upstream call is cancelled and timed: by the client's leaving, by the headers timeout.
 * The built-in transport does the timing itself, so its calls abort on the client's own signal
 * ({@link DirectControl}); an injected `fetch`, or a call that first waits for its token's slot,
 * gets a signal of its own ({@link LinkedControl}). An error body's read has its own deadline
 * (`readLimited`).
 */
import { causeCode } from './body-guards.js';
import { TRANSPORT_ERRORS, type UpstreamFetchInit } from './node-transport.js';

/** What {@link UpstreamClient.call} needs of a call's cancellation. */
export interface CallControl {
  /** Aborts the call: the lease's wait, the transport's request. */
  readonly signal: AbortSignal;
  /** What the transport is told about the headers timeout. */
  readonly init: Pick<UpstreamFetchInit, 'onResponseHeaders' | 'headersTimeout'>;
  /** True when the call failed with `error` because the headers did not come in time. */
  timedOut(error: unknown): boolean;
  /** Aborts the request (an injected `fetch`'s stream fell silent). */
  abort(reason: unknown): void;
  /** Stops the headers timer (the call is answered, or failed). */
  end(): void;
  /** Lets go of the client's signal: nothing is left of the call to abort. */
  release(): void;
}

/** The abort reason of a linked call whose response headers did not come in time. */
const HEADERS_TIMEOUT = Symbol('headers timeout');

/** A call on the built-in transport: the client's signal, the transport's headers timeout. */
class DirectControl implements CallControl {
  readonly signal: AbortSignal;
  readonly init: { headersTimeout: number };

  constructor(signal: AbortSignal, headersMs: number) {
    this.signal = signal;
    this.init = { headersTimeout: headersMs };
  }

  timedOut(error: unknown): boolean {
    return causeCode(error) === TRANSPORT_ERRORS.headersTimeout;
  }

  abort(): void {
    // Nothing of its own to abort: the transport's guards end a silent body themselves.
  }

  end(): void {
    // The transport's timer: it stops it itself.
  }

  release(): void {
    // Nothing held: the transport lets go of the signal when its request closes.
  }
}

/** A call with a controller of its own, aborted with the client's and by its own timers. */
class LinkedControl implements CallControl {
  readonly #controller = new AbortController();
  readonly #client: AbortSignal;
  readonly #timer: NodeJS.Timeout;
  readonly #onAbort = (): void => this.#controller.abort(this.#client.reason);
  readonly init: { onResponseHeaders: () => void };

  constructor(client: AbortSignal, headersMs: number) {
    this.#client = client;
    if (client.aborted) this.#onAbort();
    else client.addEventListener('abort', this.#onAbort, { once: true });
    this.#timer = setTimeout(() => this.#controller.abort(HEADERS_TIMEOUT), headersMs);
    this.init = { onResponseHeaders: () => clearTimeout(this.#timer) };
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  timedOut(): boolean {
    return this.#controller.signal.reason === HEADERS_TIMEOUT;
  }

  abort(reason: unknown): void {
    this.#controller.abort(reason);
  }

  end(): void {
    clearTimeout(this.#timer);
  }

  release(): void {
    this.#client.removeEventListener('abort', this.#onAbort);
  }
}

/**
 * The control of one call: direct on the built-in transport unless the call waits for a lease
 * first (the headers timeout covers that wait, which the transport does not see).
 */
export function callControl(client: AbortSignal, headersMs: number, direct: boolean): CallControl {
  return direct ? new DirectControl(client, headersMs) : new LinkedControl(client, headersMs);
}
