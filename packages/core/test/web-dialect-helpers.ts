/**
 * Helpers of the `web` dialect tests: a core handler pointed at a `web` emulator, REST calls made
 * with web-standard `Request`s, and the emulator's record of message POSTs.
 */
import type { Test } from 'tap';
import { createHandler, type ChatGptHandler, type ChatGptRestOptions } from '../src/index.js';
import {
  createBackendEmulator,
  type BackendEmulator,
  type BackendEmulatorOptions,
  type RecordedRequest,
} from '@chatgpt-rest/emulator';

/** Parsed JSON of unknown shape. */
export type Json = ReturnType<typeof JSON.parse>;

/** A REST answer read whole. */
export interface RestReply {
  status: number;
  headers: Headers;
  text: string;
  json: Json;
}

/** An emulator in `dialect: 'web'` and a handler using it, both closed at the end of the test. */
export async function webSetup(
  t: Test,
  emulatorOptions: BackendEmulatorOptions = {},
  handlerOptions: ChatGptRestOptions = {},
): Promise<{ emulator: BackendEmulator; handler: ChatGptHandler }> {
  const emulator = await createBackendEmulator({ dialect: 'web', ...emulatorOptions });
  t.teardown(() => emulator.close());
  const handler = createHandler({ upstream: emulator.url, dialect: 'web', ...handlerOptions });
  return { emulator, handler };
}

/** Calls the REST handler with a `Request` and reads the whole answer. */
export async function rest(
  handler: ChatGptHandler,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RestReply> {
  const headers: Record<string, string> = {
    authorization: options.token ?? 'token-a',
    ...options.headers,
  };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await handler(
    new Request(`http://x${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    }),
  );
  const text = await response.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** The SSE events of a REST stream, as `{event, data}` with parsed data. */
export function sseEvents(text: string): { event: string; data: Json }[] {
  return text
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines
        .find((line) => line.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .join('\n');
      return event === undefined
        ? undefined
        : { event, data: data === '' ? null : JSON.parse(data) };
    })
    .filter((entry) => entry !== undefined);
}

/** The emulator's message POSTs (`/f/conversation`), in order. */
export function messagePosts(emulator: BackendEmulator): RecordedRequest[] {
  return emulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/f/conversation'));
}

/** The emulator's requests to one path suffix, in order. */
export function requestsTo(emulator: BackendEmulator, suffix: string): RecordedRequest[] {
  return emulator.requests.filter((r) => r.path.endsWith(suffix));
}

/** One header of a recorded request as a string. */
export function header(request: RecordedRequest | undefined, name: string): string | undefined {
  const value = request?.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A fetch that lets a test rewrite requests on their way to the emulator: `rewrite` gets the
 * path and the headers and may change them (e.g. spoil a proof) before the real fetch.
 */
export function rewritingFetch(
  rewrite: (path: string, headers: Headers, body: string | undefined) => Response | undefined,
): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === 'string' ? init.body : undefined;
    const replaced = rewrite(url.pathname, headers, body);
    if (replaced !== undefined) return replaced;
    return globalThis.fetch(input, { ...init, headers });
  };
}
