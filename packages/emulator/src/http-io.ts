/**
 * Small HTTP helpers of the emulator: reading a request body, answering with an `ErrorAnswer` or
 * JSON, and reading loosely typed headers and bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorAnswer } from './backend-errors.js';

/** Largest request body read; a bigger one is answered 413. */
const MAX_BODY = 16 * 1024 * 1024;

/** The first value of a header that may repeat. */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Writes an answer, unless the response already started or the socket is gone. */
export function sendAnswer(res: ServerResponse, answer: ErrorAnswer): void {
  if (res.headersSent || res.destroyed) return;
  const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': answer.contentType,
    'content-length': Buffer.byteLength(body),
    ...answer.headers,
  });
  res.end(body);
}

/** Writes compact JSON, as FastAPI does. */
export function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  sendAnswer(res, { status, body: JSON.stringify(body), contentType: 'application/json' });
}

/** The request body as text; throws when it exceeds `MAX_BODY`. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parsed JSON, else the text itself (`undefined` when empty). */
export function parseBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** The value when it is a plain object, else `{}`. */
export function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
