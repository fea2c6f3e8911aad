import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type {
  BackendConversation,
  BackendConversationList,
  BackendMessageRequest,
} from '../backend/types.js';
import { RestError, isRestError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ResolvedOptions } from '../options.js';
import { asConversation, asConversationList } from '../backend/shapes.js';
import { isMessagePost, leasedResponse, type Lease, type LeaseOptions } from '../auth/lease.js';
import {
  brokenStreamError,
  causeCode,
  guardBody,
  idleError,
  readCapped,
  streamIdleError,
  tooLargeError,
} from './body-guards.js';
import { WholeResponse } from '../http/whole-response.js';
import { isGuardedBody, type StreamGuard } from './node-stream-body.js';
import { readLimited } from './read-limited.js';
import { endpointOf, failureStatus } from '../metrics/recorder.js';
import { TRANSPORT_ERRORS, isNodeFetch, type UpstreamFetchInit } from './node-transport.js';
import { callControl, type CallControl } from './call-control.js';
import { isCloudflareChallenge, upstreamErrorFromBody } from './upstream-errors.js';

const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36';

/** One upstream request, as a dialect's send path describes it. */
export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'PATCH';
  /** Path below the base URL, starting with `/`, query included. */
  path: string;
  body?: unknown;
  /** Extra headers (sentinel, conduit, device id…). */
  headers?: Record<string, string>;
  /** `text/event-stream` for message POSTs. */
  accept?: string;
}

/** Who an upstream call acts as: the access token and, for a held token, its label. */
export interface UpstreamCaller {
  token: string;
  /** The held token's label (server-held mode), or `passthrough`; never the token. */
  label?: string;
  /** The logger of the request this call is for (its lines carry the request id). */
  log?: Logger;
  /** The host's object for the request (see `http/request-tag.ts`), given to `fetch` as `tag`. */
  tag?: object;
}

/** Takes the token pool's lease for one upstream call of a held token (server-held mode). */
export type LeaseTaker = (label: string, options: LeaseOptions) => Promise<Lease>;

/** What a send path receives: the access token, the abort signal, and a way to call the upstream. */
export interface SendContext {
  token: string;
  signal: AbortSignal;
  /** The request's logger, when the caller has one. */
  log?: Logger;
  /** Performs one upstream request; resolves with a 2xx response, else throws the mapped RestError. */
  call(request: UpstreamRequest): Promise<Response>;
  /** Performs one upstream request and reads its whole 2xx body, within the size and idle limits. */
  text(request: UpstreamRequest): Promise<string>;
}

/** A dialect's way of sending a message: `legacy` posts once; `web` adds sentinel and conduit steps. */
export interface MessageSender {
  send(context: SendContext, body: BackendMessageRequest): Promise<Response>;
  /** Headers the dialect adds to every upstream request (web: device id, origin, account id). */
  headers?(token: string): Record<string, string>;
  /** The `parent_message_id` of a new conversation's first message. */
  newConversationParent(): string;
}

/** The legacy send path: one `POST /conversation`. */
export const legacySender: MessageSender = {
  send: (context, body) =>
    context.call({ method: 'POST', path: '/conversation', body, accept: 'text/event-stream' }),
  // The client names the root of a new conversation with an id of its own.
  newConversationParent: () => randomUUID(),
};

/** The RestError of a transport failure the built-in transport names, else undefined. */
function transportError(error: unknown, options: ResolvedOptions): RestError | undefined {
  const code = causeCode(error) ?? '';
  // llhttp's parse errors: the upstream answered, but not in HTTP (a bad status line, a body
  // after a 1xx/204/304, broken chunking).
  if (code.startsWith('HPE_')) {
    return new RestError('upstream_error', 'The upstream answered with malformed HTTP.');
  }
  switch (code) {
    case TRANSPORT_ERRORS.badStatus:
      return new RestError('upstream_error', 'The upstream answered with an invalid HTTP status.');
    case TRANSPORT_ERRORS.tooLarge:
      return tooLargeError(options.limits.upstreamBody);
    case TRANSPORT_ERRORS.idle:
      return idleError(options.timeouts.idle);
    default:
      return undefined;
  }
}

/** A 2xx HTML page where JSON or an event stream was expected: a challenge, or a broken proxy. */
async function htmlError(response: Response, deadlineMs: number): Promise<RestError> {
  const text = await readLimited(response, undefined, deadlineMs).catch(() => '');
  if (isCloudflareChallenge(text)) return upstreamErrorFromBody(403, text, response.headers);
  return new RestError('upstream_error', 'The upstream answered with an HTML page.', {
    upstreamStatus: response.status,
  });
}

/** Calls the ChatGPT backend: builds requests, applies timeouts, maps failures to RestErrors. */
export class UpstreamClient {
  readonly #options: ResolvedOptions;
  readonly #sender: MessageSender;
  readonly #lease: LeaseTaker | undefined;
  /** The built-in transport times its own calls: no signal of their own (see call-control.ts). */
  readonly #nodeFetch: boolean;

  /**
   * `lease` (server-held mode) is taken around each call of a labelled caller: the pool counts its
   * load, queues its message POSTs, learns from its 401/429 and remembers its new conversation.
   */
  constructor(options: ResolvedOptions, sender: MessageSender = legacySender, lease?: LeaseTaker) {
    this.#options = options;
    this.#sender = sender;
    this.#lease = lease;
    this.#nodeFetch = isNodeFetch(options.fetch);
  }

  /** Performs one request; resolves with a 2xx response, else throws the mapped RestError. */
  async call(
    caller: UpstreamCaller,
    request: UpstreamRequest,
    signal: AbortSignal,
  ): Promise<Response> {
    const { metrics, timeouts } = this.#options;
    // A call that waits for its token's slot first is timed from the start of that wait.
    const leased = this.#lease !== undefined && caller.label !== undefined;
    const control = callControl(signal, timeouts.headers, this.#nodeFetch && !leased);
    let lease: Lease | undefined;
    let response: Response;
    const endpoint = endpointOf(request.method, request.path);
    let sentAt: number | undefined;
    try {
      // Inside the headers timeout: a message waiting for its token's slot counts as waiting.
      const leasing = this.#leaseFor(caller, request, control.signal);
      if (leasing !== undefined) lease = await leasing;
      sentAt = performance.now();
      response = await this.#fetch(caller, request, control, signal);
    } catch (error) {
      lease?.release();
      control.release();
      const failure = this.#fetchError(error, control, signal);
      // A call refused before it was sent (a full queue of its token) is no upstream call.
      if (sentAt !== undefined) metrics.upstreamCall(endpoint, failureStatus(failure, signal));
      throw failure;
    } finally {
      control.end();
    }
    metrics.upstreamCall(endpoint, String(response.status), (performance.now() - sentAt) / 1000);
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || type.includes('text/html')) {
      throw await this.#refusal(response, control, lease);
    }
    // A whole answer (the built-in transport's JSON) is in memory: nothing is left to abort, so
    // the client's signal lets go of the call (a stream's request may have made several before).
    if (response instanceof WholeResponse) control.release();
    // A leased body left unread for three idle timeouts is a bug's: the lease goes back.
    const unread = { ms: 3 * timeouts.idle, log: caller.log ?? this.#options.logger };
    const answer = lease === undefined ? response : leasedResponse(response, lease, unread);
    // Only event streams are long-lived; a JSON answer is read at once by `json()`. The built-in
    // transport guards a stream itself (`StreamGuard`); an injected fetch's is wrapped here.
    // The type first: asking a whole JSON answer for its `body` would build a web stream.
    if (!type.includes('event-stream') || isGuardedBody(response) || answer.body === null) {
      return answer;
    }
    const body = guardBody(answer.body, timeouts.idle, (reason) => control.abort(reason), signal);
    return new Response(body, {
      status: answer.status,
      statusText: answer.statusText,
      headers: answer.headers,
    });
  }

  /**
   * The error of a non-2xx answer (or a 2xx HTML page), sniffed within a cap and read no longer
   * than the idle timeout in all (an endless or trickling 401 or 5xx body must neither be
   * buffered to learn from it nor keep the answer waiting: the read is cancelled, which ends the
   * request); the client's leaving still aborts it. The lease is always freed.
   */
  async #refusal(response: Response, control: CallControl, lease: Lease | undefined) {
    const deadline = this.#options.timeouts.idle;
    try {
      if (response.ok) return await htmlError(response, deadline);
      const text = await readLimited(response, undefined, deadline).catch(() => '');
      lease?.observe(response.status, text, response.headers);
      return upstreamErrorFromBody(response.status, text, response.headers);
    } finally {
      control.release();
      lease?.release();
    }
  }

  /** The pool's lease for a call of a held token; none without a pool or a label. */
  #leaseFor(
    caller: UpstreamCaller,
    request: UpstreamRequest,
    signal: AbortSignal,
  ): Promise<Lease> | undefined {
    if (this.#lease === undefined || caller.label === undefined) return undefined;
    return this.#lease(caller.label, {
      message: isMessagePost(request.method, request.path),
      signal,
      token: caller.token,
      ...(caller.log === undefined ? {} : { log: caller.log }),
    });
  }

  /**
   * The one `fetch` call of {@link call}, cancelled and timed as `control` says; an event-stream
   * body is guarded by the built-in transport for `clientSignal` (an injected fetch ignores it).
   */
  #fetch(
    caller: UpstreamCaller,
    request: UpstreamRequest,
    control: CallControl,
    clientSignal: AbortSignal,
  ): Promise<Response> {
    const { token } = caller;
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: request.accept ?? 'application/json',
      'user-agent': USER_AGENT,
      ...this.#sender.headers?.(token),
      ...request.headers,
    };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const init: UpstreamFetchInit = {
      method: request.method,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      signal: control.signal,
      ...control.init,
      // Any event stream, asked for or not: an error page may come as one too.
      streamGuard: this.#streamGuard(clientSignal),
      ...(caller.label === undefined ? {} : { label: caller.label }),
      ...(caller.tag === undefined ? {} : { tag: caller.tag }),
    };
    return this.#options.fetch(this.#options.upstream + request.path, init);
  }

  /** The guard the built-in transport keeps on an event stream: the errors `guardBody` gives. */
  #streamGuard(clientSignal: AbortSignal): StreamGuard {
    const idleMs = this.#options.timeouts.idle;
    return {
      idleMs,
      idleError: () => streamIdleError(idleMs),
      brokenError: (error) => brokenStreamError(error, clientSignal),
    };
  }

  /** The RestError for a failed `fetch` (or the caller's own abort reason, rethrown). */
  #fetchError(error: unknown, control: CallControl, clientSignal: AbortSignal): unknown {
    if (control.timedOut(error)) {
      return new RestError(
        'upstream_timeout',
        `The upstream sent no response headers within ${this.#options.timeouts.headers} ms.`,
      );
    }
    if (clientSignal.aborted) return error;
    // The token pool refuses with its own answer (conversation_busy) before any network call.
    if (isRestError(error)) return error;
    return (
      transportError(error, this.#options) ??
      new RestError('upstream_unavailable', 'The upstream could not be reached.', {
        cause: causeCode(error) ?? 'fetch failed',
      })
    );
  }

  /** A JSON request; a 2xx body that is not JSON is an `upstream_error`. */
  async json(
    caller: UpstreamCaller,
    request: UpstreamRequest,
    signal: AbortSignal,
  ): Promise<unknown> {
    const text = await this.text(caller, request, signal);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new RestError('upstream_error', 'The upstream answered with a body that is not JSON.');
    }
  }

  /** A request whose whole 2xx body is read, within the size and idle limits, as text. */
  async text(
    caller: UpstreamCaller,
    request: UpstreamRequest,
    signal: AbortSignal,
  ): Promise<string> {
    const startedAt = performance.now();
    const response = await this.call(caller, request, signal);
    const { limits, timeouts } = this.#options;
    let text: string;
    try {
      text = await readCapped(response, limits.upstreamBody, timeouts.idle);
    } catch (error) {
      if (signal.aborted || isRestError(error)) throw error;
      throw new RestError('upstream_error', 'The upstream connection broke while it answered.');
    }
    this.#options.metrics.upstreamDuration(endpointOf(request.method, request.path), startedAt);
    return text;
  }

  /** `GET /conversations`. */
  listConversations(
    caller: UpstreamCaller,
    page: { offset: number; limit: number },
    signal: AbortSignal,
  ): Promise<BackendConversationList> {
    // Two integers the route checked: nothing to encode.
    const path = `/conversations?offset=${page.offset}&limit=${page.limit}&order=updated`;
    return this.json(caller, { method: 'GET', path }, signal).then(asConversationList);
  }

  /** `GET /conversation/{id}`. */
  getConversation(
    caller: UpstreamCaller,
    id: string,
    signal: AbortSignal,
  ): Promise<BackendConversation> {
    return this.json(caller, { method: 'GET', path: `/conversation/${id}` }, signal).then(
      asConversation,
    );
  }

  /** `PATCH /conversation/{id}` (rename, hide, archive). */
  async patchConversation(
    caller: UpstreamCaller,
    id: string,
    patch: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<void> {
    await this.json(caller, { method: 'PATCH', path: `/conversation/${id}`, body: patch }, signal);
  }

  /** `PATCH /conversations` (hide all). */
  async patchAllConversations(
    caller: UpstreamCaller,
    patch: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<void> {
    await this.json(caller, { method: 'PATCH', path: '/conversations', body: patch }, signal);
  }

  /** `POST /conversation/gen_title/{id}`: the title the upstream generates for a new conversation. */
  async generateTitle(
    caller: UpstreamCaller,
    id: string,
    body: { message_id: string; model: string },
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const result = await this.json(
      caller,
      { method: 'POST', path: `/conversation/gen_title/${id}`, body },
      signal,
    );
    const title = (result as { title?: unknown } | null)?.title;
    return typeof title === 'string' ? title : undefined;
  }

  /** The `parent_message_id` of a new conversation's first message, as the dialect wants it. */
  newConversationParent(): string {
    return this.#sender.newConversationParent();
  }

  /** Sends a message with the dialect's send path; resolves with the streaming response. */
  sendMessage(
    caller: UpstreamCaller,
    body: BackendMessageRequest,
    signal: AbortSignal,
  ): Promise<Response> {
    const context: SendContext = {
      token: caller.token,
      signal,
      call: (request) => this.call(caller, request, signal),
      text: (request) => this.text(caller, request, signal),
      ...(caller.log === undefined ? {} : { log: caller.log }),
    };
    return this.#sender.send(context, body);
  }
}
