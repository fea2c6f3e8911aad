import t from 'tap';
import { raw, rawSocket, rawUpstream, start } from '../../packages/server/test/helpers.js';

const HELD = 'get-body-held-token';
const KEY = 'get-body-api-key';
const BODY = 'SECRET-GET-BODY-'.repeat(8);

t.test(
  'pass-through: a GET with a body is forwarded without it (no length, no bytes) and the connection stays in step',
  async (t) => {
    const upstream = await rawUpstream(t, (socket) => {
      socket.end(
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}',
      );
    });
    for (const mode of ['server-held', 'passthrough'] as const) {
      const { port } = await start(
        t,
        mode === 'server-held'
          ? { upstream: upstream.url, tokens: [{ label: 'main', token: HELD }], apiKeys: [KEY] }
          : { upstream: upstream.url },
      );
      const before = upstream.received.length;
      const reply = await raw(
        port,
        'GET',
        '/backend-api/conversations',
        {
          authorization: `Bearer ${KEY}`,
          'content-type': 'text/plain',
          'content-length': String(BODY.length),
        },
        BODY,
      );
      t.equal(reply.status, 200, `${mode}: the GET is answered`);
      const sent = upstream.received.slice(before).join('');
      t.notOk(sent.includes('SECRET-GET-BODY'), `${mode}: the body did not go upstream`);
      t.notMatch(sent, /content-length|transfer-encoding/i, `${mode}: no framing for a body`);
      t.match(sent, /\r\n\r\n$/, `${mode}: the request ends after its head`);
    }
  },
);

t.test(
  'pass-through: a chunked GET body is dropped too, and the next request on the connection is served',
  async (t) => {
    const upstream = await rawUpstream(t, (socket) => {
      socket.end(
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}',
      );
    });
    const { port } = await start(t, { upstream: upstream.url });
    const request =
      'GET /backend-api/conversations HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t1\r\n' +
      `transfer-encoding: chunked\r\n\r\n${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n` +
      'GET /backend-api/conversations HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t1\r\nconnection: close\r\n\r\n';
    const text = await rawSocket(port, request);
    t.equal(text.match(/HTTP\/1\.1 200/g)?.length, 2, 'both requests are answered');
    t.notOk(upstream.received.join('').includes('SECRET-GET-BODY'), 'no body went upstream');
  },
);
