/**
 * Paths the URL parser refuses (`//a:b/`, `//x:99999/…`, `//[`, `// /x`: a bad authority after
 * `//`). `handles()` and `routeOf()` parsed them with `new URL(path, base)`, which threw: the
 * Express and Koa mounts call `handles()` on every request, so the host app answered 500 for any
 * such path, its own included. They are not ours, or, when a route follows the authority (as with
 * `//host/conversations`), ours and refused with the bridge's 400.
 */
import net from 'node:net';
import { createHandler } from '@chatgpt-rest/core';
import t from 'tap';
import { expressFive, expressFour, koaThree, koaTwo } from '../conformance/mounts.js';
import { guardProcess, startOnEmulator } from './harness.js';

/** A path, and the route it is read as (undefined: not ours). */
const PATHS: [string, string | undefined][] = [
  ['//a:b/', undefined],
  ['//x:99999/anything', undefined],
  ['//[', undefined],
  ['// /x', undefined],
  ['//%20/x', undefined],
  ['/\\[', undefined],
  ['//a:b/some/host/route', undefined],
  ['//x:99999/conversations', '/conversations'],
  ['//[/conversations/new', '/conversations/new'],
];

/** Sends `target` as it is (no client library would) and reads the status, type and body. */
function rawGet(
  base: string,
  target: string,
): Promise<{ status: number; head: string; body: string }> {
  const { port } = new URL(base);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const end = received.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0),
        head: received.slice(0, end),
        body: received.slice(end + 4),
      });
    });
    socket.setTimeout(5000, () => socket.destroy());
    socket.end(`GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
  });
}

t.test('handles() and routeOf() never throw on a path the URL parser refuses', (t) => {
  const handler = createHandler({ upstream: 'http://127.0.0.1:9/backend-api' });
  for (const [path, route] of PATHS) {
    t.equal(handler.routeOf(path), route, `routeOf(${JSON.stringify(path)})`);
    t.equal(handler.handles(path), route !== undefined, `handles(${JSON.stringify(path)})`);
  }
  const prefixed = createHandler({ upstream: 'http://127.0.0.1:9/backend-api', prefix: '/chat' });
  t.equal(prefixed.handles('//a:b/chat/conversations'), true);
  t.equal(prefixed.handles('//a:b/conversations'), false);
  t.equal(prefixed.routeOf('http://[/chat/conversations'), undefined, 'a bad absolute URL');
  t.end();
});

for (const mount of [expressFive, expressFour, koaThree, koaTwo]) {
  t.test(`${mount.name}: such a path is the app's 404, or our 400 for a route`, async (t) => {
    const guard = guardProcess(t);
    const { app, emulator } = await startOnEmulator(t, mount);
    // Node refuses a space in a request line itself: `// /x` comes as `//%20/x`.
    for (const [path, route] of PATHS.filter(([path]) => !path.includes(' '))) {
      const answer = await rawGet(app.url, path);
      if (route === undefined) {
        t.equal(answer.status, 404, `${path}: the app's own 404`);
        t.notMatch(answer.body, /not_found/, `${path}: not our JSON error`);
      } else {
        t.equal(answer.status, 400, `${path}: refused`);
        t.match(answer.head, /content-type: application\/json/i);
        t.match(JSON.parse(answer.body), { code: 'invalid_request' });
      }
    }
    const health = await rawGet(app.url, '/health');
    t.equal(health.status, 200, "the app's own routes still answer");
    t.equal(emulator.requests.length, 0, 'nothing went upstream');
    t.same(guard.escaped, []);
  });
}
