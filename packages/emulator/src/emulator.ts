/**
 * The ChatGPT backend emulator: an HTTP server on 127.0.0.1 that speaks `/backend-api` in the
 * `legacy` and `web` dialects, keeps conversation trees per access token, records every request
 * and injects faults. Built from `docs/spec/backend-protocol.md` and the upstream captures.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessTokens } from './access-tokens.js';
import { ConversationStore } from './conversation-store.js';
import { FaultQueue } from './faults.js';
import { STREAM_PROFILES } from './frames.js';
import { sendAnswer } from './http-io.js';
import { handleRequest } from './request-handler.js';
import { RequestLog } from './request-log.js';
import { BASE } from './routes.js';
import { Sentinel, type SentinelOptions } from './sentinel.js';
import type { EmulatorState } from './state.js';

import type { BackendEmulator, BackendEmulatorOptions, EmulatorSettings } from './types.js';

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

function resolveMaxRecorded(value: number | undefined): number {
  const max = value ?? 10_000;
  if (max !== Number.POSITIVE_INFINITY && (!Number.isInteger(max) || max < 0)) {
    throw new RangeError(`maxRecordedRequests must be a non-negative integer, not ${max}`);
  }
  return max;
}

/** Starts an emulator; resolves once it listens. */
export async function createBackendEmulator(
  options: BackendEmulatorOptions = {},
): Promise<BackendEmulator> {
  const state: EmulatorState = {
    settings: resolveSettings(options),
    sentinel: new Sentinel(resolveSentinel(options.sentinel)),
    tokens: new AccessTokens(options.tokens),
    store: new ConversationStore(),
    faults: new FaultQueue(),
    busy: new Map(),
    inFlight: 0,
  };
  for (const rule of options.faults ?? []) state.faults.add(rule);
  const log = new RequestLog(resolveMaxRecorded(options.maxRecordedRequests));
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    handleRequest(state, log, req, res).catch(() => {
      // Never crash the test process: an unexpected failure is a plain 500, as upstream.
      if (!res.headersSent)
        sendAnswer(res, { status: 500, body: 'Internal Server Error', contentType: 'text/plain' });
      else res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  return controls(state, log, server, host);
}

/** The running emulator's face: its address, its state and the controls over it. */
function controls(
  state: EmulatorState,
  log: RequestLog,
  server: Server,
  host: string,
): BackendEmulator {
  const { store, faults, tokens, sentinel } = state;
  const address = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${address.port}${BASE}`,
    port: address.port,
    host,
    requests: log.requests,
    tokens,
    conversations: store,
    settings: state.settings,
    sentinelOptions: sentinel.options,
    get inFlight() {
      return state.inFlight;
    },
    get pendingFaults() {
      return faults.pending;
    },
    inject(rule) {
      faults.add(rule);
    },
    waitForRequest(predicate, waitOptions) {
      return log.waitForRequest(predicate, waitOptions);
    },
    reset() {
      store.clear();
      log.clear();
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
