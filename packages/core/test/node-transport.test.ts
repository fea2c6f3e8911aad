import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { createHandler } from '../src/index.js';
import { callControl } from '../src/upstream/call-control.js';
import { createNodeFetch, forwardingFetch, isNodeFetch } from '../src/upstream/node-transport.js';

/** A server that answers every request with the path and headers it got. */
async function echoServer(t: Test): Promise<string> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-twice': ['a', 'b'] });
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

type Echo = { url: string; headers: IncomingHttpHeaders };

t.test('the transport sends each path as URL would, plain paths or not', async (t) => {
  const origin = await echoServer(t);
  const fetch = createNodeFetch({ connectTimeout: 5_000 });
  const cases: [string, string][] = [
    [
      '/backend-api/conversations?offset=0&limit=10&order=updated',
      '/backend-api/conversations?offset=0&limit=10&order=updated',
    ],
    ['/backend-api/conversation/abc', '/backend-api/conversation/abc'],
    // What is not a plain path is normalised as `URL` does it, never sent raw.
    ['/backend-api/../conversations', '/conversations'],
    ['/backend-api/./x', '/backend-api/x'],
    ['/backend-api/%2e%2E/conversations', '/conversations'],
    ['/a b', '/a%20b'],
    ['/x#fragment', '/x'],
    ['', '/'],
    ['?q=1', '/?q=1'],
  ];
  for (const [path, expected] of cases) {
    const response = await fetch(origin + path);
    t.equal(((await response.json()) as Echo).url, expected, JSON.stringify(path));
  }
});

t.test(
  'the transport sends a record of headers lowercased, and keeps repeated answers',
  async (t) => {
    const origin = await echoServer(t);
    const fetch = createNodeFetch({ connectTimeout: 5_000 });
    const response = await fetch(`${origin}/h`, {
      headers: { 'X-Mixed-Case': 'yes', accept: 'a/b', 'x-padded': ' read from a file\n' },
    });
    const { headers } = (await response.json()) as Echo;
    t.equal(headers['x-mixed-case'], 'yes');
    t.equal(headers.accept, 'a/b');
    t.equal(headers['x-padded'], 'read from a file', 'trimmed as Headers trims');
    t.equal(response.headers.get('x-twice'), 'a, b', 'both values of a repeated header');
    t.equal(response.headers.get('content-type'), 'application/json');
    const fromHeaders = await fetch(`${origin}/h`, {
      headers: new Headers({ 'X-From': 'headers' }),
    });
    t.equal(((await fromHeaders.json()) as Echo).headers['x-from'], 'headers');
    const fromPairs = await fetch(`${origin}/h`, { headers: [['X-Pair', 'p']] });
    t.equal(((await fromPairs.json()) as Echo).headers['x-pair'], 'p');
  },
);

t.test('a header value Node refuses fails the call, never the process', async (t) => {
  const origin = await echoServer(t);
  const fetch = createNodeFetch({ connectTimeout: 5_000 });
  await t.rejects(fetch(`${origin}/h`, { headers: { 'x-bad': 'a\r\nb' } }));
  await t.rejects(fetch(`${origin}/h`, { headers: { 'bad name': 'v' } }));
});

t.test(
  'headersTimeout fails a call whose headers are late, and only until they come',
  async (t) => {
    const server = createServer((req, res) => {
      if (req.url === '/late') {
        setTimeout(() => res.end('{}'), 300);
        return;
      }
      // Headers at once, the body after longer than the headers timeout.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      setTimeout(() => res.end('{"late":"body"}'), 300);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => {
      server.closeAllConnections();
      server.close();
    });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const fetch = createNodeFetch({ connectTimeout: 5_000 });
    const failure = await fetch(`${origin}/late`, { headersTimeout: 100 } as RequestInit).then(
      () => undefined,
      (error: unknown) => error as { cause?: { code?: string } },
    );
    t.equal(failure?.cause?.code, 'EUPSTREAMHEADERSTIMEOUT');
    const answered = await fetch(`${origin}/prompt`, { headersTimeout: 100 } as RequestInit);
    t.same(await answered.json(), { late: 'body' }, 'a slow body after prompt headers is read');
  },
);

t.test('a call on the built-in transport aborts on the client signal itself', (t) => {
  const client = new AbortController();
  const direct = callControl(client.signal, 1000, true);
  t.equal(direct.signal, client.signal, 'no signal of its own');
  direct.end();
  const linked = callControl(client.signal, 1000, false);
  t.not(linked.signal, client.signal);
  client.abort(new Error('gone'));
  t.ok(linked.signal.aborted, 'a linked call aborts with the client');
  linked.end();
  linked.release();
  t.end();
});

t.test('a wrapper that hands init on is taken for the transport it wraps, and only then', (t) => {
  const transport = createNodeFetch({ connectTimeout: 5_000 });
  t.ok(isNodeFetch(transport));
  const observe = (input: string, init?: RequestInit) => transport(input, init);
  t.notOk(isNodeFetch(observe), 'an unmarked wrapper may change init: a controller of its own');
  t.ok(isNodeFetch(forwardingFetch(transport, observe)));
  const other = (input: string) => fetch(input);
  t.notOk(isNodeFetch(forwardingFetch(fetch, other)), 'wrapping another fetch marks nothing');
  t.end();
});

for (const [name, injected] of [
  ['the default transport', undefined],
  ['an injected fetch', globalThis.fetch],
] as const) {
  t.test(
    `a trickling error stream is read no longer than the idle timeout in all (${name})`,
    async (t) => {
      // A 503 as an event stream that never ends, a comment well within the idle timeout each time:
      // the stream's idle guard never fires, so only a deadline on the whole read ends it.
      const upstream = { closed: false };
      const server = createServer((req, res) => {
        res.writeHead(503, { 'content-type': 'text/event-stream' });
        const timer = setInterval(() => res.write(': still here\n\n'), 50);
        req.socket.once('close', () => {
          clearInterval(timer);
          upstream.closed = true;
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.teardown(() => {
        server.closeAllConnections();
        server.close();
      });
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const handler = createHandler({
        upstream: `${origin}/backend-api`,
        dialect: 'legacy',
        timeouts: { idle: 300, headers: 5_000 },
        ...(injected === undefined ? {} : { fetch: injected }),
      });
      const started = performance.now();
      const response = await handler(
        new Request('http://localhost/conversations', {
          headers: { authorization: 'Bearer tok-1234' },
        }),
      );
      const elapsed = performance.now() - started;
      t.equal(response.status, 502, "the upstream's 5xx is answered as a 502");
      t.ok(
        elapsed < 3_000,
        `answered after the deadline, not the stream's end (${elapsed.toFixed(0)} ms)`,
      );
      await response.arrayBuffer();
      for (let i = 0; i < 50 && !upstream.closed; i++) await new Promise((r) => setTimeout(r, 20));
      t.ok(upstream.closed, 'the upstream request was ended');
    },
  );
}

t.test(
  'a whole body is read within the idle timeout, whether it came with its head or not',
  async (t) => {
    // Its idle timer is set only for a body still incomplete after the bytes that brought the head
    // (a short answer usually needs none): one that stops half-way, or never starts, still fails.
    const body = '{"items":[],"total":0}';
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      if (req.url === '/whole') res.end(body);
      else if (req.url === '/half') res.write(body.slice(0, 8));
      else if (req.url === '/later') setTimeout(() => res.end(body), 100);
      else res.flushHeaders();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => {
      server.closeAllConnections();
      server.close();
    });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const fetch = createNodeFetch({ connectTimeout: 5_000, idleTimeout: 300 });
    t.equal(await (await fetch(`${origin}/whole`)).text(), body);
    t.equal(await (await fetch(`${origin}/later`)).text(), body, 'a body after its head');
    for (const path of ['/half', '/none']) {
      const started = Date.now();
      const failure = await fetch(origin + path).then(
        () => undefined,
        (error: unknown) => error,
      );
      t.match(failure, { cause: { code: 'EUPSTREAMIDLE' } }, path);
      t.ok(Date.now() - started < 3_000, `${path}: cut after the idle timeout`);
    }
  },
);
