import { messageBody } from '@chatgpt-rest/test-kit';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { createBackendEmulator } from '@chatgpt-rest/emulator';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const DEADLINE_MS = 400;

function childEnv(): NodeJS.ProcessEnv {
  // tap instruments spawned processes; coverage of a tsx-transpiled child would not merge with
  // the tests' own, so the child records none.
  return { ...process.env, _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./' };
}

/** Opens a streaming request and collects its text; resolves `first` once bytes arrived. */
function openStream(
  port: number,
  path: string,
  body: unknown,
  token: string,
): { first: Promise<void>; done: Promise<{ text: string; outcome: string }> } {
  let gotFirst: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (gotFirst = resolve));
  const done = new Promise<{ text: string; outcome: string }>((resolve) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      agent: false,
    });
    req.on('error', () => resolve({ text: '', outcome: 'request failed' }));
    req.end(JSON.stringify(body));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('data:')) gotFirst();
      });
      res.on('end', () => resolve({ text, outcome: 'ended' }));
      res.on('error', () => resolve({ text, outcome: 'cut' }));
    });
  });
  return { first, done };
}

/** The CLI as a process with `args`, once it listens: the child, its port and its output. */
async function startCli(t: Test, args: string[]) {
  const child = spawn(
    process.execPath,
    ['--conditions=@chatgpt-rest/source', '--import', 'tsx', CLI, '--port', '0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (output.stderr += chunk));
  const startedAt = Date.now();
  // The mode line follows the address: wait for both.
  while (!/listening on http:\/\/127\.0\.0\.1:\d+[\s\S]*; auth /.test(output.stdout)) {
    if (child.exitCode !== null || Date.now() - startedAt > 15_000) {
      throw new Error(`the CLI did not start: ${output.stdout} ${output.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output.stdout)?.[1]);
  return { child, port, output };
}

t.test(
  'SIGTERM during three live streams: each client gets an error event, upstreams are closed, exit 0 within the deadline',
  async (t) => {
    const emulator = await createBackendEmulator({
      dialect: 'legacy',
      pacingMs: 40,
      replyWords: 500,
    });
    t.teardown(() => emulator.close());
    const { child, port, output } = await startCli(t, [
      '--upstream',
      emulator.url,
      '--shutdown-deadline',
      String(DEADLINE_MS),
    ]);

    // One access token each: the upstream answers one message at a time per account.
    const streams = [
      openStream(port, '/conversations/new', { prompt: 'one', stream: true }, 'token-1'),
      openStream(port, '/conversations/new', { prompt: 'two', stream: true }, 'token-2'),
      openStream(port, '/backend-api/conversation', messageBody('three'), 'token-3'),
    ];
    await Promise.all(streams.map((stream) => stream.first));
    t.equal(emulator.inFlight, 3, 'three upstream streams are live');

    const signalled = Date.now();
    child.kill('SIGTERM');
    // A SIGHUP while draining (a config reloader during a rolling update) must not cut it short.
    await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGHUP');
    const [code] = (await once(child, 'exit')) as [number | null];
    const took = Date.now() - signalled;
    t.equal(code, 0, 'the process exits 0');
    t.ok(took < DEADLINE_MS + 2500, `it exits soon after the deadline (${took} ms)`);

    const results = await Promise.all(streams.map((stream) => stream.done));
    for (const [index, result] of results.entries()) {
      t.equal(result.outcome, 'ended', `stream ${index + 1} ends cleanly`);
      t.match(
        result.text,
        /event: error\ndata: \{[^\n]*"server shutting down"[^\n]*\}\n\n$/,
        `stream ${index + 1} ends with an error event`,
      );
      t.notMatch(result.text, /event: done|\[DONE\]/);
    }
    const posts = emulator.requests.filter((r) => r.path === '/backend-api/conversation');
    t.equal(posts.length, 3);
    const closures = await Promise.all(posts.map((post) => post.closed));
    t.ok(
      closures.every((closure) => closure.aborted),
      'the emulator saw every upstream request closed',
    );
    t.match(output.stdout, /"msg":"shutting down"/);
    t.match(output.stdout, /"msg":"stopped"/);
  },
);

t.test(
  'SIGHUP in passthrough mode leaves the sidecar serving; SIGTERM still stops it',
  async (t) => {
    // Nothing to reload there, but Node's default for SIGHUP is to exit at once, with no drain.
    const { child, port, output } = await startCli(t, ['--emulator']);
    t.match(output.stdout, /auth passthrough/);
    child.kill('SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.equal(child.exitCode, null, 'still running');
    t.equal(child.signalCode, null, 'not killed by the signal');
    t.equal(
      (await fetch(`http://127.0.0.1:${port}/healthz`)).status,
      200,
      '/healthz still answers',
    );
    t.match(output.stdout, /SIGHUP ignored/, 'one log line says why nothing happened');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    t.same(await exited, [0, null], 'a graceful stop');
  },
);
