import type { Socket } from 'node:net';
import t from 'tap';
import { raw, rawUpstream, start } from '../../packages/server/test/helpers.js';

const KEY = 'sniff-cap-api-key';
const HELD = { label: 'main', token: 'sniff-cap-held-token' };
const MIB = 1024 * 1024;

/** Writes a chunked body of `total` bytes of `fill` as fast as the socket takes it. */
function endless(socket: Socket, status: number, total: number): void {
  socket.write(
    `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`,
  );
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const frame = Buffer.concat([
    Buffer.from(`${chunk.length.toString(16)}\r\n`),
    chunk,
    Buffer.from('\r\n'),
  ]);
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !socket.destroyed) {
      sent += chunk.length;
      if (!socket.write(frame)) {
        socket.once('drain', pump);
        return;
      }
    }
    if (!socket.destroyed) socket.end('0\r\n\r\n');
  };
  const start = '{"detail":{"code":"token_expired","message":"x"},"pad":"';
  socket.write(`${start.length.toString(16)}\r\n${start}\r\n`);
  pump();
}

t.test(
  'server-held pass-through: an endless 401 body is cut at the error-body cap and answered 502 promptly, with bounded buffering',
  async (t) => {
    const upstream = await rawUpstream(t, (socket) => endless(socket, 401, 50 * MIB));
    const { port, sidecar } = await start(t, {
      upstream: upstream.url,
      tokens: [HELD],
      apiKeys: [KEY],
    });
    const started = Date.now();
    const reply = await raw(port, 'GET', '/backend-api/conversations', {
      authorization: `Bearer ${KEY}`,
    });
    const took = Date.now() - started;
    t.equal(reply.status, 502);
    t.equal(JSON.parse(reply.body).code, 'upstream_error');
    t.ok(took < 2000, `answered in ${took} ms`);
    const buffered = sidecar.passThrough?.buffered;
    t.ok(
      buffered !== undefined && buffered.peak <= 64 * 1024 + 64 * 1024,
      `at most the cap plus one chunk was held (peak ${buffered?.peak} bytes)`,
    );
    t.equal(buffered?.current, 0, 'nothing stays held');
    t.equal(sidecar.pool?.status()[0]?.state, 'evicted', 'the pool still learnt from the 401');
  },
);

t.test(
  'server-held pass-through: the error-body cap is an option; bodies under it are relayed whole',
  async (t) => {
    let size = 0;
    const upstream = await rawUpstream(t, (socket) => {
      const body = `{"detail":"${'b'.repeat(size)}"}`;
      socket.end(
        `HTTP/1.1 500 X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    });
    const { port } = await start(t, {
      upstream: upstream.url,
      tokens: [HELD],
      apiKeys: [KEY],
      passThroughErrorBodyLimit: 1024,
    });
    const headers = { authorization: `Bearer ${KEY}` };
    size = 900;
    const small = await raw(port, 'GET', '/backend-api/conversations', headers);
    t.equal(small.status, 500, 'an error body under the cap is relayed');
    t.equal(small.body.length, 900 + 13);
    size = 2000;
    const large = await raw(port, 'GET', '/backend-api/conversations', headers);
    t.equal(large.status, 502, 'an error body over the cap is a 502');
  },
);

t.test(
  'server-held pass-through: a 50 MiB 200 body streams through without being held',
  async (t) => {
    const upstream = await rawUpstream(t, (socket) => endless(socket, 200, 50 * MIB));
    const { port, sidecar } = await start(t, {
      upstream: upstream.url,
      tokens: [HELD],
      apiKeys: [KEY],
    });
    const reply = await raw(port, 'GET', '/backend-api/conversations', {
      authorization: `Bearer ${KEY}`,
    });
    t.equal(reply.status, 200);
    t.ok(reply.body.length >= 50 * MIB, 'the whole body arrived');
    t.equal(sidecar.passThrough?.buffered.peak, 0, 'no body byte was buffered');
  },
);
