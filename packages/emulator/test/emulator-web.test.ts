import { messageBody } from '@chatgpt-rest/test-kit';
import t from 'tap';
import {
  buildProofConfig,
  buildRequirementsToken,
  computeProofAnswer,
  encodeProofConfig,
  meetsDifficulty,
  proofFallbackAnswer,
  proofHash,
  tryProofNonce,
  verifyProofAnswer,
} from '@chatgpt-rest/core/backend';
import { createBackendEmulator } from '../src/index.js';
import { call, v1Text, webSend } from './emulator-helpers.js';

t.test('a computed proof-of-work answer verifies and a tampered one does not', (t) => {
  const answer = computeProofAnswer('0.42', '0fffff');
  t.match(answer, /^gAAAAAB[A-Za-z0-9+/=]+$/);
  t.ok(verifyProofAnswer(answer, '0.42', '0fffff'));
  t.ok(verifyProofAnswer(`${answer}~S`, '0.42', '0fffff'), 'a ~S suffix is accepted');
  t.notOk(verifyProofAnswer(answer, '0.43', '000fff'), 'another seed and a harder difficulty fail');
  t.notOk(verifyProofAnswer(answer.replace('gAAAAAB', 'gAAAAAC'), '0.42', '0fffff'));
  t.notOk(verifyProofAnswer('gAAAAAB!!!', '0.42', 'ffffff'));
  t.notOk(verifyProofAnswer('gAAAAAB', '0.42', 'ffffff'));
  t.notOk(
    verifyProofAnswer(`gAAAAAB${Buffer.from('{"a":1}').toString('base64')}`, '0.42', 'ffffff'),
  );
  t.notOk(
    verifyProofAnswer(`gAAAAAB${Buffer.from('not json').toString('base64')}`, '0.42', 'ffffff'),
  );
  const decoded = JSON.parse(Buffer.from(answer.slice(7), 'base64').toString());
  t.equal(decoded.length, 18);
  t.equal(typeof decoded[3], 'number');
  t.end();
});

t.test('solving falls back to the fixed answer when no nonce satisfies the difficulty', (t) => {
  const fallback = computeProofAnswer('seed', '000000', buildProofConfig(), 5);
  t.equal(fallback, proofFallbackAnswer('seed'));
  t.equal(
    fallback,
    `gAAAAABwQ8Lk5FbGpA2NcR9dShT6gYjU7VxZ4D${Buffer.from('"seed"').toString('base64')}`,
  );
  t.notOk(verifyProofAnswer(fallback, 'seed', 'ffffff'), 'the fallback never verifies');
  t.end();
});

t.test('the inner step of the search is the same computation as the solver', (t) => {
  const config = buildProofConfig({ userAgent: 'UA', now: new Date(0), hardwareConcurrency: 4 });
  const zero = [...config];
  zero[3] = 0;
  const encoded = encodeProofConfig(zero);
  t.equal(meetsDifficulty(proofHash('s', encoded), 'ffffff'), true);
  t.equal(tryProofNonce('s', 'ffffff', [...config], 0)?.startsWith('gAAAAAB'), true);
  t.equal(tryProofNonce('s', '000000', [...config], 0), undefined);
  t.equal(meetsDifficulty('0a', '0b'), true);
  t.equal(meetsDifficulty('0c', '0b'), false);
  t.end();
});

t.test('the requirements token is gAAAAAC plus an easy proof of work', (t) => {
  const token = buildRequirementsToken();
  t.match(token, /^gAAAAAC[A-Za-z0-9+/=]+$/);
  const payload = JSON.parse(Buffer.from(token.slice(7), 'base64').toString());
  t.ok(Array.isArray(payload));
  t.end();
});

t.test(
  'the web dialect accepts a message POST with valid sentinel tokens and a v1 stream',
  async (t) => {
    const emulator = await createBackendEmulator({ dialect: 'web' });
    t.teardown(() => emulator.close());
    const requirements = await call(emulator.url, 'POST', '/sentinel/chat-requirements', {
      body: { p: buildRequirementsToken() },
    });
    t.equal(requirements.status, 200);
    t.match(requirements.json, {
      persona: 'chatgpt-freeaccount',
      token: String,
      expire_after: 540,
      arkose: { required: false, dx: null },
      turnstile: { required: false, dx: null },
      proofofwork: { required: true, seed: String, difficulty: '0fffff' },
    });
    const body = messageBody('hello web', {
      parent_message_id: 'client-created-root',
      supported_encodings: ['v1'],
    });
    const reply = await webSend(emulator.url, body);
    t.equal(reply.status, 200);
    const { text, conversationId } = v1Text(reply.text);
    t.ok(text.length > 0);
    const prepare = emulator.requests.find((r) => r.path.endsWith('/prepare'))!;
    t.equal(prepare.status, 200);
    // a second turn in the same conversation, with a fresh prepare bound to it
    const detail = (await call(emulator.url, 'GET', `/conversation/${conversationId}`)).json;
    const second = await webSend(
      emulator.url,
      messageBody('again', {
        conversation_id: conversationId,
        parent_message_id: detail.current_node,
        supported_encodings: ['v1'],
      }),
    );
    t.equal(second.status, 200);
    t.equal(v1Text(second.text).conversationId, conversationId);
  },
);

t.test(
  'the web dialect refuses missing, reused, expired and foreign requirements tokens',
  async (t) => {
    const emulator = await createBackendEmulator({ sentinel: { tokenTtlSeconds: 0.05 } });
    t.teardown(() => emulator.close());
    const body = () => messageBody('x', { supported_encodings: ['v1'] });
    const missing = await webSend(emulator.url, body(), {
      tamper: (h) => delete h['openai-sentinel-chat-requirements-token'],
    });
    t.equal(missing.status, 403);
    t.same(missing.json, {
      detail: 'Unusual activity has been detected from your device. Try again later.',
    });
    t.equal(emulator.requests.at(-1)!.refusal, 'requirements_token_missing');

    emulator.sentinelOptions.tokenTtlSeconds = 60;
    const ok = await webSend(emulator.url, body());
    t.equal(ok.status, 200);
    const reused = await call(emulator.url, 'POST', '/f/conversation', {
      body: body(),
      headers: ok.headersSent,
    });
    t.equal(reused.status, 403);
    t.equal(emulator.requests.at(-1)!.refusal, 'requirements_token_reused');

    const foreign = await webSend(emulator.url, body(), {
      token: 'token-b',
      tamper: (h) => (h['openai-sentinel-chat-requirements-token'] = 'made-up'),
    });
    t.equal(foreign.status, 403);
    t.equal(emulator.requests.at(-1)!.refusal, 'requirements_token_unknown');

    emulator.sentinelOptions.tokenTtlSeconds = 0.001;
    const expired = await webSend(emulator.url, body(), {
      tamper: () => {
        const until = Date.now() + 5;
        while (Date.now() < until) {
          /* let the token expire */
        }
      },
    });
    t.equal(expired.status, 403);
    t.equal(emulator.requests.at(-1)!.refusal, 'requirements_token_expired');
  },
);

t.test('a wrong or missing proof of work is refused and a right one accepted', async (t) => {
  const emulator = await createBackendEmulator({
    sentinel: { proofOfWork: { difficulty: '00ffff' } },
  });
  t.teardown(() => emulator.close());
  const body = () => messageBody('x');
  const wrong = await webSend(emulator.url, body(), {
    tamper: (h) =>
      (h['openai-sentinel-proof-token'] = computeProofAnswer('another-seed', '00ffff')),
  });
  t.equal(wrong.status, 403);
  t.equal(emulator.requests.at(-1)!.refusal, 'proof_invalid');
  const none = await webSend(emulator.url, body(), {
    tamper: (h) => delete h['openai-sentinel-proof-token'],
  });
  t.equal(none.status, 403);
  t.equal(emulator.requests.at(-1)!.refusal, 'proof_missing');
  const right = await webSend(emulator.url, body());
  t.equal(right.status, 200);
  t.notOk(emulator.requests.at(-1)!.refusal);
});

t.test('a proof of work is not needed when it is not required', async (t) => {
  const emulator = await createBackendEmulator({
    sentinel: { proofOfWork: { required: false }, forceLogin: true, arkose: { required: true } },
  });
  t.teardown(() => emulator.close());
  const requirements = await call(emulator.url, 'POST', '/sentinel/chat-requirements', {
    body: {},
  });
  t.same(requirements.json.proofofwork, { required: false });
  t.equal(requirements.json.force_login, true);
  t.equal(requirements.json.arkose.required, true);
  t.equal(typeof requirements.json.arkose.dx, 'string');
  t.equal((await webSend(emulator.url, messageBody('x'))).status, 200);
});

t.test('the conduit token must match its prepare call', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const missing = await webSend(emulator.url, messageBody('x'), {
    tamper: (h) => delete h['x-conduit-token'],
  });
  t.equal(missing.status, 403);
  t.equal(emulator.requests.at(-1)!.refusal, 'conduit_missing');
  // prepare for one parent, send for another
  const requirements = await call(emulator.url, 'POST', '/sentinel/chat-requirements', {
    body: {},
  });
  const prepare = await call(emulator.url, 'POST', '/f/conversation/prepare', {
    body: { parent_message_id: 'parent-a' },
  });
  t.equal(prepare.json.status, 'ok');
  t.match(prepare.json.conduit_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const mismatch = await call(emulator.url, 'POST', '/f/conversation', {
    body: messageBody('x', { parent_message_id: 'parent-b' }),
    headers: {
      'openai-sentinel-chat-requirements-token': requirements.json.token,
      'openai-sentinel-proof-token': computeProofAnswer(
        requirements.json.proofofwork.seed,
        requirements.json.proofofwork.difficulty,
      ),
      'x-conduit-token': prepare.json.conduit_token,
    },
  });
  t.equal(mismatch.status, 403);
  t.equal(emulator.requests.at(-1)!.refusal, 'conduit_mismatch');
  const unknownConversation = await call(emulator.url, 'POST', '/f/conversation/prepare', {
    body: { conversation_id: 'nope' },
  });
  t.equal(unknownConversation.status, 404);
});

t.test('an enforced turnstile requires a non-empty turnstile token', async (t) => {
  const emulator = await createBackendEmulator({
    sentinel: { turnstile: { required: true, enforce: true } },
  });
  t.teardown(() => emulator.close());
  const requirements = await call(emulator.url, 'POST', '/sentinel/chat-requirements', {
    body: {},
  });
  t.equal(requirements.json.turnstile.required, true);
  const without = await webSend(emulator.url, messageBody('x'));
  t.equal(without.status, 403);
  t.equal(emulator.requests.at(-1)!.refusal, 'turnstile_missing');
  const blank = await webSend(emulator.url, messageBody('x'), {
    tamper: (h) => (h['openai-sentinel-turnstile-token'] = ' '),
  });
  t.equal(blank.status, 403);
  const withToken = await webSend(emulator.url, messageBody('x'), {
    tamper: (h) => (h['openai-sentinel-turnstile-token'] = 'anything'),
  });
  t.equal(withToken.status, 200);
  emulator.sentinelOptions.turnstile.enforce = false;
  t.equal(
    (await webSend(emulator.url, messageBody('x'))).status,
    200,
    'required but not enforced: accepted',
  );
});

t.test('dialect web refuses the legacy send and dialect legacy has no web endpoints', async (t) => {
  const web = await createBackendEmulator({ dialect: 'web' });
  const legacy = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(async () => {
    await web.close();
    await legacy.close();
  });
  const refused = await call(web.url, 'POST', '/conversation', { body: messageBody('x') });
  t.equal(refused.status, 403);
  t.equal(web.requests.at(-1)!.refusal, 'legacy_send_refused');
  for (const path of [
    '/sentinel/chat-requirements',
    '/f/conversation/prepare',
    '/f/conversation',
  ]) {
    const reply = await call(legacy.url, 'POST', path, { body: {} });
    t.equal(reply.status, 404, path);
  }
  t.equal(
    (await call(legacy.url, 'POST', '/conversation', { body: messageBody('x') })).status,
    200,
  );
});
