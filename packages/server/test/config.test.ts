import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { main } from '../src/cli.js';
import { ConfigError, OPTIONS, helpText, loadConfig, type SidecarConfig } from '../src/config.js';
import { DEFAULT_PASS_THROUGH_ALLOW } from '../src/pass-through.js';

const dir = mkdtempSync(join(tmpdir(), 'chatgpt-rest-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function config(argv: string[], env: Record<string, string> = {}): SidecarConfig {
  const loaded = loadConfig(argv, env);
  if (loaded.help) throw new Error('unexpected help');
  return loaded.config;
}

function refusal(argv: string[], env: Record<string, string> = {}): string {
  try {
    loadConfig(argv, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

t.test('defaults apply when nothing is configured', (t) => {
  const c = config([]);
  t.equal(c.port, 8000);
  t.equal(c.host, '127.0.0.1');
  t.equal(c.upstream, 'https://chatgpt.com/backend-api');
  t.equal(c.dialect, 'auto');
  t.same(c.tokens, []);
  t.equal(c.shutdownDeadline, 10_000);
  t.equal(c.queueSize, 8);
  t.equal(c.queueWait, 20_000);
  t.same(c.passThroughAllow, DEFAULT_PASS_THROUGH_ALLOW);
  t.end();
});

t.test('flags win over environment variables, which win over the config file', (t) => {
  const configFile = file(
    'precedence.json',
    JSON.stringify({ port: 1111, host: '0.0.0.0', logLevel: 'warn', queueSize: 3 }),
  );
  const env = {
    CHATGPT_REST_CONFIG: configFile,
    CHATGPT_REST_PORT: '2222',
    CHATGPT_REST_HOST: '::1',
  };
  const all = config(['--port', '3333'], env);
  t.equal(all.port, 3333, 'flag over env and file');
  t.equal(all.host, '::1', 'env over file');
  t.equal(all.logLevel, 'warn', 'file over default');
  t.equal(all.queueSize, 3);
  t.equal(config([], env).port, 2222, 'env over file');
  t.equal(config(['--config', configFile]).port, 1111, 'file over default');
  t.end();
});

t.test('the upstream comes from CHATGPT_BASE_URL and a trailing slash is dropped', (t) => {
  t.equal(
    config([], { CHATGPT_BASE_URL: 'http://127.0.0.1:9/backend-api/' }).upstream,
    'http://127.0.0.1:9/backend-api',
  );
  t.end();
});

t.test('a --token flag is refused with the reason and without echoing the secret', (t) => {
  for (const argv of [
    ['--token', 'sk-secret-value'],
    ['--token=sk-secret-value'],
    ['--tokens', 'a=sk-secret-value'],
    ['--api-key', 'sk-secret-value'],
  ]) {
    const message = refusal(argv);
    t.match(message, /process lists/);
    t.match(message, /CHATGPT_REST_TOKENS/);
    t.notMatch(message, /sk-secret-value/);
  }
  t.end();
});

t.test(
  'a positional argument is refused without echoing it (it may be a pasted secret)',
  async (t) => {
    for (const argv of [['--allow-open', 'sk-SECRET-positional'], ['sk-SECRET-positional']]) {
      const message = refusal(argv);
      t.match(message, /takes no positional arguments/);
      t.notMatch(message, /sk-SECRET-positional/);
    }
    const err: string[] = [];
    const io = { out: () => undefined, err: (s: string) => err.push(s), log: () => undefined };
    t.equal(await main(['--allow-open', 'sk-SECRET-positional'], {}, io), 2);
    t.notMatch(err.join('\n'), /sk-SECRET-positional/, 'stderr does not hold it');
  },
);

t.test('server-held tokens without API keys refuse to start unless --allow-open', (t) => {
  const env = { CHATGPT_REST_TOKENS: 'main=tok-1' };
  t.match(refusal([], env), /refusing to start/);
  const open = config(['--allow-open'], env);
  t.same(open.tokens, [{ label: 'main', token: 'tok-1' }]);
  t.equal(open.allowOpen, true);
  t.equal(config([], { ...env, CHATGPT_REST_ALLOW_OPEN: 'true' }).allowOpen, true);
  t.end();
});

t.test('API keys without server-held tokens are refused as a likely mistake', (t) => {
  t.match(refusal([], { CHATGPT_REST_API_KEYS: 'k1' }), /no server-held tokens/);
  t.end();
});

t.test(
  'tokens and keys are read from env or files, files named in a config file next to it',
  (t) => {
    const tokens = file('tokens.txt', '# held tokens\nalpha=tok-alpha\n\nbeta = tok-beta\n');
    const keys = file('keys.txt', 'key-one\nkey-two\n');
    const fromFlags = config(['--tokens-file', tokens, '--api-keys-file', keys], {
      CHATGPT_REST_TOKENS: 'ignored=tok-env',
    });
    t.same(fromFlags.tokens, [
      { label: 'alpha', token: 'tok-alpha' },
      { label: 'beta', token: 'tok-beta' },
    ]);
    t.same(fromFlags.apiKeys, ['key-one', 'key-two']);
    const fromEnv = config([], {
      CHATGPT_REST_TOKENS: 'a=tok-a,b=tok-b',
      CHATGPT_REST_API_KEYS: 'k1, k2',
    });
    t.same(
      fromEnv.tokens.map((token) => token.label),
      ['a', 'b'],
    );
    t.same(fromEnv.apiKeys, ['k1', 'k2']);
    const viaFile = file(
      'with-files.json',
      JSON.stringify({ tokensFile: 'tokens.txt', apiKeysFile: 'keys.txt' }),
    );
    t.equal(config(['--config', viaFile]).tokens.length, 2);
    t.same(config(['--config', viaFile]).apiKeys, ['key-one', 'key-two']);
    t.end();
  },
);

t.test('a malformed token entry is refused without echoing the token', (t) => {
  const message = refusal([], { CHATGPT_REST_TOKENS: 'ok=tok-1,sk-naked-secret' });
  t.match(message, /entry 2 must be "label=token"/);
  t.notMatch(message, /sk-naked-secret/);
  t.match(
    refusal([], { CHATGPT_REST_TOKENS: 'a=x,a=y', CHATGPT_REST_ALLOW_OPEN: '1' }),
    /used twice/,
  );
  t.match(refusal(['--tokens-file', join(dir, 'missing.txt')]), /cannot read the tokens file/);
  t.end();
});

t.test('bad values are refused with a message naming the setting', (t) => {
  t.match(refusal(['--port', 'eighty']), /--port \/ CHATGPT_REST_PORT must be an integer/);
  t.match(refusal(['--port', '70000']), /from 0 to 65535/);
  t.match(refusal(['--upstream', 'ftp://x']), /absolute http\(s\) URL/);
  t.match(refusal(['--upstream', 'not a url']), /absolute http\(s\) URL/);
  t.match(refusal(['--dialect', 'v2']), /legacy, web or auto/);
  t.match(refusal(['--log-level', 'loud']), /must be one of/);
  t.match(refusal(['--queue-wait', '0']), /--queue-wait/);
  t.match(refusal([], { CHATGPT_REST_ALLOW_OPEN: 'maybe' }), /true or false/);
  t.match(refusal(['--host', ' ']), /non-empty string/);
  t.match(refusal(['--pass-through-allow', 'FETCH /x']), /must look like/);
  t.match(refusal(['--no-such-flag']), /Unknown option/);
  t.end();
});

t.test('the config file is checked: JSON, an object, known keys, no inline secrets', (t) => {
  t.match(refusal(['--config', file('bad.json', '{nope')]), /not valid JSON/);
  t.match(refusal(['--config', file('array.json', '[]')]), /must hold a JSON object/);
  t.match(refusal(['--config', file('unknown.json', '{"prot": 1}')]), /unknown key "prot"/);
  t.match(
    refusal(['--config', file('inline.json', '{"tokens": ["a=b"]}')]),
    /may not hold tokens; name a file with tokensFile/,
  );
  t.match(refusal(['--config', file('keys.json', '{"apiKeys": ["k"]}')]), /apiKeysFile/);
  t.match(refusal(['--config', join(dir, 'absent.json')]), /cannot read the config file/);
  t.match(
    refusal(['--config', file('wrong.json', '{"passThroughAllow": 3}')]),
    /comma-separated list/,
  );
  t.end();
});

t.test('the pass-through allowlist is configurable and "none" turns it off', (t) => {
  t.same(
    config(['--pass-through-allow', 'GET /conversations, POST /conversation']).passThroughAllow,
    ['GET /conversations', 'POST /conversation'],
  );
  t.same(config(['--pass-through-allow', 'none']).passThroughAllow, []);
  t.same(
    config(['--config', file('allow.json', '{"passThroughAllow": ["GET /conversation/:id"]}')])
      .passThroughAllow,
    ['GET /conversation/:id'],
  );
  t.end();
});

t.test('--help lists every option', async (t) => {
  const out: string[] = [];
  const code = await main(
    ['--help'],
    {},
    { out: (s) => out.push(s), err: () => undefined, log: () => undefined },
  );
  t.equal(code, 0);
  for (const option of OPTIONS) t.match(out.join('\n'), `--${option.flag}`);
  for (const option of OPTIONS) if (option.env !== undefined) t.match(helpText(), option.env);
  t.end();
});

t.test('a bad configuration exits with code 2 and a clear message', async (t) => {
  const err: string[] = [];
  const io = { out: () => undefined, err: (s: string) => err.push(s), log: () => undefined };
  t.equal(await main(['--token', 'sk-live-1'], {}, io), 2);
  t.match(err.join('\n'), /--token is refused/);
  t.notMatch(err.join('\n'), /sk-live-1/);
  t.equal(await main([], { CHATGPT_REST_TOKENS: 'a=tok' }, io), 2);
  t.match(err.join('\n'), /refusing to start/);
});

t.test('the CLI prints its address, serves, and exits 0 when asked to stop', async (t) => {
  const out: string[] = [];
  const logs: string[] = [];
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const running = main(
    ['--emulator', '--demo', '--port', '0', '--log-level', 'info'],
    {},
    { out: (s) => out.push(s), err: (s) => out.push(s), log: (line) => logs.push(line) },
    stopped,
  );
  while (!out.some((line) => line.includes('listening on')))
    await new Promise((r) => setTimeout(r, 10));
  const url = /listening on (\S+)/.exec(out.join('\n'))?.[1] ?? '';
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.match(out.join('\n'), /built-in emulator/);
  t.match(
    out.join('\n'),
    /curl -s -H "\$AUTH" "\$BASE\/conversations\?limit=5"/,
    'the demo commands',
  );
  const created = await fetch(`${url}/conversations/new`, {
    method: 'POST',
    headers: {
      authorization: 'Bearer demo-token',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'prompt=hello',
  });
  t.equal(created.status, 201);
  t.match(out.join('\n'), /\$BASE\/v1\/chat\/completions/, 'the demo shows the OpenAI route');
  const completion = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer demo-token', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Hello' }] }),
  });
  t.equal(completion.status, 200);
  stop();
  t.equal(await running, 0);
  t.match(logs.join(''), /"msg":"stopped"/);
});

t.test('the CLI reports a port it cannot listen on', async (t) => {
  const blocker = (await import('node:net')).createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = String((blocker.address() as { port: number }).port);
  const err: string[] = [];
  const code = await main(
    ['--emulator', '--port', port],
    {},
    { out: () => undefined, err: (s) => err.push(s), log: () => undefined },
    new Promise(() => undefined),
  );
  t.equal(code, 1);
  t.match(err.join('\n'), /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
});

t.test('--cors-origin takes origins (or *) and refuses anything else', (t) => {
  t.same(config([]).corsOrigins, []);
  t.same(config(['--cors-origin', 'https://a.example,http://localhost:5173']).corsOrigins, [
    'https://a.example',
    'http://localhost:5173',
  ]);
  t.same(config([], { CHATGPT_REST_CORS_ORIGIN: '*' }).corsOrigins, ['*']);
  t.match(refusal(['--cors-origin', 'https://a.example/path']), /is not an origin/);
  t.match(refusal(['--cors-origin', 'a.example']), /is not an origin/);
  t.end();
});
