/**
 * Helpers of the `web` dialect tests: a core handler pointed at a `web` emulator, REST calls made
 * with web-standard `Request`s, and the emulator's record of message POSTs.
 */
import type { Test } from 'tap';
import { jsonRequest, readReply, type Reply } from '@chatgpt-rest/test-kit';
import { createHandler, type ChatGptHandler, type ChatGptRestOptions } from '../src/index.js';
import {
  createBackendEmulator,
  type BackendEmulator,
  type BackendEmulatorOptions,
  type RecordedRequest,
} from '@chatgpt-rest/emulator';

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
): Promise<Reply> {
  const headers = { authorization: options.token ?? 'token-a', ...options.headers };
  return readReply(
    await handler(jsonRequest(`http://x${path}`, method, { body: options.body, headers })),
  );
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
