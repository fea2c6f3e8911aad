/**
 * Property-based fuzz of the request side (issue 10): random methods, paths, headers and bodies
 * sent as raw HTTP through the Node bridge to a handler in front of the emulator. Whatever comes
 * in, the answer is an HTTP answer with a status other than 500, JSON when it is an error, and
 * nothing escapes to the process.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { createHandler, createNodeListener } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import fc from 'fast-check';
import t from 'tap';
import { guardProcess } from './harness.js';

const ID = '6a1e8d2c-3b4f-4e5a-9c7d-0f1e2d3c4b5a';

const segment = fc.oneof(
  fc.constantFrom(
    'conversations',
    'new',
    'all',
    'ask',
    'regenerate',
    'messages',
    ID,
    'openapi.json',
  ),
  fc.constantFrom('.', '..', '%2e', '%2E%2e', '%2f', '%5c', '%00', '%25', '', '\\', '~', '%ff'),
  fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
);
const path = fc
  .tuple(fc.array(segment, { maxLength: 5 }), fc.option(fc.string({ maxLength: 20 })))
  .map(([parts, query]) => `/${parts.join('/')}${query === null ? '' : `?${encodeURI(query)}`}`);
const method = fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD', 'FOO');
const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }).filter((s) => !/[\r\n\0]/.test(s) && /^[\x20-\x7e]*$/.test(s)),
  fc.constantFrom('Bearer fuzz-token-123456', 'Bearer ', 'Basic abc', 'application/json'),
);
const headers = fc.dictionary(
  fc.constantFrom(
    'authorization',
    'content-type',
    'accept',
    'x-api-key',
    'origin',
    'x-forwarded-proto',
    'content-encoding',
  ),
  headerValue,
  { maxKeys: 5 },
);
const body = fc.oneof(
  fc.constant(''),
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    '{"prompt":"hi","stream":false}',
    '{"__proto__":{"x":1},"prompt":"a"}',
    '{"prompt":',
  ),
);

/** Sends one raw request and reads the status line and body (or notes the connection closed). */
function rawRequest(port: number, text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
      resolve({ status, body: received.slice(received.indexOf('\r\n\r\n') + 4) });
    });
    socket.setTimeout(5000, () => socket.destroy());
    socket.end(text);
  });
}

t.test('random requests through the Node bridge never give a 500 or escape', async (t) => {
  const guard = guardProcess(t);
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  const handler = createHandler({
    upstream: emulator.url,
    dialect: 'legacy',
    cors: { origins: '*' },
  });
  const server = createServer(createNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await emulator.close();
  });
  await fc.assert(
    fc.asyncProperty(method, path, headers, body, async (m, p, h, b) => {
      const lines = [`${m} ${p} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close'];
      for (const [name, value] of Object.entries(h)) lines.push(`${name}: ${value}`);
      const bytes = Buffer.byteLength(b);
      if (bytes > 0) lines.push(`content-length: ${bytes}`);
      const answer = await rawRequest(port, `${lines.join('\r\n')}\r\n\r\n${b}`);
      // 0: Node's parser refused the request and closed (a 400 from node:http itself is fine too).
      if (answer.status === 500) throw new Error(`500 for ${m} ${p}: ${answer.body}`);
      return true;
    }),
    { numRuns: 300, seed: 20261202 },
  );
  t.same(guard.escaped, []);
});
