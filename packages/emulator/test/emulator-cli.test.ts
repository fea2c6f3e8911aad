import t from 'tap';
import { main, parseCli } from '../src/cli.js';

t.test('the CLI parses its options into emulator options', (t) => {
  const parsed = parseCli([
    '--port',
    '0',
    '--dialect',
    'web',
    '--profile',
    '2025-03',
    '--max-tokens',
    '5',
    '--no-pow',
    '--turnstile',
    '--padding',
    '--pacing',
    '3',
    '--seed',
    '9',
    '--reply-words',
    '4',
    '--difficulty',
    '00ffff',
  ]);
  t.equal(parsed.help, false);
  if (parsed.help) return t.end();
  t.match(parsed.options, {
    port: 0,
    dialect: 'web',
    streamProfile: '2025-03',
    maxTokens: 5,
    pacingMs: 3,
    seed: 9,
    replyWords: 4,
    padding: true,
    sentinel: {
      proofOfWork: { required: false, difficulty: '00ffff' },
      turnstile: { required: true, enforce: true },
    },
  });
  const defaults = parseCli([]);
  t.match(defaults, { help: false, options: { port: 8080, host: '127.0.0.1', dialect: 'both' } });
  t.same(parseCli(['--help']), { help: true });
  t.throws(() => parseCli(['--dialect', 'x']), /--dialect/);
  t.throws(() => parseCli(['--profile', 'x']), /--profile/);
  t.throws(() => parseCli(['--port', 'abc']), /--port/);
  t.throws(() => parseCli(['--unknown']));
  t.end();
});

t.test('--help lists the options and exits 0', async (t) => {
  const lines: string[] = [];
  t.equal(await main(['--help'], (l) => lines.push(l)), 0);
  t.match(lines.join('\n'), /--port[\s\S]*--dialect[\s\S]*--profile/);
});

t.test('a bad option prints the error and the help and exits 2', async (t) => {
  const lines: string[] = [];
  t.equal(await main(['--dialect', 'nope'], (l) => lines.push(l)), 2);
  t.match(lines.join('\n'), /--dialect must be[\s\S]*Usage/);
});

t.test('the CLI serves until stopped and prints its URL', async (t) => {
  const lines: string[] = [];
  let stop: (value?: unknown) => void = () => undefined;
  const stopped = new Promise((resolve) => (stop = resolve));
  const running = main(['--port', '0', '--dialect', 'legacy'], (l) => lines.push(l), stopped);
  while (lines.length === 0) await new Promise((r) => setTimeout(r, 5));
  const url = /http:\/\/\S+/.exec(lines[0]!)![0];
  t.match(url, /\/backend-api$/);
  const res = await fetch(`${url}/conversations`, { headers: { authorization: 'Bearer x' } });
  t.equal(res.status, 200);
  stop();
  t.equal(await running, 0);
  await t.rejects(fetch(`${url}/conversations`));
});
