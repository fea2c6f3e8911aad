/**
 * Shared pieces of the hardening suite: every mount, a raw upstream that can send what no HTTP
 * library would (odd statuses, endless bodies, broken framing), and a guard that fails a test
 * when anything escapes to the process (an uncaught exception or unhandled rejection is what
 * takes a host app down).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ChatGptRestOptions } from '@chatgpt-rest/core';
import {
  createBackendEmulator,
  type BackendEmulator,
  type BackendEmulatorOptions,
} from '@chatgpt-rest/emulator';
import {
  expressFive,
  expressFour,
  fastifyFive,
  koaThree,
  koaTwo,
  nodeBridge,
  sidecar,
  type Mount,
  type Started,
} from '../conformance/mounts.js';

export type { Mount, Started };

/** Every way of serving the API: the Node bridge, Express 4/5, Fastify 5, Koa 2/3, the sidecar. */
export const MOUNTS: readonly Mount[] = [
  nodeBridge,
  expressFive,
  expressFour,
  fastifyFive,
  koaThree,
  koaTwo,
  sidecar,
];

/** What the raw upstream saw of one request. */
export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Answers one request by writing to the socket (and ending it, or not). */
export type RawResponder = (request: RawRequest, socket: net.Socket) => void;

/** A raw TCP upstream: its base URL (ending in `/backend-api`) and what it received. */
export interface RawUpstream {
  url: string;
  requests: RawRequest[];
  close(): Promise<void>;
}

const HEAD_LIMIT = 64 * 1024;

function parseHead(head: string): Omit<RawRequest, 'body'> {
  const [line = '', ...lines] = head.split('\r\n');
  const [method = '', target = ''] = line.split(' ');
  const headers: Record<string, string> = {};
  for (const header of lines) {
    const colon = header.indexOf(':');
    if (colon > 0) headers[header.slice(0, colon).toLowerCase()] = header.slice(colon + 1).trim();
  }
  return { method, path: target.replace(/^\/backend-api/, ''), headers };
}

/** Reads requests off one socket (keep-alive or not) and hands each to `respond`. */
function serveSocket(socket: net.Socket, respond: RawResponder, seen: RawRequest[]): void {
  let buffer = Buffer.alloc(0);
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffer.length > HEAD_LIMIT) socket.destroy();
        return;
      }
      const head = parseHead(buffer.subarray(0, end).toString('latin1'));
      const length = Number(head.headers['content-length'] ?? 0);
      if (buffer.length < end + 4 + length) return;
      const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      buffer = buffer.subarray(end + 4 + length);
      const request = { ...head, body };
      seen.push(request);
      respond(request, socket);
    }
  });
}

/** Starts a raw upstream on 127.0.0.1, port 0. */
export function rawUpstream(respond: RawResponder): Promise<RawUpstream> {
  const requests: RawRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveSocket(socket, respond, requests);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/backend-api`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** One raw HTTP/1.1 answer, closing the connection after it. */
export function rawAnswer(
  status: string | number,
  body: string,
  headers: Record<string, string> = {},
): string {
  const lines = [
    `HTTP/1.1 ${typeof status === 'number' ? String(status).padStart(3, '0') : status} X`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** A test's view of the process: did anything escape as an uncaught error? */
export interface ProcessGuard {
  escaped: unknown[];
}

/**
 * Records every uncaught exception and unhandled rejection while a test runs (tap would end
 * the file on one; a host app would die). The test asserts `escaped` is empty at its end.
 */
export function guardProcess(t: { teardown(fn: () => void): void }): ProcessGuard {
  const guard: ProcessGuard = { escaped: [] };
  const record = (error: unknown): void => {
    guard.escaped.push(error);
  };
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  t.teardown(() => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  });
  return guard;
}

/** A test token: long enough to be redacted, unique enough to be searched for. */
export const CANARY_TOKEN = 'canary-token-7f3a9c1e5b2d4086aa11';

/** Sends `count` requests made by `send`, at most `parallel` at a time. */
export async function inBatches<T>(
  count: number,
  parallel: number,
  send: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < count; index = next++) results[index] = await send(index);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}

/** What {@link startOnEmulator} starts: the emulator's options and the mount's. */
export interface EmulatedApp {
  dialect?: 'legacy' | 'web';
  emulator?: Omit<BackendEmulatorOptions, 'dialect'>;
  options?: Omit<ChatGptRestOptions, 'upstream' | 'dialect'>;
  prefix?: string;
  bodyParser?: boolean;
}

/**
 * An emulator and `mount` in front of it, both closed when the test ends: the setup of most
 * cases (legacy dialect, no prefix, the framework's body parser by default).
 */
export async function startOnEmulator(
  t: { teardown(fn: () => Promise<void>): void },
  mount: Mount,
  setup: EmulatedApp = {},
): Promise<{ app: Started; emulator: BackendEmulator }> {
  const dialect = setup.dialect ?? 'legacy';
  const emulator = await createBackendEmulator({ dialect, ...setup.emulator });
  const app = await mount.start({
    options: { upstream: emulator.url, dialect, ...setup.options },
    prefix: setup.prefix ?? '',
    bodyParser: setup.bodyParser ?? true,
  });
  t.teardown(async () => {
    await app.close();
    await emulator.close();
  });
  return { app, emulator };
}
