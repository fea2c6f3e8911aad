import t from 'tap';
import { raw, rawUpstream, start } from '../../packages/server/test/helpers.js';

const KEY = 'www-auth-api-key';
const REALM = 'Bearer realm="chatgpt-rest"';
const INVALID = 'Bearer realm="chatgpt-rest", error="invalid_token"';

t.test(
  'every 401 the sidecar makes carries WWW-Authenticate (REST API and pass-through)',
  async (t) => {
    const { port } = await start(t, {
      tokens: [{ label: 'main', token: 'www-auth-held-token' }],
      apiKeys: [KEY],
    });
    const cases: [string, string, Record<string, string>, string][] = [
      ['pass-through, no key', '/backend-api/conversations', {}, REALM],
      [
        'pass-through, wrong key',
        '/backend-api/conversations',
        { authorization: 'Bearer nope' },
        INVALID,
      ],
      [
        'pass-through, wrong X-API-Key',
        '/backend-api/conversations',
        { 'x-api-key': 'nope' },
        INVALID,
      ],
      ['REST, no key', '/conversations', {}, REALM],
      ['REST, wrong key', '/conversations', { authorization: 'Bearer nope' }, INVALID],
    ];
    for (const [name, path, headers, challenge] of cases) {
      const reply = await raw(port, 'GET', path, headers);
      t.equal(reply.status, 401, `${name}: 401`);
      t.equal(reply.headers['www-authenticate'], challenge, `${name}: challenge`);
    }
  },
);

t.test('a 401 relayed from the upstream without a challenge gets one', async (t) => {
  const upstream = await rawUpstream(t, (socket) => {
    const body = '{"detail":"Unauthorized"}';
    socket.end(
      `HTTP/1.1 401 X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
  });
  const { port } = await start(t, { upstream: upstream.url });
  const reply = await raw(port, 'GET', '/backend-api/conversations', { authorization: 'Bearer t' });
  t.equal(reply.status, 401);
  t.equal(reply.headers['www-authenticate'], INVALID);
});
