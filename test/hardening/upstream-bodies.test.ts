/**
 * Issue 10 items 2, 4, 5 and 21: what the upstream sends as a body. An endless JSON body was read
 * whole (60 → 633 MiB) and an endless sentinel body ended in a 504 "no response headers"; odd
 * JSON (`null`, `{}`, `[]`, `"x"`) gave a 500 or an empty 200 that was cached; a Cloudflare page
 * with status 200 was `upstream_error` instead of `upstream_blocked`. On every mount.
 */
import type net from 'node:net';
import t from 'tap';
import { MOUNTS, guardProcess, rawAnswer, rawUpstream, type RawRequest } from './harness.js';

const TOKEN = 'Bearer upstream-bodies-test-token';
const ID = '6a1e8d2c-3b4f-4e5a-9c7d-0f1e2d3c4b5a';
const MiB = 1024 * 1024;

/** Writes `{"items":[` then filler for as long as the socket takes it (an endless body). */
function endless(_request: RawRequest, socket: net.Socket, type = 'application/json'): void {
  socket.write(`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\ntransfer-encoding: chunked\r\n\r\n`);
  // Lines of 64 KiB: an event stream's line cap does not end it either.
  const chunk = `10000\r\n${'x'.repeat(0xffff)}\n\r\n`;
  const pump = (): void => {
    while (!socket.destroyed && socket.write(chunk));
  };
  socket.on('drain', pump);
  pump();
}

/**
 * A 200 `v1` reply stream that starts a message, then appends 64 KiB events to a path no client
 * sees for as long as the socket takes them.
 */
function endlessReply(_request: RawRequest, socket: net.Socket): void {
  const chunked = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
  const message = {
    id: 'm1',
    author: { role: 'assistant' },
    content: { content_type: 'text', parts: [''] },
    status: 'in_progress',
    metadata: {},
    recipient: 'all',
  };
  socket.write(
    'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n' +
      chunked('event: delta_encoding\ndata: "v1"\n\n') +
      chunked(`data: ${JSON.stringify({ v: { message, conversation_id: ID }, c: 0 })}\n\n`),
  );
  const append = { p: '/message/metadata/junk', o: 'append', v: 'j'.repeat(64 * 1024) };
  const chunk = chunked(`data: ${JSON.stringify(append)}\n\n`);
  const pump = (): void => {
    while (!socket.destroyed && socket.write(chunk));
  };
  socket.on('drain', pump);
  pump();
}

async function start(
  mount: (typeof MOUNTS)[number],
  upstream: string,
  dialect = 'legacy',
  injected?: typeof fetch,
) {
  return mount.start({
    options: {
      upstream,
      dialect: dialect as 'legacy' | 'web',
      timeouts: { headers: 1500, idle: 1500 },
      limits: { upstreamBody: MiB },
      ...(injected === undefined ? {} : { fetch: injected }),
    },
    prefix: '',
    bodyParser: false,
  });
}

for (const mount of MOUNTS) {
  t.test(`${mount.name}: an endless JSON body is a 502 past limits.upstreamBody`, async (t) => {
    const guard = guardProcess(t);
    const upstream = await rawUpstream(endless);
    const app = await start(mount, upstream.url);
    t.teardown(async () => {
      await app.close();
      await upstream.close();
    });
    const response = await fetch(`${app.url}/conversations/${ID}/messages`, {
      headers: { authorization: TOKEN },
    });
    t.equal(response.status, 502);
    const body = (await response.json()) as { code: string; error: string };
    t.equal(body.code, 'upstream_error');
    t.match(body.error, /larger than 1048576 bytes/);
    t.same(guard.escaped, []);
  });

  t.test(
    `${mount.name}: a reply stream's held data is capped by limits.upstreamBody`,
    async (t) => {
      // The reader's cap was a constant 16 MiB whatever the option said.
      const upstream = await rawUpstream(endlessReply);
      const app = await start(mount, upstream.url);
      t.teardown(async () => {
        await app.close();
        await upstream.close();
      });
      const response = await fetch(`${app.url}/conversations/new`, {
        method: 'POST',
        headers: { authorization: TOKEN, 'content-type': 'application/json' },
        body: '{"prompt":"hi"}',
      });
      t.equal(response.status, 502);
      const body = (await response.json()) as { code: string; error: string };
      t.equal(body.code, 'upstream_error');
      t.match(body.error, /more than 1048576 characters of message data/);
    },
  );

  t.test(`${mount.name}: an endless sentinel body is a 502, not a headers timeout`, async (t) => {
    const upstream = await rawUpstream(endless);
    const app = await start(mount, upstream.url, 'web');
    t.teardown(async () => {
      await app.close();
      await upstream.close();
    });
    const response = await fetch(`${app.url}/conversations/new`, {
      method: 'POST',
      headers: { authorization: TOKEN, 'content-type': 'application/json' },
      body: '{"prompt":"hi"}',
    });
    t.equal(response.status, 502);
    t.match(await response.text(), /larger than 1048576 bytes/);
  });

  t.test(`${mount.name}: endless web-dialect steps are capped however they come`, async (t) => {
    // An event stream where the sentinel's or prepare's JSON belongs went uncapped (2 GB in
    // 15 s), and so did any body through an injected fetch.
    for (const [type, injected, step] of [
      ['text/event-stream', undefined, '/sentinel/chat-requirements'],
      ['application/json', fetch, '/sentinel/chat-requirements'],
      ['text/event-stream', undefined, '/f/conversation/prepare'],
    ] as const) {
      const upstream = await rawUpstream((request, socket) => {
        if (request.path === step) endless(request, socket, type);
        else socket.end(rawAnswer(200, '{"token":"t","persona":"chatgpt-paid"}'));
      });
      const app = await start(mount, upstream.url, 'web', injected);
      const response = await fetch(`${app.url}/conversations/new`, {
        method: 'POST',
        headers: { authorization: TOKEN, 'content-type': 'application/json' },
        body: '{"prompt":"hi"}',
      });
      const what = `${step}, ${type}${injected === undefined ? '' : ', injected fetch'}`;
      t.equal(response.status, 502, what);
      t.match(await response.text(), /larger than 1048576 bytes/, what);
      await app.close();
      await upstream.close();
    }
  });

  t.test(`${mount.name}: an error body that stalls is cut after the idle timeout`, async (t) => {
    // A 500 that announces an event stream and then says nothing: it used to hang for ever,
    // holding the client's request (and, with held tokens, the token's message slot).
    const upstream = await rawUpstream((_request, socket) => {
      socket.write('HTTP/1.1 500 X\r\ncontent-type: text/event-stream\r\n\r\ndata: {"detail":');
    });
    const app = await start(mount, upstream.url);
    t.teardown(async () => {
      await app.close();
      await upstream.close();
    });
    const started = Date.now();
    const response = await fetch(`${app.url}/conversations`, { headers: { authorization: TOKEN } });
    t.equal(response.status, 502);
    await response.arrayBuffer();
    t.ok(Date.now() - started < 10_000, 'answered after the idle timeout, not never');
  });

  t.test(`${mount.name}: a slow body after prompt headers is no headers timeout`, async (t) => {
    const upstream = await rawUpstream((_request, socket) => {
      const body = '{"items":[],"total":0,"limit":10,"offset":0}';
      socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      );
      // The body trickles for longer than the headers timeout (1.5 s), each gap under idle.
      let sent = 0;
      const timer = setInterval(() => {
        const next = body.slice(sent, sent + 8);
        sent += next.length;
        if (socket.destroyed || next === '') clearInterval(timer);
        else socket.write(next);
      }, 250);
    });
    const app = await start(mount, upstream.url);
    t.teardown(async () => {
      await app.close();
      await upstream.close();
    });
    const response = await fetch(`${app.url}/conversations`, { headers: { authorization: TOKEN } });
    t.equal(response.status, 200);
    t.same(await response.json(), []);
  });

  t.test(`${mount.name}: odd JSON for a conversation is a 502, never cached`, async (t) => {
    let body = 'null';
    const upstream = await rawUpstream((_request, socket) => socket.end(rawAnswer(200, body)));
    const app = await start(mount, upstream.url);
    t.teardown(async () => {
      await app.close();
      await upstream.close();
    });
    const odd = ['null', '{}', '[]', '"x"', '{"mapping":{"a":null},"current_node":"a"}'];
    for (body of odd) {
      for (let round = 0; round < 2; round++) {
        const before = upstream.requests.length;
        const response = await fetch(`${app.url}/conversations/${ID}/messages`, {
          headers: { authorization: TOKEN },
        });
        t.equal(response.status, 502, `${body}: 502`);
        t.equal(((await response.json()) as { code: string }).code, 'upstream_error');
        t.equal(upstream.requests.length, before + 1, `${body}: asked again, not from a cache`);
      }
    }
    for (body of ['null', '{"items":null}', '[]', '{"items":[null]}']) {
      const response = await fetch(`${app.url}/conversations`, {
        headers: { authorization: TOKEN },
      });
      t.equal(response.status, 502, `list ${body}: 502`);
    }
  });

  t.test(`${mount.name}: a Cloudflare page with status 200 is upstream_blocked`, async (t) => {
    const page = '<!DOCTYPE html><html><title>Just a moment...</title><div id="cf-please-wait">';
    const upstream = await rawUpstream((_request, socket) =>
      socket.end(
        rawAnswer(200, page).replace('content-type: application/json', 'content-type: text/html'),
      ),
    );
    const app = await start(mount, upstream.url);
    t.teardown(async () => {
      await app.close();
      await upstream.close();
    });
    for (const [method, path, payload] of [
      ['GET', '/conversations', undefined],
      ['POST', '/conversations/new', '{"prompt":"hi"}'],
    ] as const) {
      const response = await fetch(`${app.url}${path}`, {
        method,
        headers: { authorization: TOKEN, 'content-type': 'application/json' },
        ...(payload === undefined ? {} : { body: payload }),
      });
      t.equal(response.status, 502, `${method} ${path}`);
      t.equal(((await response.json()) as { code: string }).code, 'upstream_blocked');
    }
  });
}
