import t from 'tap';
import { RestError } from '../src/errors.js';
import { deviceIdFor } from '../src/upstream/web-sender.js';
import {
  header,
  messagePosts,
  requestsTo,
  rest,
  rewritingFetch,
  webSetup,
} from './web-dialect-helpers.js';

const NEW = '/conversations/new';

const urlOf = (input: string | URL | Request): string =>
  input instanceof Request ? input.url : input.toString();
const HI = { body: { prompt: 'hi' } };

t.test('a refused proof is recomputed once with a fresh requirements token', async (t) => {
  let spoiled = 0;
  const fetch = rewritingFetch((path, headers) => {
    if (path.endsWith('/f/conversation') && spoiled++ === 0) {
      headers.set('openai-sentinel-proof-token', 'gAAAAABnot-a-proof');
    }
    return undefined;
  });
  const { emulator, handler } = await webSetup(t, {}, { fetch });
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 201, answer.text);
  const posts = messagePosts(emulator);
  t.same(
    posts.map((p) => p.refusal),
    ['proof_invalid', undefined],
  );
  t.equal(requestsTo(emulator, '/sentinel/chat-requirements').length, 2);
  t.not(
    header(posts[0], 'openai-sentinel-chat-requirements-token'),
    header(posts[1], 'openai-sentinel-chat-requirements-token'),
    'the retry uses a fresh requirements token',
  );
  t.match(header(posts[1], 'openai-sentinel-proof-token'), /^gAAAAAB[A-Za-z0-9+/=]+$/);
});

t.test('a proof refused twice fails with upstream_blocked after two POSTs', async (t) => {
  const fetch = rewritingFetch((path, headers) => {
    if (path.endsWith('/f/conversation')) headers.set('openai-sentinel-proof-token', 'gAAAAABx');
    return undefined;
  });
  const { emulator, handler } = await webSetup(t, {}, { fetch });
  const answer = await rest(handler, 'POST', NEW, { token: 'secret-token-1', ...HI });
  t.equal(answer.status, 502);
  t.equal(answer.json.code, 'upstream_blocked');
  t.match(answer.json.error, /refused the message twice/);
  t.notMatch(answer.text, 'secret-token-1', 'the token is not in the error');
  t.same(
    messagePosts(emulator).map((p) => p.refusal),
    ['proof_invalid', 'proof_invalid'],
  );
});

t.test(
  'when no nonce works within the limit the fallback is sent and the error says so',
  async (t) => {
    const { emulator, handler } = await webSetup(
      t,
      { sentinel: { proofOfWork: { required: true, difficulty: '0000ff' } } },
      { web: { maxProofIterations: 1, minDifficulty: '000001' } },
    );
    const answer = await rest(handler, 'POST', NEW, HI);
    t.equal(answer.status, 502);
    t.match(answer.json.error, /no proof-of-work answer was found within 1 tries/);
    const posts = messagePosts(emulator);
    t.same(
      posts.map((p) => p.refusal),
      ['proof_invalid', 'proof_invalid'],
    );
    t.match(
      header(posts[0], 'openai-sentinel-proof-token'),
      /^gAAAAABwQ8Lk5FbGpA2NcR9dShT6gYjU7VxZ4D/,
    );
  },
);

t.test(
  'a requirements token that expired while the proof was solved is renewed before the POST',
  async (t) => {
    const { emulator, handler } = await webSetup(
      t,
      { sentinel: { tokenTtlSeconds: -1 } },
      {
        fetch: async (input, init) => {
          const response = await globalThis.fetch(input, init);
          // Only the first token is born expired.
          emulator.sentinelOptions.tokenTtlSeconds = 540;
          return response;
        },
      },
    );
    const answer = await rest(handler, 'POST', NEW, HI);
    t.equal(answer.status, 201, answer.text);
    t.equal(requestsTo(emulator, '/sentinel/chat-requirements').length, 2);
    t.same(
      messagePosts(emulator).map((p) => p.refusal),
      [undefined],
      'the expired token was never sent',
    );
  },
);

t.test('a requirements token the upstream finds expired is retried once', async (t) => {
  const { emulator, handler } = await webSetup(
    t,
    { sentinel: { tokenTtlSeconds: -1 } },
    {
      // Hide expire_after so the client cannot know; the upstream refuses, the client retries.
      fetch: async (input, init) => {
        const response = await globalThis.fetch(input, init);
        if (!urlOf(input).endsWith('/sentinel/chat-requirements')) return response;
        emulator.sentinelOptions.tokenTtlSeconds = 540;
        const requirements = (await response.json()) as Record<string, unknown>;
        delete requirements.expire_after;
        return Response.json(requirements);
      },
    },
  );
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 201, answer.text);
  t.same(
    messagePosts(emulator).map((p) => p.refusal),
    ['requirements_token_expired', undefined],
  );
});

t.test('a reused requirements token is refused and replaced once', async (t) => {
  let first: string | undefined;
  let calls = 0;
  const { emulator, handler } = await webSetup(
    t,
    {},
    {
      // A caching middlebox replays the first requirements answer for the second message.
      fetch: async (input, init) => {
        if (urlOf(input).endsWith('/sentinel/chat-requirements') && calls++ === 1) {
          return new Response(first, { headers: { 'content-type': 'application/json' } });
        }
        const response = await globalThis.fetch(input, init);
        if (first === undefined && urlOf(input).endsWith('/sentinel/chat-requirements')) {
          first = await response.clone().text();
        }
        return response;
      },
    },
  );
  const one = await rest(handler, 'POST', NEW, HI);
  t.equal(one.status, 201);
  const two = await rest(
    handler,
    'POST',
    `/conversations/${one.json.response.conversation_id}/ask`,
    {
      body: { prompt: 'again' },
    },
  );
  t.equal(two.status, 201, two.text);
  t.same(
    messagePosts(emulator).map((p) => p.refusal),
    [undefined, 'requirements_token_reused', undefined],
  );
});

t.test('a too-hard difficulty fails fast and makes no message POST', async (t) => {
  const { emulator, handler } = await webSetup(t, {
    sentinel: { proofOfWork: { required: true, difficulty: '000010' } },
  });
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 502);
  t.same(answer.json, {
    error: 'proof of work too hard: the upstream distrusts this IP',
    code: 'upstream_blocked',
  });
  t.equal(messagePosts(emulator).length, 0, 'no /f/conversation POST');
  t.equal(requestsTo(emulator, '/f/conversation/prepare').length, 0, 'not even a prepare');
});

t.test('the difficulty bound is configurable and inclusive', async (t) => {
  const { emulator, handler } = await webSetup(
    t,
    { sentinel: { proofOfWork: { required: true, difficulty: '00ffff' } } },
    { web: { minDifficulty: '00ffff' } },
  );
  t.equal((await rest(handler, 'POST', NEW, HI)).status, 502, 'at the bound: refused');
  emulator.sentinelOptions.proofOfWork.difficulty = '01ffff';
  t.equal((await rest(handler, 'POST', NEW, HI)).status, 201, 'above the bound: solved');
});

t.test(
  'Turnstile required and enforced without a solver fails after one POST, naming it',
  async (t) => {
    const { emulator, handler } = await webSetup(t, {
      sentinel: { turnstile: { required: true, enforce: true } },
    });
    const answer = await rest(handler, 'POST', NEW, HI);
    t.equal(answer.status, 502);
    t.equal(answer.json.code, 'upstream_blocked');
    t.match(answer.json.error, /Turnstile was required/);
    t.same(
      messagePosts(emulator).map((p) => p.refusal),
      ['turnstile_missing'],
      'exactly one attempt',
    );
  },
);

t.test('Turnstile required but not enforced: the message is sent anyway and passes', async (t) => {
  const { emulator, handler } = await webSetup(t, {
    sentinel: { turnstile: { required: true, enforce: false } },
  });
  t.equal((await rest(handler, 'POST', NEW, HI)).status, 201);
  t.equal(header(messagePosts(emulator)[0], 'openai-sentinel-turnstile-token'), undefined);
});

t.test('a solveChallenge hook answers Turnstile and its token is sent', async (t) => {
  const seen: unknown[] = [];
  const { emulator, handler } = await webSetup(
    t,
    { sentinel: { turnstile: { required: true, enforce: true } } },
    {
      web: {
        solveChallenge: (challenge) => {
          seen.push(challenge);
          return Promise.resolve('turnstile-answer-42');
        },
      },
    },
  );
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 201, answer.text);
  t.match(seen, [{ kind: 'turnstile', dx: String }]);
  t.equal(seen.length, 1);
  t.equal(
    header(messagePosts(emulator)[0], 'openai-sentinel-turnstile-token'),
    'turnstile-answer-42',
  );
});

t.test('a solveChallenge hook answers Arkose with the Arkose header', async (t) => {
  const { emulator, handler } = await webSetup(
    t,
    { sentinel: { arkose: { required: true } } },
    { web: { solveChallenge: ({ kind }) => Promise.resolve(`${kind}-token`) } },
  );
  t.equal((await rest(handler, 'POST', NEW, HI)).status, 201);
  const [post] = messagePosts(emulator);
  t.equal(header(post, 'openai-sentinel-arkose-token'), 'arkose-token');
  t.equal(header(post, 'openai-sentinel-turnstile-token'), undefined);
});

t.test('an unanswered Arkose and Turnstile refusal names both challenges', async (t) => {
  const { emulator, handler } = await webSetup(t, {
    sentinel: { arkose: { required: true }, turnstile: { required: true, enforce: false } },
  });
  emulator.inject({
    match: { method: 'POST', path: '/f/conversation' },
    fault: { type: 'unusual_activity' },
  });
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 502);
  t.match(answer.json.error, /Turnstile and Arkose were required/);
  t.equal(messagePosts(emulator).length, 1);
});

t.test('a failing solveChallenge hook is an upstream_blocked naming the challenge', async (t) => {
  const { emulator, handler } = await webSetup(
    t,
    { sentinel: { turnstile: { required: true, enforce: true } } },
    { web: { solveChallenge: () => Promise.reject(new Error('solver down')) } },
  );
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 502);
  t.match(answer.json.error, /solveChallenge hook failed to answer the Turnstile challenge/);
  t.notMatch(answer.json.error, /solver down/, 'the hook error text stays in logs');
  t.equal(messagePosts(emulator).length, 0);

  const typed = await webSetup(
    t,
    { sentinel: { turnstile: { required: true, enforce: true } } },
    {
      web: {
        solveChallenge: () => Promise.reject(new RestError('rate_limited', 'Solver quota used.')),
      },
    },
  );
  const limited = await rest(typed.handler, 'POST', NEW, HI);
  t.equal(limited.status, 429, 'a RestError from the hook passes through');
  t.equal(limited.json.error, 'Solver quota used.');
});

t.test('a solveChallenge answer that is no header token is an upstream_blocked', async (t) => {
  // A line break in the answer made http.request throw: a 503 "unreachable" instead.
  const { emulator, handler } = await webSetup(
    t,
    { sentinel: { turnstile: { required: true, enforce: true } } },
    { web: { solveChallenge: () => Promise.resolve('answer\r\nx-injected: 1') } },
  );
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 502);
  t.equal(answer.json.code, 'upstream_blocked');
  t.match(answer.json.error, /Turnstile answer cannot be sent as a header/);
  t.equal(messagePosts(emulator).length, 0);
});

t.test('force_login is a 401 asking to log in again, before any message POST', async (t) => {
  const { emulator, handler } = await webSetup(t, { sentinel: { forceLogin: true } });
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 401);
  t.equal(answer.json.code, 'invalid_token');
  t.match(answer.json.error, /log in again/);
  t.equal(requestsTo(emulator, '/f/conversation/prepare').length, 0);
  t.equal(messagePosts(emulator).length, 0);
});

t.test('a Cloudflare 403 on the message POST is not retried', async (t) => {
  const { emulator, handler } = await webSetup(t);
  emulator.inject({
    match: { method: 'POST', path: '/f/conversation' },
    fault: { type: 'cloudflare', status: 403 },
  });
  const answer = await rest(handler, 'POST', NEW, HI);
  t.equal(answer.status, 502);
  t.match(answer.json.error, /Cloudflare/);
  t.equal(messagePosts(emulator).length, 1);
});

t.test('odd sentinel answers are upstream errors, not crashes', async (t) => {
  const cases: [string, (path: string) => Response | undefined, RegExp][] = [
    [
      'not JSON',
      (path) => (path.endsWith('/chat-requirements') ? new Response('<html>') : undefined),
      /chat-requirements answer is not a JSON object/,
    ],
    [
      'no token',
      (path) => (path.endsWith('/chat-requirements') ? Response.json({ persona: 'x' }) : undefined),
      /held no token/,
    ],
    [
      'proof without seed',
      (path) =>
        path.endsWith('/chat-requirements')
          ? Response.json({ token: 't', proofofwork: { required: true } })
          : undefined,
      /proof-of-work requirement had no seed/,
    ],
    [
      'prepare not JSON',
      (path) => (path.endsWith('/prepare') ? Response.json([1]) : undefined),
      /prepare answer is not a JSON object/,
    ],
  ];
  for (const [name, answerFor, error] of cases) {
    const { emulator, handler } = await webSetup(t, {}, { fetch: rewritingFetch(answerFor) });
    const answer = await rest(handler, 'POST', NEW, HI);
    t.equal(answer.status, 502, name);
    t.equal(answer.json.code, 'upstream_error', name);
    t.match(answer.json.error, error, name);
    t.equal(messagePosts(emulator).length, 0, name);
  }
});

t.test(
  'a prepare answer without a conduit token sends none and the refusal is reported',
  async (t) => {
    const { emulator, handler } = await webSetup(
      t,
      {},
      {
        fetch: rewritingFetch((path) =>
          path.endsWith('/prepare') ? Response.json({ status: 'ok' }) : undefined,
        ),
      },
    );
    const answer = await rest(handler, 'POST', NEW, HI);
    t.equal(answer.status, 502);
    t.same(
      messagePosts(emulator).map((p) => p.refusal),
      ['conduit_missing', 'conduit_missing'],
    );
  },
);

t.test('proof of work not required: no proof header is sent', async (t) => {
  const { emulator, handler } = await webSetup(t, {
    sentinel: { proofOfWork: { required: false } },
  });
  t.equal((await rest(handler, 'POST', NEW, HI)).status, 201);
  t.equal(header(messagePosts(emulator)[0], 'openai-sentinel-proof-token'), undefined);
});

t.test(
  'Oai-Device-Id is stable per token, across handlers, and differs across tokens',
  async (t) => {
    const { emulator, handler } = await webSetup(t);
    const restarted = await webSetup(t, {}, { upstream: emulator.url });
    await rest(handler, 'GET', '/conversations', { token: 'token-one' });
    await rest(handler, 'GET', '/conversations', { token: 'token-one' });
    await rest(restarted.handler, 'GET', '/conversations', { token: 'token-one' });
    await rest(handler, 'GET', '/conversations', { token: 'token-two' });
    const ids = emulator.requests.map((r) => header(r, 'oai-device-id'));
    t.equal(ids.length, 4);
    t.equal(ids[0], ids[1]);
    t.equal(ids[0], ids[2], 'a new handler (a restart) derives the same id');
    t.not(ids[0], ids[3]);
    t.equal(deviceIdFor('token-one'), ids[0]);
    t.notMatch(deviceIdFor('token-one'), /token/);
  },
);
