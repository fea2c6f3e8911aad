import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { loadConfig } from '../src/config.js';
import { demoPages } from '../src/demo.js';
import { raw, start } from './helpers.js';

/** A folder with a page, a hidden file, a file of an unknown type and a link out of it. */
function site(t: Test): string {
  const outside = mkdtempSync(join(tmpdir(), 'outside-'));
  writeFileSync(join(outside, 'secret.html'), 'secret');
  const root = mkdtempSync(join(tmpdir(), 'site-'));
  writeFileSync(join(root, 'index.html'), '<h1>chat</h1>');
  writeFileSync(join(root, 'app.js'), 'export {};');
  writeFileSync(join(root, '.env'), 'TOKEN=x');
  writeFileSync(join(root, 'notes.txt'), 'notes');
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'index.html'), 'sub');
  symlinkSync(join(outside, 'secret.html'), join(root, 'leak.html'));
  t.teardown(() => {
    for (const dir of [root, outside]) rmSync(dir, { recursive: true, force: true });
  });
  return root;
}

const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

t.test('Swagger UI at /docs: assets from swagger-ui-dist, pointed at /openapi.json', async (t) => {
  const { url } = await start(t, { docs: true });
  const page = await fetch(`${url}/docs`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /text\/html/);
  t.match(page.headers.get('content-security-policy'), /default-src 'self'/);
  const html = await page.text();
  t.match(html, /<script src="\/docs\/swagger-ui-bundle\.js">/);
  t.notMatch(html, /https?:\/\//, 'nothing from another origin (no CDN)');
  const bundle = await fetch(`${url}/docs/swagger-ui-bundle.js`);
  t.equal(
    await bundle.text(),
    readFileSync(join(swaggerDir, 'swagger-ui-bundle.js'), 'utf8'),
    "the package's own file",
  );
  t.match(await (await fetch(`${url}/docs/init.js`)).text(), /url: "\/openapi\.json"/);
  const css = await fetch(`${url}/docs/swagger-ui.css`, { method: 'HEAD' });
  t.equal(css.status, 200);
  t.match(css.headers.get('content-type'), /text\/css/);
  const other = await fetch(`${url}/docs/package.json`);
  t.equal(other.status, 404, 'only the files the page needs');
  t.equal(((await other.json()) as { code: string }).code, 'not_found');
  const post = await fetch(`${url}/docs`, { method: 'POST' });
  t.equal(post.status, 404, 'GET and HEAD only');
  await post.arrayBuffer();
});

t.test('under a prefix, Swagger UI reads the prefixed document', async (t) => {
  const { url } = await start(t, { docs: true, core: { prefix: '/chat' } });
  t.match(await (await fetch(`${url}/docs/init.js`)).text(), /url: "\/chat\/openapi\.json"/);
  const document = (await (await fetch(`${url}/chat/openapi.json`)).json()) as {
    servers: { url: string }[];
  };
  t.equal(document.servers[0]?.url, '/chat');
});

t.test('without docs, /docs is no page', async (t) => {
  const { url } = await start(t);
  const response = await fetch(`${url}/docs`);
  t.equal(response.status, 404);
  t.equal(((await response.json()) as { code: string }).code, 'not_found');
});

t.test('a static folder is served where no route answers, and nothing outside it', async (t) => {
  const { url, port } = await start(t, { staticDir: site(t) });
  const index = await fetch(`${url}/`);
  t.equal(await index.text(), '<h1>chat</h1>');
  t.match(index.headers.get('content-security-policy'), /default-src 'self'/);
  t.equal(index.headers.get('x-content-type-options'), 'nosniff');
  t.match((await fetch(`${url}/app.js`)).headers.get('content-type'), /text\/javascript/);
  t.equal(await (await fetch(`${url}/sub/`)).text(), 'sub');
  for (const path of ['/.env', '/notes.txt', '/missing.html', '/leak.html']) {
    const response = await fetch(`${url}${path}`);
    t.equal(response.status, 404, `${path} is not served`);
    t.notMatch(await response.text(), /TOKEN=x|^secret$|^notes$/);
  }
  for (const path of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/sub/../.env']) {
    const reply = await raw(port, 'GET', path);
    t.equal(reply.status, 400, `${path} is refused before anything reads it`);
  }
  const api = await fetch(`${url}/conversations`);
  t.equal(api.status, 401, 'the API still answers its routes');
  await api.arrayBuffer();
});

t.test('the demo names its pages', (t) => {
  t.equal(demoPages('http://h', false, false), '');
  t.match(demoPages('http://h', true, true), /http:\/\/h\/\n.*http:\/\/h\/docs/);
  t.end();
});

t.test('--docs, --demo and --static as settings', (t) => {
  const config = (argv: string[]) => {
    const loaded = loadConfig(argv, {});
    if (loaded.help) throw new Error('help');
    return loaded.config;
  };
  t.equal(config([]).docs, false, 'off by default');
  t.equal(config([]).staticDir, undefined);
  t.equal(config(['--docs']).docs, true);
  t.equal(config(['--demo']).docs, true, 'on in the demo');
  t.equal(config(['--static', tmpdir()]).staticDir, tmpdir());
  t.throws(() => config(['--static', join(tmpdir(), 'no-such-folder-7f3a')]), {
    name: 'ConfigError',
    message: /--static \/ CHATGPT_REST_STATIC must name an existing folder/,
  });
  t.end();
});
