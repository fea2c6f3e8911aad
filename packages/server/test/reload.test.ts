/**
 * Token reload on the sidecar (the CLI, as run): the tokens file rewritten under live streams
 * (the emulator paces replies) cuts no stream, the removed token takes no new message and the
 * added one does; the API keys file swaps keys; SIGHUP rereads a file no watch can see change;
 * a malformed file is refused with one log line naming no token, and the old set stays.
 */
import { appendFile, mkdtemp, rename, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { captureLogs, readEvents } from '@chatgpt-rest/test-kit';
import { main } from '../src/cli.js';
import { watchSecrets } from '../src/reload.js';

const ALPHA = 'canary-token-alpha-0a1b2c3d4e5f';
const BETA = 'canary-token-beta-6a7b8c9d0e1f';
const GAMMA = 'canary-token-gamma-2f3e4d5c6b7a';

/** The CLI's log lines, parsed, and a wait for one. */
function cliIo() {
  const lines: Record<string, unknown>[] = [];
  const out: string[] = [];
  const waiters: { match: (line: Record<string, unknown>) => boolean; done: () => void }[] = [];
  const log = (text: string): void => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.match(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.done();
    }
  };
  const next = (match: (line: Record<string, unknown>) => boolean): Promise<void> =>
    new Promise((done) => waiters.push({ match, done }));
  const push = (text: string): number => out.push(text);
  return { io: { out: push, err: push, log }, lines, out, next };
}

/** Writes `text` to `path` the way editors and deploy tools do: a new file renamed over it. */
async function replaceFile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

t.test('reloading tokens and keys under live streams', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'chatgpt-rest-reload-'));
  // The keys file is reached through a link to another folder: a change there is seen by
  // SIGHUP only (no watch covers that folder).
  const hidden = join(dir, 'hidden');
  await mkdir(hidden);
  const tokensFile = join(dir, 'tokens');
  const keysTarget = join(hidden, 'keys');
  const keysFile = join(dir, 'keys');
  await writeFile(tokensFile, `alpha=${ALPHA}\nbeta=${BETA}\n`);
  await writeFile(keysTarget, 'key-one\n');
  await symlink(keysTarget, keysFile);
  const emulator = await createBackendEmulator({ dialect: 'legacy', pacingMs: 20, replyWords: 40 });
  const { io, lines, out, next } = cliIo();
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const argv = ['--port', '0', '--upstream', emulator.url, '--dialect', 'legacy'];
  const env = { CHATGPT_REST_TOKENS_FILE: tokensFile, CHATGPT_REST_API_KEYS_FILE: keysFile };
  const exited = main(argv, env, io, stopped);
  t.teardown(async () => {
    stop();
    await exited;
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  });
  const url = await (async () => {
    for (;;) {
      const line = out.find((text) => text.startsWith('chatgpt-rest listening on '));
      if (line !== undefined) return line.slice('chatgpt-rest listening on '.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const call = (key: string, body: unknown, stream = false) =>
    fetch(`${url}/conversations/new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'tell me a story', ...(body as object), stream }),
    });
  const senders = (from: number): string[] =>
    emulator.requests
      .filter((r) => r.seq > from && r.method === 'POST' && r.path === '/backend-api/conversation')
      .map((r) => String(r.headers.authorization).replace('Bearer ', ''));

  // Two live streams, one per token.
  const streams = [await call('key-one', {}, true), await call('key-one', {}, true)];
  const readers = streams.map((response) => readEvents(response));
  for (const reader of readers) t.equal((await reader.next()).value?.event, 'delta', 'live');
  t.same(senders(0).sort(), [ALPHA, BETA].sort(), 'one stream on each token');

  // The file changes: alpha out, gamma in.
  const reloaded = next((line) => line.msg === 'tokens reloaded');
  await replaceFile(tokensFile, `beta=${BETA}\ngamma=${GAMMA}\n`);
  await reloaded;
  const line = lines.find((l) => l.msg === 'tokens reloaded');
  t.match(line, { reason: 'file change', added: ['gamma'], removed: ['alpha'], kept: ['beta'] });
  const mark = emulator.requests.at(-1)?.seq ?? 0;
  const after = await Promise.all([call('key-one', {}), call('key-one', {}), call('key-one', {})]);
  t.same(
    after.map((r) => r.status),
    [201, 201, 201],
  );
  t.notOk(senders(mark).includes(ALPHA), 'the removed token takes no new message');
  t.ok(senders(mark).includes(GAMMA), 'the added token does');
  for (const reader of readers) {
    const events = [];
    for await (const event of { [Symbol.asyncIterator]: () => reader }) events.push(event.event);
    t.equal(events.at(-1), 'done', 'the stream ran to its end');
    t.notOk(events.includes('error'), 'no error event');
  }

  // SIGHUP: the keys file changed where no watch looks.
  await writeFile(keysTarget, 'key-two\n');
  const hangup = next((l) => l.msg === 'tokens reloaded' && l.reason === 'SIGHUP');
  process.kill(process.pid, 'SIGHUP');
  await hangup;
  t.equal((await call('key-one', {})).status, 401, 'the old key is refused');
  t.equal((await call('key-two', {})).status, 201, 'the new key is taken');

  // A malformed tokens file: refused with one line, the old set stays.
  const before = lines.length;
  const refused = next((l) => l.msg === 'reload refused: the old tokens and keys stay');
  await replaceFile(tokensFile, `beta=${BETA}\n${GAMMA}\n`);
  await refused;
  const refusals = lines.slice(before).filter((l) => String(l.msg).startsWith('reload refused'));
  t.equal(refusals.length, 1, 'one line');
  t.match(refusals[0], { reason: 'file change', error: /entry 2 must be "label=token"/ });
  const ready = await fetch(`${url}/readyz`, { headers: { 'x-api-key': 'key-two' } });
  const tokens = ((await ready.json()) as { tokens?: { label: string }[] }).tokens ?? [];
  t.same(
    tokens.map((token) => token.label),
    ['beta', 'gamma'],
    'the old set is still in rotation',
  );
  const all = lines.map((l) => JSON.stringify(l)).join('\n') + out.join('\n');
  for (const secret of [ALPHA, BETA, GAMMA, 'key-one', 'key-two']) {
    t.notOk(all.includes(secret), `no line holds ${secret.slice(0, 18)}…`);
  }
});

t.test(
  'a file written beside the secrets (the sidecar log, nohup.out) triggers no reload; the tokens file still does',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'chatgpt-rest-reload-beside-'));
    const tokensFile = join(dir, 'tokens');
    const keysFile = join(dir, 'keys');
    await writeFile(tokensFile, `alpha=${ALPHA}\n`);
    await writeFile(keysFile, 'key-one\n');
    const { logger, lines: logged } = captureLogs();
    let reads = 0;
    const watch = watchSecrets({
      files: [tokensFile, keysFile],
      read: () => {
        reads += 1;
        return { tokens: [{ label: 'alpha', token: ALPHA }], apiKeys: ['key-one'] };
      },
      apply: () => ({ added: [], removed: [], kept: ['alpha'] }),
      logger,
      debounceMs: 50,
    });
    t.teardown(async () => {
      watch.close();
      await rm(dir, { recursive: true, force: true });
    });
    const log = join(dir, 'sidecar.log');
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // A steady writer beside the secrets, as the sidecar's own log: for 600 ms, every 20 ms.
    for (let i = 0; i < 30; i += 1) {
      await appendFile(log, `{"msg":"tokens reloaded","i":${i}}\n`);
      await writeFile(join(dir, 'nohup.out'), `line ${i}\n`);
      await sleep(20);
    }
    await sleep(150);
    t.equal(reads, 0, 'no reload');
    t.same(logged, [], 'no log line');

    // The tokens file edited in place (while the writer keeps going) still reloads, once.
    await writeFile(tokensFile, `alpha=${ALPHA}\n\n`);
    for (let i = 0; i < 10 && reads === 0; i += 1) {
      await appendFile(log, 'more\n');
      await sleep(50);
    }
    for (let i = 0; i < 40 && reads === 0; i += 1) await sleep(50);
    t.equal(reads, 1, 'the edit reloads');
    t.same(
      logged.map((l) => l.msg),
      ['tokens reloaded'],
    );
  },
);
