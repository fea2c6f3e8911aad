import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { RestError, rawRestError, sseErrorFrame, writeRestError } from '../src/index.js';

/** One request to a server whose handler is `serve`; resolves with status, headers and body. */
async function answer(
  serve: (res: ServerResponse) => void,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const server = createServer((_req, res) => serve(res));
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path: '/' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

t.test('writeRestError writes the spec error with its headers, never cached', async (t) => {
  const error = new RestError('rate_limited', 'slow down', { retryAfter: 7 });
  const got = await answer((res) => writeRestError(res, error, { close: false }));
  t.equal(got.status, 429);
  t.same(JSON.parse(got.body), { error: 'slow down', code: 'rate_limited', retry_after: 7 });
  t.equal(got.headers['retry-after'], '7');
  t.equal(got.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(got.headers['cache-control'], 'no-store');
  t.equal(got.headers['content-length'], String(Buffer.byteLength(got.body)));
  t.not(got.headers.connection, 'close');
});

t.test('writeRestError: a 401 gets a challenge, close closes the connection', async (t) => {
  const got = await answer((res) =>
    writeRestError(res, new RestError('missing_token', 'no'), { close: true }),
  );
  t.equal(got.status, 401);
  t.equal(got.headers['www-authenticate'], 'Bearer realm="chatgpt-rest"');
  t.equal(got.headers.connection, 'close');
});

t.test('writeRestError cuts a response whose head is already sent', async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
    writeRestError(res, new RestError('upstream_error', 'broke'));
    t.ok(res.destroyed, 'the response is cut, not ended as if whole');
    server.close();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      res.on('data', () => undefined);
      res.on('error', () => resolve());
      res.on('aborted', () => resolve());
      res.on('close', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
  });
});

t.test('rawRestError is a whole HTTP answer, with a status of its own if given', (t) => {
  const raw = rawRestError(new RestError('invalid_request', 'too slow'), 408);
  t.match(raw, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  t.match(raw, /\r\nconnection: close\r\n/);
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  t.match(head, `content-length: ${Buffer.byteLength(body)}`);
  t.same(JSON.parse(body), { error: 'too slow', code: 'invalid_request' });
  t.end();
});

t.test('sseErrorFrame: the REST event, or the backend shape for relayed streams', (t) => {
  const error = new RestError('upstream_unavailable', 'bye');
  t.equal(
    sseErrorFrame(error),
    'event: error\ndata: {"error":"bye","code":"upstream_unavailable"}\n\n',
  );
  t.equal(
    sseErrorFrame(error, 'backend'),
    'event: error\ndata: {"message":null,"error":"bye","code":"upstream_unavailable"}\n\n',
  );
  t.end();
});
