/**
 * Fault: with a store that answers later (Redis), a pass-through client could leave while its
 * request was being authenticated. Its `close` had fired before the pass-through listened for
 * it, so the request was still sent upstream, its flight stayed counted for ever
 * (`passThrough.active`, which shutdown waits on), and a message kept its place in the token's
 * queue until the slot came free.
 */
import { MemoryStore, type SharedStore, type TokenStore } from '@chatgpt-rest/core';
import { messageBody } from '@chatgpt-rest/test-kit';
import net from 'node:net';
import t, { type Test } from 'tap';
import { delay, start, until } from './helpers.js';

const KEY = 'client-api-key-slow-store';

/** A gate the test opens: the store's `view` waits on it, as a slow Redis round trip would. */
interface Gate {
  /** Resolves when a `view` is waiting. */
  waiting: Promise<void>;
  open(): void;
}

/** A memory store whose token `view` waits until the test opens the gate. */
function slowStore(): { store: SharedStore; gate: () => Gate } {
  const memory = new MemoryStore();
  let current: { gate: Gate; reached: () => void; opened: Promise<void> } | undefined;
  const gate = (): Gate => {
    let reached = (): void => undefined;
    let open = (): void => undefined;
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    const opened = new Promise<void>((resolve) => (open = resolve));
    current = { gate: { waiting, open }, reached, opened };
    return current.gate;
  };
  const base = memory.tokens;
  // No `stickyNow`: like Redis, every pick goes through `view`.
  const tokens: TokenStore = {
    acquireSlot: (account, options) => base.acquireSlot(account, options),
    queued: (account) => base.queued(account),
    markCapped: (account, until) => base.markCapped(account, until),
    markEvicted: (account, reason) => base.markEvicted(account, reason),
    remember: (conversationId, account) => base.remember(conversationId, account),
    forget: (accounts) => base.forget?.(accounts),
    view: async (accounts, conversationId) => {
      const held = current;
      current = undefined;
      if (held !== undefined) {
        held.reached();
        await held.opened;
      }
      return base.view(accounts, conversationId);
    },
  };
  const store: SharedStore = {
    tokens,
    conversations: (bounds) => memory.conversations(bounds),
    health: () => memory.health(),
    close: () => memory.close(),
  };
  return { store, gate };
}

/** Sends `request` on a raw socket and closes it once the store holds the request. */
async function leaveDuringAuthentication(port: number, request: string, gate: Gate) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(request);
  await gate.waiting;
  socket.destroy();
  await delay(50);
  gate.open();
  await delay(50);
}

async function setup(t: Test) {
  const { store, gate } = slowStore();
  const started = await start(
    t,
    {
      tokens: [{ label: 'main', token: 'held-token-slow-store' }],
      apiKeys: [KEY],
      store,
      queueSize: 1,
      queueWait: 3000,
    },
    { pacingMs: 20, replyWords: 40 },
  );
  return { ...started, gate };
}

t.test('a client leaving a GET while the store answers is not forwarded nor counted', async (t) => {
  const { port, sidecar, emulator, gate } = await setup(t);
  const request = `GET /backend-api/conversations HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\n\r\n`;
  await leaveDuringAuthentication(port, request, gate());
  t.equal(sidecar.passThrough?.active, 0, 'no flight is left counted');
  const sent = emulator.requests.filter((r) => r.path.startsWith('/backend-api/conversations'));
  t.equal(sent.length, 0, 'nothing went upstream for a client already gone');
});

t.test('a client leaving a message while the store answers takes no queue place', async (t) => {
  const { port, url, sidecar, gate } = await setup(t);
  const body = JSON.stringify(messageBody('hello'));
  const post = () =>
    fetch(`${url}/backend-api/conversation`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body,
    });
  // The token's one message slot is busy with a paced stream for a while.
  const streaming = await post();
  const reader = streaming.body!.getReader();
  await reader.read();
  const request =
    `POST /backend-api/conversation HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  await leaveDuringAuthentication(port, request, gate());
  // The queue has one place: the client that left must not be holding it.
  const next = post();
  while (!(await reader.read()).done);
  const answer = await next;
  t.equal(answer.status, 200, 'the next message waits its turn and is answered');
  await answer.text();
  await until(() => sidecar.passThrough?.active === 0, 2000);
});
