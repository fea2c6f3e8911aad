/**
 * Fault: the pass-through read a request's whole body (up to the body limit) before checking its
 * API key, so clients without a key could make the sidecar hold 1 MiB per connection for as long
 * as they took to send it. A request without a valid key is now refused from its headers.
 */
import net from 'node:net';
import t from 'tap';
import { start } from './helpers.js';

const KEY = 'client-api-key-key-first';

/** Sends a head announcing a 1 MiB body and one byte of it; resolves with the first answer bytes. */
function firstAnswer(port: number, headers: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => resolve(''));
    socket.once('data', (data) => {
      resolve(data.toString('latin1'));
      socket.destroy();
    });
    socket.write(
      `POST /backend-api/conversation HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${1024 * 1024}\r\n${headers}\r\n{`,
    );
    setTimeout(() => {
      resolve('no answer while the body was still coming');
      socket.destroy();
    }, 1000);
  });
}

t.test('the pass-through refuses a missing or wrong API key before reading the body', async (t) => {
  const { port } = await start(t, {
    tokens: [{ label: 'main', token: 'held-token-key-first' }],
    apiKeys: [KEY],
  });
  t.match(await firstAnswer(port, ''), /^HTTP\/1\.1 401 [\s\S]*missing_token/, 'no key');
  t.match(
    await firstAnswer(port, 'X-API-Key: wrong-key-000000\r\n'),
    /^HTTP\/1\.1 401 /,
    'wrong key',
  );
  t.match(
    await firstAnswer(port, `X-API-Key: ${KEY}\r\n`),
    /no answer while the body was still coming/,
    'a valid key waits for its body',
  );
});
