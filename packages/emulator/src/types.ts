/**
 * The emulator's public types: its options, settings, recorded requests and controls. Kept apart
 * from emulator.ts so the modules that implement it import types without importing it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TokenOptions } from './access-tokens.js';
import type { Fault, FaultRule } from './faults.js';
import type { Chunking, StreamProfile } from './frames.js';
import type { ReplyFunction } from './reply-generator.js';
import type { Refusal, SentinelOptions } from './sentinel.js';
import type { AccessTokens } from './access-tokens.js';
import type { ConversationStore } from './conversation-store.js';

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
  /**
   * Most requests kept in `requests`; beyond it the oldest are dropped first, so an emulator
   * running for hours (the sidecar's `--emulator` demo) does not grow without bound. A
   * non-negative integer or `Infinity`. Default 10,000.
   */
  maxRecordedRequests?: number;
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
  /** The requests received, in order: the last `maxRecordedRequests` (10,000 by default). */
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
