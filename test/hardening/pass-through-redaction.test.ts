import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { failOnCrash, raw, rawUpstream, start } from '../../packages/server/test/helpers.js';
import { StreamRedactor, redactAll, secretBytes } from '../../packages/server/src/redact.js';

const CANARY_TOKEN = 'canary-held-token-7d3e91f0b2';
const OTHER_TOKEN = 'canary-other-token-41c9aa';
const CANARY_KEY = 'canary-api-key-0c5be27d';

/** Answers as the request's `echo` query parameter says, echoing the request head it got. */
function echoing(socket: Socket, head: string): void {
  const kind = /[?&]echo=(\w+)/.exec(head)?.[1] ?? '';
  const echoed = JSON.stringify({ detail: `you sent ${head}`, other: OTHER_TOKEN });
  // Headers echoing secrets too: they were relayed as they came (bodies only were redacted).
  const echo = `x-echo: held ${CANARY_TOKEN} other ${OTHER_TOKEN}\r\nset-cookie: k=${CANARY_KEY}; Path=/\r\nset-cookie: t=${CANARY_TOKEN}`;
  const json = `content-type: application/json\r\nconnection: close\r\n${echo}`;
  if (kind === 'error') {
    socket.end(`HTTP/1.1 401 X\r\n${json}\r\ncontent-length: ${echoed.length}\r\n\r\n${echoed}`);
  } else if (kind === 'gzip') {
    const body = gzipSync(echoed);
    socket.write(
      `HTTP/1.1 500 X\r\n${json}\r\ncontent-encoding: gzip\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    socket.end(body);
  } else if (kind === 'stream') {
    // The token is split across two writes, so a scan of single chunks would miss it.
    const half = CANARY_TOKEN.length >> 1;
    socket.write(
      `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n${echo}\r\n\r\n` +
        `data: {"message": "token ${CANARY_TOKEN.slice(0, half)}`,
    );
    setTimeout(() => {
      socket.end(`${CANARY_TOKEN.slice(half)} and key ${CANARY_KEY}"}\n\ndata: [DONE]\n\n`);
    }, 50);
  } else {
    socket.end(`HTTP/1.1 200 OK\r\n${json}\r\ncontent-length: ${echoed.length}\r\n\r\n${echoed}`);
  }
}

t.test(
  'server-held pass-through: held tokens and the caller API key echoed by the upstream never reach the client or a log line',
  async (t) => {
    failOnCrash(t);
    const upstream = await rawUpstream(t, echoing);
    const { port, logLines } = await start(t, {
      upstream: upstream.url,
      tokens: [
        { label: 'canary', token: CANARY_TOKEN },
        { label: 'other', token: OTHER_TOKEN },
      ],
      apiKeys: [CANARY_KEY],
    });
    const headers = { authorization: `Bearer ${CANARY_KEY}`, 'accept-encoding': 'gzip' };
    const replies: Record<string, Awaited<ReturnType<typeof raw>>> = {};
    for (const kind of ['error', 'gzip', 'stream', 'ok']) {
      replies[kind] = await raw(port, 'GET', `/backend-api/conversations?echo=${kind}`, headers);
    }
    t.equal(replies.error?.status, 401, 'the error status is kept');
    t.match(replies.error?.body, /you sent GET/, 'the error body is relayed');
    t.match(replies.error?.body, /\[redacted\]/, 'with the secret replaced');
    t.equal(replies.gzip?.status, 500, 'a gzip error body is decoded, redacted and relayed');
    t.match(replies.gzip?.body, /\[redacted\]/);
    t.match(replies.stream?.body, /token \[redacted\] and key \[redacted\]"\}\n\ndata: \[DONE\]/);
    t.equal(replies.ok?.status, 200);
    t.match(replies.ok?.body, /\[redacted\]/, 'a 2xx JSON body is scanned too');
    for (const [kind, reply] of Object.entries(replies)) {
      for (const secret of [CANARY_TOKEN, OTHER_TOKEN, CANARY_KEY]) {
        t.notOk(reply.body.includes(secret), `${kind}: no secret in the body`);
        t.notOk(JSON.stringify(reply.headers).includes(secret), `${kind}: no secret in a header`);
      }
      t.match(reply.headers['x-echo'], 'held [redacted] other [redacted]', `${kind}: header kept`);
      t.same(reply.headers['set-cookie'], ['k=[redacted]; Path=/', 't=[redacted]']);
    }
    t.ok(
      upstream.received.some(
        (text) => text.includes(`Bearer ${CANARY_TOKEN}`) || text.includes(`Bearer ${OTHER_TOKEN}`),
      ),
      'the upstream did get a held token',
    );
    t.ok(
      upstream.received.every((text) => /accept-encoding: identity/i.test(text)),
      'bodies are asked for uncompressed, so they can be scanned',
    );
    const log = logLines.join('');
    for (const secret of [CANARY_TOKEN, OTHER_TOKEN, CANARY_KEY]) {
      t.notOk(log.includes(secret), 'no secret in a log line');
    }
  },
);

t.test(
  'the stream redactor finds secrets split at any byte and holds back only possible prefixes',
  (t) => {
    const secrets = secretBytes([CANARY_TOKEN, 'canary', CANARY_KEY]);
    const text = Buffer.from(
      `a ${CANARY_TOKEN}${CANARY_KEY} c canar ${CANARY_TOKEN.slice(0, 9)} canary z`,
    );
    const whole = redactAll(text, secrets).toString();
    t.notOk(whole.includes(CANARY_TOKEN) || whole.includes(CANARY_KEY));
    for (let cut = 0; cut <= text.length; cut++) {
      const redactor = new StreamRedactor(secrets);
      const out = Buffer.concat([
        redactor.push(text.subarray(0, cut)),
        redactor.push(text.subarray(cut)),
        redactor.flush(),
      ]).toString();
      if (out !== whole) t.fail(`split at ${cut}: ${out}`);
    }
    const bytewise = new StreamRedactor(secrets);
    const parts = [...text].map((byte) => bytewise.push(Buffer.from([byte])));
    t.equal(Buffer.concat([...parts, bytewise.flush()]).toString(), whole, 'byte by byte');
    const idle = new StreamRedactor(secrets);
    t.equal(
      idle.push(Buffer.from('data: {"x": 1}\n\n')).length,
      16,
      'an event that cannot start a secret is not held back',
    );
    t.equal(idle.held, 0);
    t.end();
  },
);
