/**
 * SIGHUP in passthrough mode (the CLI as a process): nothing to reload, but it must not end the
 * sidecar (Node's default for SIGHUP is to exit at once, with no drain).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

t.test(
  'SIGHUP in passthrough mode leaves the sidecar serving; SIGTERM still stops it',
  async (t) => {
    const child = spawn(
      process.execPath,
      [
        `--import=${root}scripts/ts-loader.js`,
        '--conditions=@chatgpt-rest/source',
        cli,
        '--emulator',
        '--port',
        '0',
      ],
      {
        cwd: root,
        env: { ...process.env, CHATGPT_REST_TOKENS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.resume();
    const url = await new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const found = /chatgpt-rest listening on (\S+)/.exec(stdout);
        // The mode line follows the address: wait for it too.
        if (found?.[1] !== undefined && stdout.includes('; auth ')) resolve(found[1]);
      };
      child.stdout.on('data', check);
      void exited.then(() => reject(new Error(`exited before listening: ${stdout}`)));
    });
    t.match(stdout, /auth passthrough/);

    child.kill('SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.equal(child.exitCode, null, 'still running');
    t.equal(child.signalCode, null, 'not killed by the signal');
    t.equal((await fetch(`${url}/healthz`)).status, 200, '/healthz still answers');
    t.match(stdout, /SIGHUP ignored/, 'one log line says why nothing happened');

    child.kill('SIGTERM');
    t.same(await exited, { code: 0, signal: null }, 'a graceful stop');
    t.match(stdout, /"stopped"/);
  },
);
