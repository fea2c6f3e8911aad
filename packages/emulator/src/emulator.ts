/**
 * The ChatGPT backend emulator: an HTTP server on 127.0.0.1 that speaks `/backend-api` in the
 * `legacy` and `web` dialects, keeps conversation trees per access token, records every request
 * and injects faults. Built from `docs/spec/backend-protocol.md` and the upstream captures.
 */
import { once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessTokens, type TokenOptions } from './access-tokens.js';
import type { ErrorAnswer } from './backend-errors.js';
import {
  conversationNotFound,
  methodNotAllowed,
  modelNotFound,
  oneAtATime,
  routeNotFound,
  unprocessable,
  unusualActivity,
  tokenExpired,
} from './backend-errors.js';
import {
  ConversationStore,
  conversationDetail,
  conversationSummary,
  epochSeconds,
  messageOf,
} from './conversation-store.js';
import type { Fault, FaultRule, StreamFault } from './faults.js';
import { FaultQueue, faultsFromHeader, isStatusFault, statusFaultAnswer } from './faults.js';
import type { Chunking, StreamProfile } from './frames.js';
import { STREAM_PROFILES } from './frames.js';
import type { ReplyFunction } from './reply-generator.js';
import { titleFor } from './reply-generator.js';
import { fakeJwt, Sentinel, type Refusal, type SentinelOptions } from './sentinel.js';
import { encodeTurn } from './stream-writer.js';
import { rewriteFrames, runStream } from './stream-runner.js';
import { applyTurn, findUserAbove, type MessageBody } from './turns.js';

/** Which send paths the emulator serves. */
export type EmulatorDialect = 'legacy' | 'web' | 'both';

/** Options of `createBackendEmulator`. Every field is optional. */
export interface BackendEmulatorOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port to bind. Default 0 (a free port). */
  port?: number;
  /** `legacy`, `web` or `both` (default). */
  dialect?: EmulatorDialect;
  /** Structure of `v1` streams (capture era). Default `2026-01`. */
  streamProfile?: StreamProfile;
  /** Seed of the reply generator. Default 1. */
  seed?: number;
  /** Words in a generated reply. Default 40. */
  replyWords?: number;
  /** Scripted replies instead of generated ones. */
  reply?: ReplyFunction;
  /** How replies are cut into events. Default `{ by: 'token', size: 2 }`. */
  chunking?: Partial<Chunking>;
  /** Milliseconds between events. Default 0. */
  pacingMs?: number;
  /** Tokens per message before it stops with `max_tokens`. Default unlimited. */
  maxTokens?: number;
  /** Trailing padding spaces after `data:` JSON, as in the captures. Default false. */
  padding?: boolean;
  /** Requested model → answered `model_slug`. Merged over `{ auto: 'gpt-5-2' }`. */
  modelMap?: Record<string, string>;
  /** When set, other models get 404 `model_not_found`. */
  models?: string[];
  /** Valid, expired and invalid tokens. By default any bearer token is valid. */
  tokens?: TokenOptions;
  /** The web dialect's chat-requirements settings. */
  sentinel?: {
    tokenTtlSeconds?: number;
    proofOfWork?: { required?: boolean; difficulty?: string };
    turnstile?: { required?: boolean; enforce?: boolean };
    arkose?: { required?: boolean };
    forceLogin?: boolean;
    persona?: string;
  };
  /** Status of the "Only one message at a time" refusal (429 default), or false to allow overlap. */
  oneAtATime?: 429 | 409 | false;
  /** Faults scripted from the start. */
  faults?: FaultRule[];
}

/** How a recorded request's connection ended. */
export interface RequestClosure {
  /** The client closed the connection before the response was complete. */
  aborted: boolean;
  /** `Date.now()` when the connection closed. */
  at: number;
}

/** A request as the emulator received it. */
export interface RecordedRequest {
  /** 1, 2, 3… in arrival order. */
  seq: number;
  method: string;
  /** Path without the query, e.g. `/backend-api/conversation`. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, else the text (`undefined` when empty). */
  body: unknown;
  rawBody: string;
  receivedAt: number;
  /** Status sent, once headers are out. */
  status: number | undefined;
  /** Why a web-dialect message POST was refused. */
  refusal: Refusal | undefined;
  /** Faults applied to this request. */
  faults: Fault[];
  /** Resolves when the response or socket closes. */
  closed: Promise<RequestClosure>;
  /** The closure once known (synchronous view of `closed`). */
  closure: RequestClosure | undefined;
}

/** Runtime settings that may be changed on a running emulator (`emulator.settings`). */
export interface EmulatorSettings {
  dialect: EmulatorDialect;
  streamProfile: StreamProfile;
  seed: number;
  replyWords: number;
  reply: ReplyFunction | undefined;
  chunking: Chunking;
  pacingMs: number;
  maxTokens: number;
  padding: boolean;
  modelMap: Record<string, string>;
  models: string[] | undefined;
  oneAtATime: 429 | 409 | false;
}

/** A running emulator. */
export interface BackendEmulator {
  /** Base URL, e.g. `http://127.0.0.1:51234/backend-api`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Token declarations (`expire`, `invalidate`, `allow`). */
  readonly tokens: AccessTokens;
  /** Conversations of every token. */
  readonly conversations: ConversationStore;
  /** Mutable settings (reply length, pacing, profile…). */
  readonly settings: EmulatorSettings;
  /** Mutable sentinel options (PoW difficulty, turnstile, TTL…). */
  readonly sentinelOptions: SentinelOptions;
  /** Message streams currently being written. */
  readonly inFlight: number;
  /** Queues a scripted fault. */
  inject(rule: FaultRule): void;
  /** Scripted faults still waiting. */
  readonly pendingFaults: number;
  /** Resolves with the next request matching `predicate` (or one already recorded after `since`). */
  waitForRequest(
    predicate?: (request: RecordedRequest) => boolean,
    options?: { timeoutMs?: number; since?: number },
  ): Promise<RecordedRequest>;
  /** Forgets conversations, requests, faults, tokens and sentinel state. */
  reset(): void;
  /** Stops the server, destroying open connections. */
  close(): Promise<void>;
}

const BASE = '/backend-api';
const MAX_BODY = 16 * 1024 * 1024;

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sendAnswer(res: ServerResponse, answer: ErrorAnswer): void {
  if (res.headersSent || res.destroyed) return;
  const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': answer.contentType,
    'content-length': Buffer.byteLength(body),
    ...answer.headers,
  });
  res.end(body);
}

function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  sendAnswer(res, { status, body: JSON.stringify(body), contentType: 'application/json' });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function resolveSentinel(options: BackendEmulatorOptions['sentinel'] = {}): SentinelOptions {
  return {
    tokenTtlSeconds: options.tokenTtlSeconds ?? 540,
    proofOfWork: {
      required: options.proofOfWork?.required ?? true,
      difficulty: options.proofOfWork?.difficulty ?? '0fffff',
    },
    turnstile: {
      required: options.turnstile?.required ?? false,
      enforce: options.turnstile?.enforce ?? false,
    },
    arkose: { required: options.arkose?.required ?? false },
    forceLogin: options.forceLogin ?? false,
    persona: options.persona ?? 'chatgpt-freeaccount',
  };
}

function resolveSettings(options: BackendEmulatorOptions): EmulatorSettings {
  const profile = options.streamProfile ?? '2026-01';
  if (!STREAM_PROFILES.includes(profile)) throw new RangeError(`unknown streamProfile ${profile}`);
  return {
    dialect: options.dialect ?? 'both',
    streamProfile: profile,
    seed: options.seed ?? 1,
    replyWords: options.replyWords ?? 40,
    reply: options.reply,
    chunking: { by: options.chunking?.by ?? 'token', size: options.chunking?.size ?? 2 },
    pacingMs: options.pacingMs ?? 0,
    maxTokens: options.maxTokens ?? Number.POSITIVE_INFINITY,
    padding: options.padding ?? false,
    modelMap: { auto: 'gpt-5-2', ...options.modelMap },
    models: options.models,
    oneAtATime: options.oneAtATime ?? 429,
  };
}

/** Starts an emulator; resolves once it listens. */
export async function createBackendEmulator(
  options: BackendEmulatorOptions = {},
): Promise<BackendEmulator> {
  const settings = resolveSettings(options);
  const sentinel = new Sentinel(resolveSentinel(options.sentinel));
  const tokens = new AccessTokens(options.tokens);
  const store = new ConversationStore();
  const faults = new FaultQueue();
  for (const rule of options.faults ?? []) faults.add(rule);
  const requests: RecordedRequest[] = [];
  const busy = new Map<string, number>();
  const waiters = new Set<(request: RecordedRequest) => void>();
  let inFlight = 0;
  let seq = 0;

  const record = (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    rawBody: string,
  ): RecordedRequest => {
    let settle: (closure: RequestClosure) => void = () => undefined;
    const closed = new Promise<RequestClosure>((resolve) => (settle = resolve));
    const recorded: RecordedRequest = {
      seq: ++seq,
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
    requests.push(recorded);
    for (const waiter of [...waiters]) waiter(recorded);
    return recorded;
  };

  const refuse = (res: ServerResponse, recorded: RecordedRequest, reason: Refusal) => {
    recorded.refusal = reason;
    sendAnswer(res, unusualActivity());
  };

  /** Legacy and web message POST. */
  const handleMessage = async (
    res: ServerResponse,
    recorded: RecordedRequest,
    owner: string,
    dialect: 'legacy' | 'web',
    streamFaults: StreamFault[],
  ) => {
    const body = asRecord(recorded.body) as MessageBody;
    if (dialect === 'web') {
      const reason = sentinel.check(
        owner,
        {
          requirements: firstHeader(recorded.headers['openai-sentinel-chat-requirements-token']),
          proof: firstHeader(recorded.headers['openai-sentinel-proof-token']),
          turnstile: firstHeader(recorded.headers['openai-sentinel-turnstile-token']),
          conduit: firstHeader(recorded.headers['x-conduit-token']),
        },
        {
          conversationId: typeof body.conversation_id === 'string' ? body.conversation_id : null,
          parentMessageId:
            typeof body.parent_message_id === 'string' ? body.parent_message_id : null,
        },
      );
      if (reason !== undefined) return refuse(res, recorded, reason);
    }
    if (typeof recorded.body !== 'object' || recorded.body === null) {
      return sendAnswer(res, unprocessable('body must be a JSON object'));
    }
    const requestedModel = typeof body.model === 'string' ? body.model : 'auto';
    if (settings.models !== undefined && !settings.models.includes(requestedModel)) {
      return sendAnswer(res, modelNotFound(requestedModel));
    }
    if (settings.oneAtATime !== false && (busy.get(owner) ?? 0) > 0) {
      return sendAnswer(res, oneAtATime(settings.oneAtATime));
    }
    const encodings = Array.isArray(body.supported_encodings) ? body.supported_encodings : [];
    const encoding = encodings.includes('v1') ? 'v1' : 'legacy';
    const result = applyTurn(store, owner, body, {
      seed: settings.seed,
      replyWords: settings.replyWords,
      maxTokens: settings.maxTokens,
      reply: settings.reply,
      modelMap: settings.modelMap,
      titleInStream: encoding === 'v1',
    });
    if (!result.ok) return sendAnswer(res, result.answer);
    const turn = result.turn;
    const moderation = streamFaults.find((f) => f.type === 'moderation');
    const frames = rewriteFrames(
      encodeTurn(turn, encoding, {
        chunking: settings.chunking,
        profile: settings.streamProfile,
        resumeToken: fakeJwt({ conversation_id: turn.conversation.id, kind: 'conduit' }),
        moderation:
          moderation === undefined
            ? undefined
            : { flagged: moderation.flagged ?? true, blocked: moderation.blocked ?? false },
      }),
      streamFaults,
      turn.conversation.id,
      turn.text,
    );
    busy.set(owner, (busy.get(owner) ?? 0) + 1);
    inFlight += 1;
    recorded.status = 200;
    try {
      const outcome = await runStream(
        res,
        frames,
        streamFaults,
        settings.pacingMs,
        settings.padding,
        () => res.emit('reset-by-emulator'),
      );
      if (outcome.clientGone) {
        // The client stopped the reply: the backend keeps what was sent, marked interrupted.
        const message = turn.assistant;
        message.content.parts = [turn.text.slice(0, outcome.deliveredText)];
        message.end_turn = false;
        if (message.metadata !== undefined)
          message.metadata.finish_details = { type: 'interrupted' };
        const plan = turn.conversation.plans.get(message.id);
        if (plan !== undefined) plan.end = plan.start + outcome.deliveredText;
      }
    } finally {
      inFlight -= 1;
      busy.set(owner, (busy.get(owner) ?? 1) - 1);
    }
  };

  const route = async (
    res: ServerResponse,
    recorded: RecordedRequest,
    owner: string,
    streamFaults: StreamFault[],
  ): Promise<void> => {
    const path = recorded.path.slice(BASE.length) || '/';
    const method = recorded.method;
    const body = asRecord(recorded.body);
    const webAllowed = settings.dialect !== 'legacy';

    if (path === '/conversation') {
      if (method !== 'POST') return sendAnswer(res, methodNotAllowed());
      if (settings.dialect === 'web') return refuse(res, recorded, 'legacy_send_refused');
      return handleMessage(res, recorded, owner, 'legacy', streamFaults);
    }
    if (path === '/f/conversation' && webAllowed) {
      if (method !== 'POST') return sendAnswer(res, methodNotAllowed());
      return handleMessage(res, recorded, owner, 'web', streamFaults);
    }
    if (path === '/f/conversation/prepare' && webAllowed) {
      if (method !== 'POST') return sendAnswer(res, methodNotAllowed());
      const conversationId =
        typeof body.conversation_id === 'string' && body.conversation_id !== ''
          ? body.conversation_id
          : null;
      if (conversationId !== null && store.get(owner, conversationId) === undefined) {
        return sendAnswer(res, conversationNotFound());
      }
      const parent = typeof body.parent_message_id === 'string' ? body.parent_message_id : null;
      return sendJson(res, {
        status: 'ok',
        conduit_token: sentinel.prepare(owner, conversationId, parent),
      });
    }
    if (path === '/sentinel/chat-requirements' && webAllowed) {
      if (method !== 'POST') return sendAnswer(res, methodNotAllowed());
      return sendJson(res, sentinel.issue(owner));
    }
    if (path === '/conversations') {
      if (method === 'GET') {
        const offset = Math.max(0, Number.parseInt(recorded.query.offset ?? '0', 10) || 0);
        const limit = Math.max(0, Number.parseInt(recorded.query.limit ?? '28', 10) || 0);
        const archived = recorded.query.is_archived === 'true';
        const all = store.list(owner, archived);
        if (recorded.query.order === 'created') all.sort((a, b) => b.createTime - a.createTime);
        return sendJson(res, {
          items: all.slice(offset, offset + limit).map(conversationSummary),
          total: all.length,
          limit,
          offset,
          has_missing_conversations: false,
        });
      }
      if (method === 'PATCH') {
        if (body.is_visible !== false)
          return sendAnswer(res, unprocessable('is_visible must be false'));
        store.hideAll(owner);
        return sendJson(res, { success: true });
      }
      return sendAnswer(res, methodNotAllowed());
    }
    const genTitle = /^\/conversation\/gen_title\/([^/]+)$/.exec(path);
    if (genTitle !== null) {
      if (method !== 'POST') return sendAnswer(res, methodNotAllowed());
      const conversation = store.get(owner, decodeURIComponent(genTitle[1] ?? ''));
      if (conversation === undefined) return sendAnswer(res, conversationNotFound());
      const messageId = typeof body.message_id === 'string' ? body.message_id : '';
      if (messageOf(conversation, messageId) === undefined) {
        return sendAnswer(res, unprocessable('message_id is not a message of this conversation'));
      }
      const user = findUserAbove(conversation, messageId);
      const prompt = typeof user?.content.parts?.[0] === 'string' ? user.content.parts[0] : '';
      conversation.title = titleFor(prompt);
      return sendJson(res, { title: conversation.title });
    }
    const one = /^\/conversation\/([^/]+)$/.exec(path);
    if (one !== null) {
      const conversation = store.get(owner, decodeURIComponent(one[1] ?? ''));
      if (method === 'GET') {
        if (conversation === undefined) return sendAnswer(res, conversationNotFound());
        return sendJson(res, conversationDetail(conversation));
      }
      if (method === 'PATCH') {
        if (conversation === undefined) return sendAnswer(res, conversationNotFound());
        if (typeof body.title === 'string') conversation.title = body.title;
        if (body.is_visible === false) conversation.isVisible = false;
        if (typeof body.is_archived === 'boolean') conversation.isArchived = body.is_archived;
        if (typeof body.title === 'string' || typeof body.is_archived === 'boolean') {
          conversation.updateTime = epochSeconds();
        }
        return sendJson(res, { success: true });
      }
      return sendAnswer(res, methodNotAllowed());
    }
    return sendAnswer(res, routeNotFound());
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    let raw = '';
    try {
      raw = await readBody(req);
    } catch {
      return sendAnswer(res, {
        status: 413,
        body: 'Request Entity Too Large',
        contentType: 'text/plain',
      });
    }
    const recorded = record(req, res, url, raw);
    res.on('finish', () => (recorded.status ??= res.statusCode));
    const auth = firstHeader(req.headers.authorization);
    const bearer = /^Bearer\s+(\S+)/i.exec(auth ?? '')?.[1];
    const applied = [
      ...faults.take({ method: recorded.method, path: recorded.path, token: bearer }),
      ...faultsFromHeader(firstHeader(req.headers['x-emulator-fault'])),
    ];
    recorded.faults = applied;
    const stallBefore = applied.find((f) => f.type === 'stall_before_headers');
    if (stallBefore !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, stallBefore.ms);
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (res.destroyed) return;
    }
    const statusFault = applied.find(isStatusFault);
    if (statusFault !== undefined) return sendAnswer(res, statusFaultAnswer(statusFault));
    const inStream401 = applied.find((f) => f.type === 'unauthorized_in_stream');
    if (inStream401 !== undefined) {
      const json = JSON.stringify(tokenExpired().body);
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.end(inStream401.format === 'raw' ? json : `data: ${json}\n\n`);
      return;
    }
    if (recorded.path !== BASE && !recorded.path.startsWith(`${BASE}/`)) {
      return sendAnswer(res, routeNotFound());
    }
    const authResult = tokens.authenticate(auth);
    if ('answer' in authResult) return sendAnswer(res, authResult.answer);
    const streamFaults = applied.filter((f): f is StreamFault => !isStatusFault(f));
    await route(res, recorded, authResult.token, streamFaults);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Never crash the test process: an unexpected failure is a plain 500, as upstream.
      if (!res.headersSent)
        sendAnswer(res, { status: 500, body: 'Internal Server Error', contentType: 'text/plain' });
      else res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${address.port}${BASE}`,
    port: address.port,
    host,
    requests,
    tokens,
    conversations: store,
    settings,
    sentinelOptions: sentinel.options,
    get inFlight() {
      return inFlight;
    },
    get pendingFaults() {
      return faults.pending;
    },
    inject(rule) {
      faults.add(rule);
    },
    waitForRequest(predicate = () => true, { timeoutMs = 5000, since = 0 } = {}) {
      const existing = requests.find((r) => r.seq > since && predicate(r));
      if (existing !== undefined) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const waiter = (request: RecordedRequest) => {
          if (!predicate(request)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(request);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    reset() {
      store.clear();
      requests.length = 0;
      faults.clear();
      tokens.clear();
      sentinel.clear();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
