/**
 * A body whose `Content-Encoding` (gzip, deflate, br) does not decode: bad bytes, cut short, or a
 * deflate stream that needs a dictionary. Koa's parser (co-body) throws zlib's own error, which has
 * no HTTP status: `routes.errors` passed it on and Koa answered a `text/plain` 500, where Express
 * (whose parser makes it a 400) and the core itself (which reads the bytes as they are) answer the
 * spec's JSON 400. The documented setup: `routes.errors`, `@koa/bodyparser`, `routes`.
 */
import zlib from 'node:zlib';
import t from 'tap';
import {
  expressFive,
  expressFour,
  fastifyFive,
  koaThree,
  koaTwo,
  nodeBridge,
  sidecar,
} from '../conformance/mounts.js';
import { guardProcess, startOnEmulator } from './harness.js';

const BODY = '{"prompt":"hi","stream":false}';

const UNDECODABLE: [string, Buffer][] = [
  ['gzip', Buffer.from('not gzip at all')],
  ['gzip', zlib.gzipSync(BODY).subarray(0, 12)],
  ['deflate', Buffer.from('not deflate')],
  ['deflate', zlib.deflateSync(BODY, { dictionary: Buffer.from('a dictionary') })],
  ['br', Buffer.from('not brotli')],
  ['br', zlib.brotliCompressSync(BODY).subarray(0, 4)],
];

function post(url: string, encoding: string, body: Buffer): Promise<Response> {
  return fetch(`${url}/conversations/new`, {
    method: 'POST',
    headers: {
      authorization: 'Bearer undecodable-body-token-0123',
      'content-type': 'application/json',
      'content-encoding': encoding,
    },
    body,
  });
}

for (const mount of [koaThree, koaTwo, expressFive, expressFour, nodeBridge]) {
  t.test(`${mount.name}: a body that does not decode is the JSON 400`, async (t) => {
    const guard = guardProcess(t);
    const { app, emulator } = await startOnEmulator(t, mount);
    for (const [encoding, body] of UNDECODABLE) {
      const response = await post(app.url, encoding, body);
      const name = `${encoding}, ${body.length} bytes`;
      // Express 4's parser (body-parser 1) knows no Brotli: its 415, in our JSON. The core
      // decodes nothing: any compressed body is its 415 (see below).
      const unknown = (mount === expressFour && encoding === 'br') || mount === nodeBridge;
      t.equal(response.status, unknown ? 415 : 400, name);
      t.match(response.headers.get('content-type'), /^application\/json/, `${name}: JSON`);
      const code = unknown ? 'unsupported_media_type' : 'invalid_request';
      t.match(await response.json(), { code }, name);
      t.ok(response.headers.get('x-request-id'), `${name}: a request id`);
    }
    t.equal(emulator.requests.length, 0, 'nothing went upstream');
    t.same(guard.escaped, []);
  });
}

for (const mount of [koaThree, koaTwo]) {
  t.test(`${mount.name}: a body that decodes is served`, async (t) => {
    const { app } = await startOnEmulator(t, mount);
    const response = await post(app.url, 'gzip', zlib.gzipSync(BODY));
    t.equal(response.status, 201);
  });
}

// The core reads bytes as they are: a valid gzip body was a misleading 400 "not valid JSON".
for (const mount of [nodeBridge, fastifyFive, sidecar]) {
  t.test(`${mount.name}: a compressed body is a 415 saying to send it uncompressed`, async (t) => {
    const { app, emulator } = await startOnEmulator(t, mount);
    for (const [encoding, body] of [
      ['gzip', zlib.gzipSync(BODY)],
      ['deflate', zlib.deflateSync(BODY)],
      ['br', zlib.brotliCompressSync(BODY)],
    ] as const) {
      const response = await post(app.url, encoding, body);
      t.equal(response.status, 415, encoding);
      const answer = (await response.json()) as { code: string; error: string };
      t.equal(answer.code, 'unsupported_media_type', encoding);
      t.match(answer.error, /compressed \(Content-Encoding\); send it uncompressed/, encoding);
    }
    const plain = await post(app.url, 'identity', Buffer.from(BODY));
    t.equal(plain.status, 201, 'identity is no compression');
    const sent = emulator.requests.filter((r) => r.path === '/backend-api/conversation');
    t.equal(sent.length, 1, 'only the plain one was sent');
  });
}
