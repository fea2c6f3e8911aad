/**
 * With held tokens, a conversation lives on the token that made it: a path naming it in upper
 * case (a UUID in any case is valid) must reach that token, as the lower-case id does. The
 * pool's sticky lookup took the path's spelling, missed, and sent the call under another
 * account, which answered 404 for a conversation that exists.
 */
import t from 'tap';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { createHandler } from '../src/index.js';

const KEY = 'key-id-case-000001';

t.test('a conversation named in upper case reaches the token that holds it', async (t) => {
  const emulator = await createBackendEmulator({ dialect: 'legacy', replyWords: 5 });
  t.teardown(() => emulator.close());
  const handler = createHandler({
    upstream: emulator.url,
    dialect: 'legacy',
    cache: false,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    auth: {
      mode: 'server',
      apiKeys: [KEY],
      tokens: [
        { label: 'a', token: 'held-token-id-case-a' },
        { label: 'b', token: 'held-token-id-case-b' },
      ],
    },
  });
  const call = (path: string, body?: object) =>
    handler(
      new Request(`http://127.0.0.1${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  // Made at once, the two go to different tokens (the least loaded is picked).
  const made = await Promise.all(
    [1, 2].map(async (i) => {
      const answer = await call('/conversations/new', { prompt: `hello ${i}` });
      const json = (await answer.json()) as { response?: { conversation_id?: string } };
      return json.response?.conversation_id ?? '';
    }),
  );
  for (const id of made) {
    for (const spelling of [id, id.toUpperCase()]) {
      const answer = await call(`/conversations/${spelling}/messages`);
      t.equal(answer.status, 200, `${spelling === id ? 'lower' : 'upper'} case: ${id}`);
      await answer.text();
    }
  }
});
