import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';

// Imports each built package through its `exports` map, without the source condition that the
// other tests use, so a broken entry point or a missing `dist/` file fails here. `npm test`
// builds first.
const root = new URL('..', import.meta.url);

const entries: Record<string, string[]> = {
  '@chatgpt-rest/core': ['createHandler', 'createNodeListener', 'RestError', 'serveNode'],
  '@chatgpt-rest/emulator': ['createBackendEmulator'],
  '@chatgpt-rest/express': ['chatGptRoutes', 'createHandler'],
  '@chatgpt-rest/fastify': ['chatGptRoutes', 'default'],
  '@chatgpt-rest/koa': ['chatGptRoutes', 'createHandler'],
  '@chatgpt-rest/redis-store': ['createRedisStore', 'RedisStore'],
};

t.test('every package is built', (t) => {
  for (const name of ['core', 'emulator', 'express', 'fastify', 'koa', 'redis-store', 'server']) {
    t.ok(
      existsSync(new URL(`packages/${name}/dist/index.d.ts`, root)),
      `${name} has dist/index.d.ts (run npm run build)`,
    );
  }
  t.end();
});

for (const [specifier, names] of Object.entries(entries)) {
  t.test(`${specifier} imports from dist through its exports map`, (t) => {
    const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      // No coverage from this child: it runs dist/, whose source maps would count each source
      // function a second time, never called (tap instruments every child process).
      env: { ...process.env, NODE_OPTIONS: '', _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./' },
      encoding: 'utf8',
    });
    const keys = JSON.parse(out) as string[];
    for (const name of names) t.ok(keys.includes(name), `exports ${name}`);
    t.end();
  });
}
