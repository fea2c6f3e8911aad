import { messageBody } from '@chatgpt-rest/test-kit';
import t, { type Test } from 'tap';
import { failOnCrash, raw, rawUpstream, start } from '../../packages/server/test/helpers.js';

const BODY = '{"ok":true}';
const KEY = 'odd-status-api-key';

/** The statuses the pass-through may relay; every other one must come back as 502. */
function relayable(status: number): boolean {
  return status >= 200 && status <= 599 && status !== 205;
}

/** Every status 0–999 as a raw upstream answer with an 11-byte body; the connection then closes. */
async function oddUpstream(t: Test): Promise<string> {
  const upstream = await rawUpstream(t, (socket, head) => {
    const status = Number(/[?&]status=(\d+)/.exec(head)?.[1] ?? '200');
    socket.end(
      `HTTP/1.1 ${String(status).padStart(3, '0')} X\r\ncontent-type: application/json\r\n` +
        `content-length: ${BODY.length}\r\nconnection: close\r\n\r\n${BODY}`,
    );
  });
  return upstream.url;
}

/** Asks for every status 0–999 but `skip`, 16 at a time, and checks each answer. */
async function sweep(
  t: Test,
  port: number,
  headers: Record<string, string>,
  skip?: number,
): Promise<void> {
  const statuses = Array.from({ length: 1000 }, (_, status) => status).filter((s) => s !== skip);
  const wrong: string[] = [];
  const worker = async (): Promise<void> => {
    for (let status = statuses.shift(); status !== undefined; status = statuses.shift()) {
      const reply = await raw(port, 'GET', `/backend-api/conversations?status=${status}`, headers);
      const want = relayable(status) ? status : 502;
      const code = reply.status >= 500 ? (JSON.parse(reply.body) as { code?: string }).code : '';
      if (reply.status !== want || (!relayable(status) && code !== 'upstream_error')) {
        wrong.push(`${status} → ${reply.status} ${code ?? ''}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  t.same(wrong, [], 'every status is relayed where legal, else 502 upstream_error');
}

t.test(
  'pass-through (passthrough mode): an upstream answering any status 0–999 never crashes the process; the client gets the status or 502 upstream_error',
  async (t) => {
    failOnCrash(t);
    const { port } = await start(t, { upstream: await oddUpstream(t) });
    await sweep(t, port, { authorization: 'Bearer client-token' });
    const health = await raw(port, 'GET', '/healthz');
    t.equal(health.status, 200, 'the sidecar still answers');
  },
);

t.test(
  'pass-through (server-held tokens): any status 0–999 on a read and odd statuses on a message POST give 502 or the status, never a crash',
  async (t) => {
    failOnCrash(t);
    const { port } = await start(t, {
      upstream: await oddUpstream(t),
      tokens: [{ label: 'main', token: 'held-odd-status-token' }],
      apiKeys: [KEY],
    });
    const headers = { authorization: `Bearer ${KEY}` };
    // A 401 takes the only held token out of rotation (by design): it is asked last.
    await sweep(t, port, headers, 401);
    for (const status of [99, 101, 150, 204, 205, 304, 429, 600, 888, 999, 401]) {
      const reply = await raw(
        port,
        'POST',
        `/backend-api/conversation?status=${status}`,
        { ...headers, 'content-type': 'application/json' },
        JSON.stringify(messageBody('hi')),
      );
      t.equal(reply.status, relayable(status) ? status : 502, `message POST answered ${status}`);
    }
  },
);
