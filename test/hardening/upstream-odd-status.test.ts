/**
 * Issue 10 items 1 and 14: an upstream answering a status outside 200–599 (or 1xx, or 204/205/304
 * with a body) crashed the process through `new Response(body, {status})` on every mount. Every
 * status a socket can carry, 000–999, on every mount: the process lives and the client gets a
 * JSON answer; statuses that are not a final HTTP status are 502 `upstream_error`.
 */
import t from 'tap';
import {
  MOUNTS,
  guardProcess,
  inBatches,
  rawAnswer,
  rawUpstream,
  type RawUpstream,
} from './harness.js';

const TOKEN = 'Bearer odd-status-test-token';
const STATUSES = Array.from({ length: 1000 }, (_, status) => status);
/** Not a final status a `Response` can carry, or one that must not have the body sent. */
const INVALID = (status: number): boolean =>
  status < 200 || status > 599 || status === 204 || status === 205 || status === 304;

/** A raw upstream answering the status named in the request's query (`?status=…` or `/…/NNN`). */
function statusUpstream(statusOf: (path: string) => number): Promise<RawUpstream> {
  return rawUpstream((request, socket) => {
    socket.end(rawAnswer(statusOf(request.path), '{"detail":"odd"}'));
  });
}

for (const mount of MOUNTS) {
  t.test(`${mount.name}: every upstream status 000-999 on GET /conversations`, async (t) => {
    const guard = guardProcess(t);
    // The list asks with offset=<status> so that the raw upstream knows what to answer.
    const upstream = await statusUpstream((path) => Number(/offset=(\d+)/.exec(path)?.[1] ?? 0));
    const app = await mount.start({
      options: { upstream: upstream.url, dialect: 'legacy', timeouts: { headers: 2000 } },
      prefix: '',
      bodyParser: false,
    });
    t.teardown(async () => {
      await app.close();
      await upstream.close();
    });
    const answers = await inBatches(STATUSES.length, 16, async (status) => {
      const response = await fetch(`${app.url}/conversations?offset=${status}`, {
        headers: { authorization: TOKEN },
      });
      return { status, code: response.status, body: (await response.json()) as { code?: string } };
    });
    const wrong = answers.filter(
      (a) =>
        a.code === 500 ||
        (INVALID(a.status) && (a.code !== 502 || a.body.code !== 'upstream_error')),
    );
    t.same(wrong.slice(0, 5), [], 'odd statuses are 502 upstream_error, nothing is a 500');
    t.same(guard.escaped, [], 'nothing escaped to the process');
  });

  t.test(`${mount.name}: odd statuses on the message POST, both dialects`, async (t) => {
    const guard = guardProcess(t);
    const odd = [0, 99, 100, 101, 150, 199, 204, 205, 304, 600, 888, 999];
    for (const dialect of ['legacy', 'web'] as const) {
      for (const stream of [false, true]) {
        let status = 0;
        const upstream = await statusUpstream(() => status);
        const app = await mount.start({
          options: { upstream: upstream.url, dialect, timeouts: { headers: 2000 } },
          prefix: '',
          bodyParser: false,
        });
        t.teardown(async () => {
          await app.close();
          await upstream.close();
        });
        for (status of odd) {
          const response = await fetch(`${app.url}/conversations/new`, {
            method: 'POST',
            headers: { authorization: TOKEN, 'content-type': 'application/json' },
            body: JSON.stringify({ prompt: 'hi', stream }),
          });
          const text = await response.text();
          t.equal(response.status, 502, `${dialect} stream=${stream} upstream ${status}: 502`);
          t.match(text, /"code":"upstream_error"/);
        }
      }
    }
    t.same(guard.escaped, [], 'nothing escaped to the process');
  });
}
