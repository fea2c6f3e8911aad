import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { Test } from 'tap';
import {
  createBackendEmulator,
  type BackendEmulator,
  type BackendEmulatorOptions,
} from '@chatgpt-rest/emulator';
import { createJsonLogger } from '../src/logger.js';
import { createServer, type Sidecar, type SidecarOptions } from '../src/server.js';

/** A started emulator and sidecar, plus the sidecar's captured log lines. */
export interface Started {
  emulator: BackendEmulator;
  sidecar: Sidecar;
  /** Base URL of the sidecar, e.g. `http://127.0.0.1:51234`. */
  url: string;
  port: number;
  /** Every log line written so far, raw. */
  logLines: string[];
  /** The log lines parsed. */
  logs: () => Record<string, unknown>[];
}

/** Starts an emulator and a sidecar in front of it on 127.0.0.1, closed when the test ends. */
export async function start(
  t: Test,
  sidecarOptions: Partial<SidecarOptions> = {},
  emulatorOptions: BackendEmulatorOptions = {},
): Promise<Started> {
  const emulator = await createBackendEmulator({ dialect: 'legacy', ...emulatorOptions });
  const logLines: string[] = [];
  const sidecar = createServer({
    upstream: emulator.url,
    port: 0,
    logger: createJsonLogger({ level: 'debug', write: (line) => logLines.push(line) }),
    ...sidecarOptions,
  });
  const url = await sidecar.listen();
  t.teardown(async () => {
    await sidecar.close(0);
    await emulator.close();
  });
  return {
    emulator,
    sidecar,
    url,
    port: Number(new URL(url).port),
    logLines,
    logs: () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** A raw HTTP exchange: the request target is sent exactly as given. */
export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Sends `method target` over a fresh socket with `http.request` (no URL normalisation). */
export async function raw(
  port: number,
  method: string,
  target: string,
  headers: OutgoingHttpHeaders = {},
  body?: string,
): Promise<RawReply> {
  const req = http.request({
    host: '127.0.0.1',
    port,
    method,
    path: target,
    headers,
    agent: false,
  });
  req.end(body);
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return { status: res.statusCode ?? 0, headers: res.headers, body: text };
}

/** Sends bytes on a plain socket and returns everything the server wrote until it closed. */
export async function rawSocket(port: number, request: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(request);
  let text = '';
  socket.setEncoding('utf8');
  for await (const chunk of socket) text += chunk as string;
  return text;
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it holds (or fails after `timeoutMs`). */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await delay(10);
  }
}

/** A raw upstream: a TCP server that answers each request with bytes the test writes itself. */
export interface RawUpstream {
  /** Base URL, ending in `/backend-api`. */
  url: string;
  /** Every byte each connection sent, one string (latin1) per connection. */
  received: string[];
  close(): Promise<void>;
}

/**
 * Starts a raw upstream on 127.0.0.1: once a request's head (up to the blank line) has arrived,
 * `answer` gets the socket and the head and writes whatever it likes. Closed when the test ends.
 */
export async function rawUpstream(
  t: Test,
  answer: (socket: net.Socket, head: string) => void,
): Promise<RawUpstream> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const index = received.push('') - 1;
    let answered = false;
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      received[index] = (received[index] ?? '') + chunk.toString('latin1');
      const text = received[index] ?? '';
      const end = text.indexOf('\r\n\r\n');
      if (answered || end === -1) return;
      answered = true;
      answer(socket, text.slice(0, end));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return { url: `http://127.0.0.1:${port}/backend-api`, received, close };
}

/** Fails the test on any uncaught exception or unhandled rejection while it runs. */
export function failOnCrash(t: Test): void {
  const onCrash = (error: unknown): void => {
    t.fail(`the process would have died: ${error instanceof Error ? error.message : 'unknown'}`);
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  t.teardown(() => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  });
}
