/**
 * The emulator's record of every request it received, in arrival order, and the waiters of
 * `waitForRequest`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RecordedRequest, RequestClosure } from './types.js';
import { parseBody } from './http-io.js';

/** The last requests received, in order, with the waiters for the next matching one. */
export class RequestLog {
  /** The last `max` requests received, in order (the array `emulator.requests` exposes). */
  readonly requests: RecordedRequest[] = [];
  private readonly waiters = new Set<(request: RecordedRequest) => void>();
  private seq = 0;
  /** Most requests kept; the oldest are dropped first. */
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Records a request (its body already read) and wakes the waiters it matches. */
  record(req: IncomingMessage, res: ServerResponse, url: URL, rawBody: string): RecordedRequest {
    let settle: (closure: RequestClosure) => void = () => undefined;
    const closed = new Promise<RequestClosure>((resolve) => (settle = resolve));
    const recorded: RecordedRequest = {
      seq: ++this.seq,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: parseBody(rawBody),
      rawBody,
      receivedAt: Date.now(),
      status: undefined,
      refusal: undefined,
      faults: [],
      closed,
      closure: undefined,
    };
    let serverReset = false;
    res.on('reset-by-emulator', () => (serverReset = true));
    res.once('close', () => {
      const closure = { aborted: !res.writableFinished && !serverReset, at: Date.now() };
      recorded.closure = closure;
      settle(closure);
    });
    this.requests.push(recorded);
    const excess = this.requests.length - this.max;
    if (excess > 0) this.requests.splice(0, excess);
    for (const waiter of [...this.waiters]) waiter(recorded);
    return recorded;
  }

  /** Resolves with the next request matching `predicate` (or one already recorded after `since`). */
  waitForRequest(
    predicate: (request: RecordedRequest) => boolean = () => true,
    { timeoutMs = 5000, since = 0 }: { timeoutMs?: number; since?: number } = {},
  ): Promise<RecordedRequest> {
    const existing = this.requests.find((r) => r.seq > since && predicate(r));
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const waiter = (request: RecordedRequest) => {
        if (!predicate(request)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(request);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Forgets the recorded requests (the sequence goes on; waiters keep waiting). */
  clear(): void {
    this.requests.length = 0;
  }
}
