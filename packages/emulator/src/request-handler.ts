/**
 * What every request goes through before an endpoint: its body read and recorded, its faults
 * (queued or from `X-Emulator-Fault`) applied, the path and the access token checked.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { routeNotFound, tokenExpired } from './backend-errors.js';
import type { RecordedRequest } from './types.js';
import type { Fault, StreamFault } from './faults.js';
import { faultsFromHeader, isStatusFault, statusFaultAnswer } from './faults.js';
import { firstHeader, readBody, sendAnswer } from './http-io.js';
import type { RequestLog } from './request-log.js';
import { BASE, route } from './routes.js';
import type { EmulatorState } from './state.js';

/** Answers one request (never throws for a client's mistake; the server maps throws to 500). */
export async function handleRequest(
  state: EmulatorState,
  log: RequestLog,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
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
  const recorded = log.record(req, res, url, raw);
  res.on('finish', () => (recorded.status ??= res.statusCode));
  const auth = firstHeader(req.headers.authorization);
  const applied = faultsOf(state, recorded, auth);
  recorded.faults = applied;
  const stallBefore = applied.find((f) => f.type === 'stall_before_headers');
  if (stallBefore !== undefined) {
    await stall(res, stallBefore.ms);
    if (res.destroyed) return;
  }
  if (answeredByFault(res, applied)) return;
  if (recorded.path !== BASE && !recorded.path.startsWith(`${BASE}/`)) {
    return sendAnswer(res, routeNotFound());
  }
  const authResult = state.tokens.authenticate(auth);
  if ('answer' in authResult) return sendAnswer(res, authResult.answer);
  const streamFaults = applied.filter((f): f is StreamFault => !isStatusFault(f));
  await route(state, res, recorded, authResult.token, streamFaults);
}

/** The queued faults matching the request, then those its `X-Emulator-Fault` header names. */
function faultsOf(state: EmulatorState, recorded: RecordedRequest, auth?: string): Fault[] {
  const bearer = /^Bearer\s+(\S+)/i.exec(auth ?? '')?.[1];
  return [
    ...state.faults.take({ method: recorded.method, path: recorded.path, token: bearer }),
    ...faultsFromHeader(firstHeader(recorded.headers['x-emulator-fault'])),
  ];
}

/** Answers with a status fault or a 401 inside a 200 stream; true when it did. */
function answeredByFault(res: ServerResponse, faults: Fault[]): boolean {
  const statusFault = faults.find(isStatusFault);
  if (statusFault !== undefined) {
    sendAnswer(res, statusFaultAnswer(statusFault));
    return true;
  }
  const inStream401 = faults.find((f) => f.type === 'unauthorized_in_stream');
  if (inStream401 !== undefined) {
    const json = JSON.stringify(tokenExpired().body);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    res.end(inStream401.format === 'raw' ? json : `data: ${json}\n\n`);
    return true;
  }
  return false;
}

/** Waits `ms`, or until the connection closes. */
function stall(res: ServerResponse, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
