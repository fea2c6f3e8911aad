/**
 * Issue 10: slow clients on the sidecar. A slowloris (headers one byte at a time) and a slow
 * body are cut with 408 after `headersTimeoutMs` / `requestTimeoutMs`, in JSON; a long
 * streaming answer is not limited by them. (Mounted in a host app, the host's own
 * `server.headersTimeout` / `server.requestTimeout` apply; see the README.)
 */
import net from 'node:net';
import { silentLogger } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { createServer } from '@chatgpt-rest/server';
import t, { type Test } from 'tap';

async function sidecar(t: Test) {
  const emulator = await createBackendEmulator({ dialect: 'legacy', pacingMs: 150 });
  const server = createServer({
    upstream: emulator.url,
    dialect: 'legacy',
    logger: silentLogger,
    port: 0,
    headersTimeoutMs: 400,
    requestTimeoutMs: 800,
  });
  const url = new URL(await server.listen());
  t.teardown(async () => {
    await server.close(100);
    await emulator.close();
  });
  return { url, emulator };
}

/** Writes `parts` with `gapMs` between them; resolves with what came back when the socket closed. */
function trickle(port: number, parts: string[], gapMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
    let index = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || index >= parts.length) clearInterval(timer);
      else socket.write(parts[index++] ?? '');
    }, gapMs);
  });
}

t.test('a slowloris is cut with 408 after headersTimeoutMs', async (t) => {
  const { url } = await sidecar(t);
  const head = 'GET /conversations HTTP/1.1\r\nhost: x\r\nauthorization: Bearer slow-token-1\r\n';
  const started = Date.now();
  const answer = await trickle(Number(url.port), Array.from(head), 100);
  t.match(answer, /^HTTP\/1\.1 408/);
  t.match(answer, /"code":"invalid_request"/);
  t.ok(Date.now() - started < 5000, 'cut within seconds, not minutes');
});

t.test('a slow body is cut with 408 after requestTimeoutMs', async (t) => {
  const { url } = await sidecar(t);
  const body = '{"prompt":"hello there"}';
  const head = `POST /conversations/new HTTP/1.1\r\nhost: x\r\nauthorization: Bearer slow-token-2\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
  const answer = await trickle(Number(url.port), [head, ...Array.from(body)], 200);
  t.match(answer, /^HTTP\/1\.1 408/);
});

t.test('a stream longer than the request timeouts is not cut', async (t) => {
  const { url } = await sidecar(t);
  const response = await fetch(new URL('/conversations/new', url), {
    method: 'POST',
    headers: { authorization: 'Bearer slow-token-3', 'content-type': 'application/json' },
    body: '{"prompt":"hi","stream":true}',
  });
  const started = Date.now();
  const text = await response.text();
  t.ok(Date.now() - started > 1000, 'the stream ran past requestTimeoutMs');
  t.match(text, /event: done/);
});
