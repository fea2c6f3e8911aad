import t from 'tap';
import { buildProofConfig, verifyProofAnswer } from '../src/backend/proof-of-work.js';
import { createHandler } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import {
  expectedProofHashes,
  isProofTooHard,
  solveProof,
} from '../src/upstream/proof-of-work-solver.js';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { messagePosts, rest, webSetup } from './web-dialect-helpers.js';

t.test('the expected work of a difficulty grows as its hex value shrinks', (t) => {
  t.equal(expectedProofHashes('0fffff'), 16);
  t.equal(expectedProofHashes('00ffff'), 256);
  t.equal(Math.round(expectedProofHashes('073682')), 35);
  t.equal(Math.round(expectedProofHashes('000032')), 328_965);
  t.equal(expectedProofHashes('not hex'), Infinity, 'unreadable counts as too hard, not free');
  t.end();
});

t.test('a difficulty at or below the bound is too hard, across lengths too', (t) => {
  t.ok(isProofTooHard('000032', '000032'), 'at the bound');
  t.ok(isProofTooHard('000010', '000032'));
  t.notOk(isProofTooHard('000033', '000032'));
  t.notOk(isProofTooHard('073682', '000032'));
  t.ok(isProofTooHard('00000', '000032'), 'a shorter but harder difficulty');
  t.notOk(isProofTooHard('0fff', '000032'), 'a shorter and easier difficulty');
  t.end();
});

t.test('a solved proof verifies against its seed and difficulty', async (t) => {
  const config = buildProofConfig();
  const before = JSON.stringify(config);
  const solution = await solveProof('0.1234', '00ffff', { minDifficulty: '000032', config });
  t.equal(solution.solved, true);
  t.ok(solution.iterations >= 1);
  t.ok(verifyProofAnswer(solution.answer, '0.1234', '00ffff'));
  t.equal(JSON.stringify(config), before, "the caller's config is not mutated");
});

t.test('the solver stops with the fallback after maxIterations', async (t) => {
  const solution = await solveProof('s', '000000', {
    minDifficulty: '0000000',
    maxIterations: 300,
    sliceMs: 0,
  });
  t.same(
    { solved: solution.solved, iterations: solution.iterations },
    { solved: false, iterations: 300 },
  );
  t.match(solution.answer, /^gAAAAABwQ8Lk5FbGpA2NcR9dShT6gYjU7VxZ4D/);
});

t.test('an aborted solve stops between slices with the signal reason', async (t) => {
  const controller = new AbortController();
  const solving = solveProof('s', '000000', {
    minDifficulty: '0000000',
    signal: controller.signal,
    sliceMs: 1,
  });
  setImmediate(() => controller.abort(new Error('client left')));
  await t.rejects(solving, { message: 'client left' });
});

t.test('the event loop stays responsive while a hard proof is solved', async (t) => {
  // 150,000 nonces at a difficulty no nonce meets: a fixed amount of work (about a second).
  // Eight zero digits: one hash in 4.3 billion meets it, so 150,000 tries find none but once in
  // about 29,000 runs (at six zeros, once in about 110 runs a nonce was found and this failed).
  const { emulator, handler } = await webSetup(
    t,
    { sentinel: { proofOfWork: { required: true, difficulty: '00000000' } } },
    { web: { minDifficulty: '000000000', maxProofIterations: 150_000 } },
  );
  let ticks = 0;
  let longestGap = 0;
  let last = performance.now();
  const interval = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
    ticks++;
  }, 1);
  t.teardown(() => clearInterval(interval));

  let solvedAt: number | undefined;
  const hard = rest(handler, 'POST', '/conversations/new', { body: { prompt: 'hard' } }).then(
    (answer) => {
      solvedAt = performance.now();
      return answer;
    },
  );
  // Wait until the solve is under way, then ask the same handler for something else.
  await emulator.waitForRequest((r) => r.path.endsWith('/sentinel/chat-requirements'));
  const list = await rest(handler, 'GET', '/conversations');
  const listedAt = performance.now();
  t.equal(list.status, 200);
  t.equal(solvedAt, undefined, 'the list answered while the proof was still being solved');

  const answer = await hard;
  clearInterval(interval);
  t.equal(answer.status, 502, 'no nonce met the difficulty: the fallback was refused');
  t.ok(solvedAt !== undefined && listedAt < solvedAt);
  t.equal(messagePosts(emulator).length, 2);
  t.ok(ticks >= 20, `timers kept firing during the solve (${ticks} ticks)`);
  t.ok(longestGap < 400, `no tick waited long (longest gap ${longestGap.toFixed(1)} ms)`);
});

t.test('auto picks web for chatgpt.com and chat.openai.com, legacy elsewhere', async (t) => {
  t.equal(resolveOptions({ upstream: 'https://chatgpt.com/backend-api' }, {}).dialect, 'web');
  t.equal(resolveOptions({ upstream: 'https://chat.openai.com/backend-api' }, {}).dialect, 'web');
  t.equal(resolveOptions({ upstream: 'http://127.0.0.1:8080/backend-api' }, {}).dialect, 'legacy');
  t.equal(
    resolveOptions({ upstream: 'https://proxy.example/api', dialect: 'auto' }, {}).dialect,
    'legacy',
  );
  t.equal(
    resolveOptions({ upstream: 'https://chatgpt.com/backend-api', dialect: 'legacy' }, {}).dialect,
    'legacy',
  );
  t.equal(resolveOptions({ upstream: 'http://127.0.0.1/x', dialect: 'web' }, {}).dialect, 'web');
  t.equal(
    resolveOptions({}, { CHATGPT_BASE_URL: 'http://10.0.0.2:3000/backend-api' }).encoding,
    'legacy',
    'the encoding follows the resolved dialect',
  );

  // Through the handler: a local emulator speaking both dialects is reached with the legacy path.
  const emulator = await createBackendEmulator({ dialect: 'both' });
  t.teardown(() => emulator.close());
  const handler = createHandler({ upstream: emulator.url });
  t.equal(handler.options.dialect, 'legacy');
  const answer = await rest(handler, 'POST', '/conversations/new', { body: { prompt: 'hi' } });
  t.equal(answer.status, 201, answer.text);
  t.same(
    emulator.requests
      .filter((r) => r.method === 'POST')
      .map((r) => r.path.replace('/backend-api', '')),
    ['/conversation', `/conversation/gen_title/${String(answer.json.response.conversation_id)}`],
  );
});

t.test('web options are checked and defaulted in resolveOptions', (t) => {
  const { web } = resolveOptions({}, {});
  t.same(
    { ...web },
    {
      minDifficulty: '000032',
      maxProofIterations: 500_000,
      maxProofMs: 10_000,
      maxConcurrentProofs: 2,
      maxQueuedProofs: 32,
      solveChallenge: undefined,
      accountId: undefined,
    },
  );
  t.equal(resolveOptions({ web: { minDifficulty: '00FFFF' } }, {}).web.minDifficulty, '00ffff');
  t.throws(() => resolveOptions({ web: { minDifficulty: 'zz' } }, {}), /web.minDifficulty/);
  t.throws(() => resolveOptions({ web: { maxProofIterations: 0 } }, {}), /web.maxProofIterations/);
  t.throws(() => resolveOptions({ web: { maxProofMs: 0 } }, {}), /web.maxProofMs/);
  t.throws(
    () => resolveOptions({ web: { maxConcurrentProofs: 0 } }, {}),
    /web.maxConcurrentProofs/,
  );
  t.throws(() => resolveOptions({ web: { maxQueuedProofs: -1 } }, {}), /web.maxQueuedProofs/);
  t.equal(resolveOptions({ web: { maxQueuedProofs: 0 } }, {}).web.maxQueuedProofs, 0);
  t.throws(() => resolveOptions({ dialect: 'x' as 'web' }, {}), /"legacy", "web" or "auto"/);
  t.end();
});
