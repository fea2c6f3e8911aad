import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

// Packs every published package with `npm pack`, installs the tarballs into a scratch app in a
// temporary folder outside the repository, and uses them there the way a user would: imports
// and require()s each entry point, runs the bins, and type-checks a file that imports each
// (tsc, module NodeNext). Third-party packages come from npm's cache at the versions the
// repository's lockfile installed (`--offline`, else `--prefer-offline` when the cache lacks one).

t.setTimeout(300_000);

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = [
  'core',
  'emulator',
  'express',
  'fastify',
  'koa',
  'redis-store',
  'server',
] as const;
const ENTRY_POINTS: Record<string, string[]> = {
  '@chatgpt-rest/core': ['createHandler', 'createNodeListener', 'RestError'],
  '@chatgpt-rest/emulator': ['createBackendEmulator'],
  '@chatgpt-rest/express': ['chatGptRoutes', 'createHandler'],
  '@chatgpt-rest/fastify': ['chatGptRoutes', 'default'],
  '@chatgpt-rest/koa': ['chatGptRoutes', 'createHandler'],
  '@chatgpt-rest/redis-store': ['createRedisStore', 'RedisStore', 'redactRedisUrl'],
  '@chatgpt-rest/server': ['createServer'],
};
const BINS = ['chatgpt-rest', 'chatgpt-backend-emulator'];

/** The environment of child processes: no loader or coverage of tap, no settings of `npm run`. */
function childEnv(): NodeJS.ProcessEnv {
  // tap instruments every child process; this pattern excludes every file from its coverage.
  const env: NodeJS.ProcessEnv = { _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./' };
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key === 'NODE_V8_COVERAGE' || /^_?TAP/.test(key)) continue;
    if (/^npm_(package|lifecycle)_/.test(key) || key === 'INIT_CWD') continue;
    if (key.startsWith('npm_config_') && !/cache|registry|userconfig|proxy/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

async function sh(command: string, args: string[], cwd: string): Promise<string> {
  const { stdout } = await run(command, args, {
    cwd,
    env: childEnv(),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** The version of a package the repository installed, so that npm finds it in its cache. */
function installedVersion(name: string): string {
  const manifest = JSON.parse(
    readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'),
  ) as { version: string };
  return manifest.version;
}

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

const work = mkdtempSync(join(tmpdir(), 'chatgpt-rest-pack-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('the scratch folder is outside the repository', (t) => {
  t.ok(relative(root, work).startsWith('..'), work);
  t.end();
});

t.before(async () => {
  // `npm test` builds first; a lone run of this file builds what is missing.
  if (PACKAGES.some((name) => !existsSync(join(root, 'packages', name, 'dist', 'index.js')))) {
    await sh('npm', ['run', 'build'], root);
  }
});
const workspaces = PACKAGES.flatMap((name) => ['-w', `packages/${name}`]);

t.test('npm pack --dry-run lists LICENSE, README, the exports, bins and map sources', async (t) => {
  const packs = JSON.parse(
    await sh('npm', ['pack', '--dry-run', '--json', ...workspaces], root),
  ) as PackResult[];
  t.equal(packs.length, PACKAGES.length);
  for (const name of PACKAGES) {
    const dir = join(root, 'packages', name);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, Record<string, string>>;
      bin?: Record<string, string>;
    };
    const pack = packs.find((p) => p.name === manifest.name);
    if (pack === undefined) {
      t.fail(`${manifest.name} packed`);
      continue;
    }
    const files = new Set(pack.files.map((file) => file.path));
    t.ok(files.has('LICENSE'), `${manifest.name} ships LICENSE`);
    t.ok(files.has('README.md'), `${manifest.name} ships README.md`);
    t.notOk(
      [...files].some((file) => file.startsWith('test/')),
      `${manifest.name} ships no tests`,
    );
    const shipped = (target: string) => files.has(posix.normalize(target));
    for (const [entry, conditions] of Object.entries(manifest.exports)) {
      for (const [condition, target] of Object.entries(conditions)) {
        t.ok(shipped(target), `${manifest.name} exports ${entry} [${condition}] ${target}`);
      }
    }
    for (const [bin, target] of Object.entries(manifest.bin ?? {})) {
      t.ok(shipped(target), `${manifest.name} bin ${bin} ${target}`);
    }
    // Every source map (of .js and .d.ts) points at files that are in the tarball.
    const missing: string[] = [];
    for (const file of files) {
      if (!file.endsWith('.map')) continue;
      const map = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { sources: string[] };
      for (const source of map.sources) {
        const resolved = posix.join(posix.dirname(file), source);
        if (!files.has(resolved)) missing.push(`${file} -> ${source}`);
      }
    }
    t.same(missing, [], `${manifest.name}: every source map resolves inside the tarball`);
  }
});

t.test('the tarballs install into a scratch app and work there', async (t) => {
  const tarballs = join(work, 'tarballs');
  const app = join(work, 'app');
  mkdirSync(tarballs);
  mkdirSync(app);
  const packs = JSON.parse(
    await sh('npm', ['pack', '--json', '--pack-destination', tarballs, ...workspaces], root),
  ) as PackResult[];
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }),
  );
  const specs = [
    ...packs.map((pack) => join(tarballs, pack.filename)),
    // the mounts' peers, and Node's types for tsc, at the versions the repository installed
    ...['express', 'fastify', 'koa', '@types/node'].map((n) => `${n}@${installedVersion(n)}`),
  ];
  const install = ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...specs];
  try {
    await sh('npm', [...install, '--offline'], app);
  } catch {
    // The cache lacks some package's metadata (the lockfile install fetches tarballs only).
    await sh('npm', [...install, '--prefer-offline'], app);
  }

  t.test('each entry point imports and requires', async (t) => {
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const out = {};
      for (const name of ${JSON.stringify(Object.keys(ENTRY_POINTS))}) {
        out[name] = { imported: Object.keys(await import(name)), required: Object.keys(require(name)) };
      }
      console.log(JSON.stringify(out));`;
    const out = JSON.parse(
      await sh(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], app),
    ) as Record<string, { imported: string[]; required: string[] }>;
    for (const [name, names] of Object.entries(ENTRY_POINTS)) {
      for (const key of names) {
        t.ok(out[name]?.imported.includes(key), `import('${name}').${key}`);
        t.ok(out[name]?.required.includes(key), `require('${name}').${key}`);
      }
    }
  });

  t.test('the bins run', async (t) => {
    for (const bin of BINS) {
      const out = await sh(join(app, 'node_modules', '.bin', bin), ['--help'], app);
      t.match(out, `Usage: ${bin}`, `${bin} --help`);
    }
  });

  t.test('the types resolve (tsc --noEmit, module NodeNext)', async (t) => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['check.ts'],
      }),
    );
    // Each `@ts-expect-error` fails the check if the types it probes did not resolve (any).
    writeFileSync(
      join(app, 'check.ts'),
      `import { createServer } from 'node:http';
import { createHandler, createNodeListener, type ChatGptRestOptions } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { chatGptRoutes as expressRoutes } from '@chatgpt-rest/express';
import fastifyPlugin, { chatGptRoutes as fastifyRoutes } from '@chatgpt-rest/fastify';
import { chatGptRoutes as koaRoutes } from '@chatgpt-rest/koa';
import { createRedisStore } from '@chatgpt-rest/redis-store';
import { createServer as createSidecar } from '@chatgpt-rest/server';
import Fastify from 'fastify';

const options: ChatGptRestOptions = { upstream: 'http://127.0.0.1:9/backend-api', prefix: '/chat' };
// @ts-expect-error upstream is a string
createHandler({ upstream: 42 });
createServer(createNodeListener(createHandler(options)));
const [routes, errors] = expressRoutes(options);
// @ts-expect-error the mount takes options, not a string
koaRoutes('/chat');
void [routes, errors, koaRoutes(options), createSidecar];
// @ts-expect-error a lease TTL is a number of ms
void createHandler({ store: createRedisStore({ url: 'redis://127.0.0.1:9', leaseTtlMs: '1s' }) });
await Fastify().register(fastifyRoutes, options);
await Fastify().register(fastifyPlugin, options);
const emulator = await createBackendEmulator();
const url: string = emulator.url;
// @ts-expect-error the emulator has no such method
emulator.explode();
void url;
`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], app).then(
      (stdout) => ({ code: 0, stdout }),
      (error: unknown) => error as { code: number; stdout: string },
    );
    t.equal(result.code, 0, result.stdout);
  });
});
