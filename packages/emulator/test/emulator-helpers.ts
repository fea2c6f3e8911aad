/**
 * Helpers shared by the emulator tests: HTTP calls against a running emulator and the full
 * `web` send path (chat-requirements → proof of work → prepare → message POST).
 */
import { request as httpRequest } from 'node:http';
import { computeProofAnswer } from '@chatgpt-rest/core/backend';
import { dataEvents, jsonRequest, readReply, type Json, type Reply } from '@chatgpt-rest/test-kit';

/** Calls the emulator with fetch and reads the whole body. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? 'token-a'}`;
  return readReply(await fetch(jsonRequest(base + path, method, { body: options.body, headers })));
}

/** Rebuilds the assistant text of a legacy stream (last snapshot of the last assistant id). */
export function legacyText(text: string): {
  text: string;
  id: string;
  conversationId: string;
  last: Json;
} {
  const events = dataEvents(text).filter((e) => e.message?.author?.role === 'assistant');
  const last = events.at(-1);
  return {
    text: last?.message.content.parts[0] ?? '',
    id: last?.message.id ?? '',
    conversationId: last?.conversation_id ?? '',
    last,
  };
}

/** Rebuilds the assistant text and final message state of a v1 stream. */
export function v1Text(text: string): {
  text: string;
  id: string;
  conversationId: string;
  message: Json;
} {
  let state: Json = {};
  let lastPath = '';
  let lastOp = '';
  const apply = (path: string, op: string, value: unknown) => {
    if (path === '' && op === 'add') {
      state = structuredClone(value);
      return;
    }
    const keys = path.split('/').slice(1);
    let target = state;
    for (const key of keys.slice(0, -1)) target = target[key];
    const leaf = keys.at(-1)!;
    if (op === 'append') {
      if (typeof target[leaf] === 'string') target[leaf] += String(value);
      else if (Array.isArray(target[leaf])) target[leaf].push(value);
      else target[leaf] = { ...target[leaf], ...(value as object) };
    } else target[leaf] = value;
  };
  let conversationId = '';
  let assistant: Json;
  for (const event of dataEvents(text)) {
    if (typeof event !== 'object' || event === null || 'type' in event) continue;
    if ('message' in event) continue;
    const path = event.p ?? lastPath;
    const op = event.o ?? lastOp;
    lastPath = path;
    lastOp = op;
    if (op === 'patch') {
      for (const sub of event.v) apply(sub.p, sub.o, sub.v);
    } else if (event.v?.message !== undefined) {
      apply('', 'add', event.v);
    } else apply(path, op, event.v);
    if (state.message?.author?.role === 'assistant' || state.message?.author?.role === 'tool') {
      assistant = state;
    }
    conversationId = state.conversation_id ?? conversationId;
  }
  return {
    text: assistant?.message.content.parts?.[0] ?? '',
    id: assistant?.message.id ?? '',
    conversationId,
    message: assistant?.message,
  };
}

/** The full web send path; `tamper` may alter the headers before the message POST. */
export async function webSend(
  base: string,
  body: Record<string, unknown>,
  options: {
    token?: string;
    tamper?: (headers: Record<string, string>) => void;
    path?: string;
  } = {},
): Promise<Reply & { headersSent: Record<string, string> }> {
  const token = options.token ?? 'token-a';
  const requirements = await call(base, 'POST', '/sentinel/chat-requirements', {
    token,
    body: { p: 'gAAAAACtest' },
  });
  const pow = requirements.json.proofofwork;
  const prepare = await call(base, 'POST', '/f/conversation/prepare', {
    token,
    body: { ...body, messages: undefined },
  });
  const headers: Record<string, string> = {
    'openai-sentinel-chat-requirements-token': requirements.json.token,
    'x-conduit-token': prepare.json.conduit_token,
    accept: 'text/event-stream',
  };
  if (pow?.required === true) {
    headers['openai-sentinel-proof-token'] = computeProofAnswer(pow.seed, pow.difficulty);
  }
  options.tamper?.(headers);
  const reply = await call(base, 'POST', options.path ?? '/f/conversation', {
    token,
    body,
    headers,
  });
  return { ...reply, headersSent: headers };
}

/** Opens a raw HTTP request and resolves with the response object (for abort/stall tests). */
export function rawRequest(
  url: string,
  body: unknown,
  token = 'token-a',
): { done: Promise<import('node:http').IncomingMessage>; abort: () => void } {
  const req = httpRequest(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  const done = new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  req.end(JSON.stringify(body));
  return { done, abort: () => req.destroy() };
}
