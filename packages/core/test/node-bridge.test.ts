import t, { type Test } from 'tap';
import { countedBody, listenOn, pullsWhileClientPauses } from '@chatgpt-rest/test-kit';
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { RestError } from '../src/errors.js';
import {
  createNodeListener,
  toWebRequest,
  writeWebResponse,
  type WebHandler,
} from '../src/node/node-bridge.js';

interface ClientReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface ClientRequest {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
}

async function serve(t: Test, handler: WebHandler, bodyLimit?: number): Promise<number> {
  return listenOn(t, createNodeListener(handler, { bodyLimit }));
}

/** One request with `http.request`, the whole answer read. */
async function send(port: number, options: ClientRequest = {}): Promise<ClientReply> {
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: options.method ?? 'GET',
    path: options.path ?? '/',
    headers: options.headers,
    agent: false,
  });
  req.end(options.body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.setEncoding('utf8');
  let body = '';
  for await (const chunk of res) body += chunk as string;
  return { status: res.statusCode ?? 0, headers: res.headers, body };
}

/** Echoes what the handler saw, so tests can look at the `Request` from the client side. */
const echo: WebHandler = async (request) =>
  Response.json({
    url: request.url,
    method: request.method,
    contentType: request.headers.get('content-type'),
    contentLength: request.headers.get('content-length'),
    hasBody: request.body !== null,
    text: await request.text(),
  });

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const encoder = new TextEncoder();

t.test('the request signal aborts within 100 ms of a client leaving mid-stream', async (t) => {
  const seen = { abortedAt: 0, cancelled: false };
  const port = await serve(t, (request) => {
    request.signal.addEventListener('abort', () => (seen.abortedAt = performance.now()));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('event: delta\ndata: {}\n\n'));
      },
      cancel() {
        seen.cancelled = true;
      },
    });
    return Promise.resolve(
      new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    );
  });
  const req = http.request({ host: '127.0.0.1', port, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  await once(res, 'data');
  const leftAt = performance.now();
  req.destroy();
  for (let i = 0; i < 20 && (seen.abortedAt === 0 || !seen.cancelled); i++) await delay(5);
  t.not(seen.abortedAt, 0, 'the signal aborted');
  t.ok(
    seen.abortedAt - leftAt < 100,
    `aborted ${Math.round(seen.abortedAt - leftAt)} ms after the client left`,
  );
  t.ok(seen.cancelled, 'the response body source was cancelled');
});

t.test('an announced body over the limit is refused with 413 before it is sent', async (t) => {
  let error: unknown;
  const port = await serve(
    t,
    async (request) => {
      try {
        await request.arrayBuffer();
      } catch (caught) {
        error = caught;
        throw caught;
      }
      return new Response('read');
    },
    1024,
  );
  // Only the head goes out: a bridge that waited for the body would never answer.
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) },
    agent: false,
  });
  req.on('error', () => undefined);
  req.flushHeaders();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.setEncoding('utf8');
  let body = '';
  for await (const chunk of res) body += chunk as string;
  req.destroy();
  t.equal(res.statusCode, 413);
  t.match(res.headers['content-type'], /^application\/json/);
  t.equal(res.headers.connection, 'close', 'the unread body is not drained for keep-alive');
  t.equal(JSON.parse(body).code, 'payload_too_large');
  t.ok(error instanceof RestError && error.code === 'payload_too_large', 'the body read failed');
});

t.test(
  'a chunked body growing past the limit gets a 413 JSON and a closed connection',
  async (t) => {
    const port = await serve(t, echo, 64 * 1024);
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      agent: false,
    });
    req.on('error', () => undefined);
    const chunk = Buffer.alloc(16 * 1024, 'a');
    for (let i = 0; i < 8; i++) req.write(chunk);
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.setEncoding('utf8');
    let body = '';
    for await (const part of res) body += part as string;
    req.destroy();
    t.equal(res.statusCode, 413);
    t.equal(res.headers.connection, 'close');
    t.same(JSON.parse(body), {
      error: 'The request body is larger than 65536 bytes.',
      code: 'payload_too_large',
    });
  },
);

t.test('a body within the limit reaches the handler whole', async (t) => {
  const port = await serve(t, echo, 1024);
  const text = JSON.stringify({ prompt: 'é'.repeat(300) });
  const reply = await send(port, {
    method: 'POST',
    path: '/conversations/new',
    headers: { 'content-type': 'application/json' },
    body: text,
  });
  t.equal(reply.status, 200);
  t.equal(JSON.parse(reply.body).text, text);
});

t.test('the body streams to the handler before the client has sent all of it', async (t) => {
  let firstChunk = '';
  const port = await serve(t, async (request) => {
    const reader = request.body!.getReader();
    const first = await reader.read();
    firstChunk = new TextDecoder().decode(first.value);
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    return new Response(`${firstChunk}|${rest}`);
  });
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', agent: false });
  req.write('first');
  for (let i = 0; i < 100 && firstChunk === ''; i++) await delay(5);
  t.equal(firstChunk, 'first', 'the handler read the first chunk while the request was open');
  req.end('second');
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.setEncoding('utf8');
  let body = '';
  for await (const part of res) body += part as string;
  t.equal(body, 'first|second');
});

/** A listener where a stand-in body parser has consumed `req` and set `req.body` first. */
function parsedListener(parse: (raw: string, req: IncomingMessage) => unknown): RequestListener {
  return (req, res) => {
    void (async () => {
      let raw = '';
      req.setEncoding('utf8');
      for await (const chunk of req) raw += chunk as string;
      (req as IncomingMessage & { body?: unknown }).body = parse(raw, req);
      const response = await echo(toWebRequest(req, res));
      await writeWebResponse(res, response);
    })();
  };
}

t.test('a pre-parsed JSON object is sent on as the same JSON', async (t) => {
  const port = await listenOn(
    t,
    parsedListener((raw) => JSON.parse(raw)),
  );
  const sent = { prompt: 'hi', autocontinue: true, nested: { a: [1, 2] } };
  const reply = await send(port, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(sent),
  });
  const seen = JSON.parse(reply.body);
  t.same(JSON.parse(seen.text), sent);
  t.equal(seen.contentType, 'application/json; charset=utf-8');
  t.equal(seen.contentLength, null, 'the stale content-length is dropped');
});

t.test('a pre-parsed form object is sent on as the same form', async (t) => {
  const port = await listenOn(
    t,
    parsedListener((raw) => {
      const fields: Record<string, string | string[]> = {};
      for (const [key, value] of new URLSearchParams(raw)) {
        const had = fields[key];
        fields[key] = had === undefined ? value : [had, value].flat();
      }
      return { ...fields, count: 2, flag: true, none: null };
    }),
  );
  const reply = await send(port, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'prompt=hello+world&autocontinue=TRUE&tag=a&tag=b',
  });
  const seen = JSON.parse(reply.body);
  t.equal(seen.contentType, 'application/x-www-form-urlencoded');
  t.same(
    [...new URLSearchParams(seen.text)],
    [
      ['prompt', 'hello world'],
      ['autocontinue', 'TRUE'],
      ['tag', 'a'],
      ['tag', 'b'],
      ['count', '2'],
      ['flag', 'true'],
      ['none', ''],
    ],
  );
});

t.test('a pre-parsed string body is sent on as it is', async (t) => {
  const port = await listenOn(
    t,
    parsedListener((raw) => raw),
  );
  const reply = await send(port, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'prompt=as is',
  });
  const seen = JSON.parse(reply.body);
  t.equal(seen.text, 'prompt=as is');
  t.equal(seen.contentType, 'text/plain');
});

t.test('a pre-parsed Buffer body is sent on byte for byte', async (t) => {
  const port = await listenOn(
    t,
    parsedListener((raw) => Buffer.from(raw, 'utf8')),
  );
  const reply = await send(port, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"prompt":"ü"}',
  });
  t.equal(JSON.parse(reply.body).text, '{"prompt":"ü"}');
});

t.test('a body given in the options wins over the unread request stream', async (t) => {
  const port = await listenOn(t, (req, res) => {
    const request = toWebRequest(req, res, { body: { from: 'options' } });
    void echo(request).then((response) => writeWebResponse(res, response));
  });
  const reply = await send(port, { method: 'POST', body: 'ignored' });
  const seen = JSON.parse(reply.body);
  t.same(JSON.parse(seen.text), { from: 'options' });
  t.equal(seen.contentType, 'application/json', 'an object without a type is sent as JSON');
});

t.test('an ArrayBuffer body given in the options is sent as bytes', async (t) => {
  const port = await listenOn(t, (req, res) => {
    const request = toWebRequest(req, res, { body: encoder.encode('bytes').buffer });
    void echo(request).then((response) => writeWebResponse(res, response));
  });
  const reply = await send(port, { method: 'POST', body: 'ignored' });
  t.equal(JSON.parse(reply.body).text, 'bytes');
});

t.test('a req.body set without reading the stream is not mistaken for the body', async (t) => {
  // Express 4's parsers do this when the content type does not match theirs.
  const port = await listenOn(t, (req, res) => {
    (req as IncomingMessage & { body?: unknown }).body = {};
    void echo(toWebRequest(req, res)).then((response) => writeWebResponse(res, response));
  });
  const reply = await send(port, { method: 'POST', body: 'the real body' });
  t.equal(JSON.parse(reply.body).text, 'the real body');
});

t.test('a stream consumed without a parsed body gives an empty body', async (t) => {
  const port = await listenOn(t, (req, res) => {
    req.resume();
    req.once('end', () => {
      void echo(toWebRequest(req, res)).then((response) => writeWebResponse(res, response));
    });
  });
  const reply = await send(port, { method: 'POST', body: 'gone' });
  const seen = JSON.parse(reply.body);
  t.equal(seen.hasBody, false);
  t.equal(seen.text, '');
});

t.test('GET and HEAD requests never carry a body', async (t) => {
  const port = await listenOn(t, (req, res) => {
    const request = toWebRequest(req, res, { body: { ignored: true } });
    void echo(request).then((response) => writeWebResponse(res, response));
  });
  const seen = JSON.parse((await send(port, { path: '/x' })).body);
  t.equal(seen.hasBody, false);
  t.equal(seen.method, 'GET');
});

t.test(
  'headers of a streaming response arrive before its first chunk',
  { timeout: 5000 },
  async (t) => {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const port = await serve(t, () => {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          await released;
          controller.enqueue(encoder.encode('event: done\ndata: {}\n\n'));
          controller.close();
        },
      });
      return Promise.resolve(
        new Response(body, {
          headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
        }),
      );
    });
    const response = await fetch(`http://127.0.0.1:${port}/conversations/new`);
    t.equal(response.headers.get('content-type'), 'text/event-stream');
    release();
    t.equal(await response.text(), 'event: done\ndata: {}\n\n');
  },
);

t.test('a body is pulled only as fast as a client that does not read accepts it', async (t) => {
  const counted = countedBody();
  const port = await serve(t, counted.response);
  const stall = await pullsWhileClientPauses(port, counted.pulls, (fn) => t.teardown(fn));
  t.ok(stall.stalled, 'the writer stopped pulling');
  t.ok(stall.pulls > 1, 'something was written');
  t.ok(stall.pulls < 400, `pulled ${stall.pulls} chunks of 1600 (bounded by the buffers)`);
});

t.test('an error in the middle of a streamed body cuts the connection', async (t) => {
  const errors: unknown[] = [];
  const handler: WebHandler = () => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) throw new Error('upstream broke');
        sent = true;
        controller.enqueue(encoder.encode('partial'));
      },
    });
    return Promise.resolve(new Response(body));
  };
  const port = await listenOn(t, createNodeListener(handler, { onError: (e) => errors.push(e) }));
  const req = http.request({ host: '127.0.0.1', port, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const outcome = await new Promise<string>((resolve) => {
    res.on('data', () => undefined);
    res.on('end', () => resolve('clean end'));
    res.on('error', () => resolve('abrupt close'));
    res.on('aborted', () => resolve('abrupt close'));
  });
  t.equal(outcome, 'abrupt close');
  t.equal(errors.length, 1, 'onError was told');
  t.match(errors[0], { message: 'upstream broke' });
});

t.test('a foreign error becomes a 500 internal_error without its message or stack', async (t) => {
  const errors: unknown[] = [];
  const secret = new Error('token sk-secret at /srv/app.ts:12');
  const port = await listenOn(
    t,
    createNodeListener(() => Promise.reject(secret), { onError: (e) => errors.push(e) }),
  );
  const reply = await send(port);
  t.equal(reply.status, 500);
  t.same(JSON.parse(reply.body), { error: 'Internal error', code: 'internal_error' });
  t.notMatch(reply.body, /secret|srv|at /);
  t.same(errors, [secret]);
});

t.test('a thrown RestError becomes its own status and JSON body', async (t) => {
  const errors: unknown[] = [];
  const port = await listenOn(
    t,
    createNodeListener(
      () => Promise.reject(new RestError('rate_limited', 'Slow down.', { retryAfter: 30 })),
      { onError: (e) => errors.push(e) },
    ),
  );
  const reply = await send(port);
  t.equal(reply.status, 429);
  t.equal(reply.headers['retry-after'], '30');
  t.same(JSON.parse(reply.body), { error: 'Slow down.', code: 'rate_limited', retry_after: 30 });
  t.same(errors, [], 'an answer is not a failure to report');
});

t.test('a handler that returns no Response gives a 500', async (t) => {
  const handler = (() => Promise.resolve('oops')) as unknown as WebHandler;
  const port = await listenOn(
    t,
    createNodeListener(handler, {
      onError: () => {
        throw new Error('the logger is broken too');
      },
    }),
  );
  const reply = await send(port);
  t.equal(reply.status, 500);
  t.equal(JSON.parse(reply.body).code, 'internal_error');
});

t.test('several set-cookie headers stay separate', async (t) => {
  const port = await serve(t, () => {
    const headers = new Headers({ 'x-total-count': '42' });
    headers.append('set-cookie', 'a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT');
    headers.append('set-cookie', 'b=2; HttpOnly');
    return Promise.resolve(new Response('ok', { status: 201, statusText: 'Made', headers }));
  });
  const reply = await send(port);
  t.equal(reply.status, 201);
  t.same(reply.headers['set-cookie'], [
    'a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT',
    'b=2; HttpOnly',
  ]);
  t.equal(reply.headers['x-total-count'], '42');
});

t.test('a HEAD response has headers and no body, and its body source is released', async (t) => {
  let cancelled = false;
  const port = await serve(t, () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('not for HEAD'));
      },
      cancel() {
        cancelled = true;
      },
    });
    return Promise.resolve(
      new Response(body, { headers: { 'content-type': 'text/plain', 'content-length': '12' } }),
    );
  });
  const reply = await send(port, { method: 'HEAD' });
  t.equal(reply.status, 200);
  t.equal(reply.headers['content-length'], '12');
  t.equal(reply.body, '');
  t.ok(cancelled);
});

t.test('a 204 response is sent without a body', async (t) => {
  const port = await serve(t, () => Promise.resolve(new Response(null, { status: 204 })));
  const reply = await send(port, { method: 'DELETE', path: '/conversations/all' });
  t.equal(reply.status, 204);
  t.equal(reply.body, '');
});

t.test('a fixed-length body is written whole', async (t) => {
  const text = 'x'.repeat(200_000);
  const port = await serve(t, () =>
    Promise.resolve(new Response(text, { headers: { 'content-length': String(text.length) } })),
  );
  const reply = await send(port);
  t.equal(reply.body, text);
  t.equal(reply.headers['content-length'], '200000');
});

t.test('the url override replaces the path and keeps its query', async (t) => {
  const port = await listenOn(t, (req, res) => {
    const url = (req.url ?? '').replace(/^\/chat/, '');
    void echo(toWebRequest(req, res, { url })).then((response) => writeWebResponse(res, response));
  });
  const reply = await send(port, {
    path: '/chat/conversations?limit=5&offset=10',
    headers: { host: 'api.example.com:8080' },
  });
  t.equal(
    JSON.parse(reply.body).url,
    'http://api.example.com:8080/conversations?limit=5&offset=10',
  );
});

t.test('an override without a leading slash is taken as a path', async (t) => {
  const port = await listenOn(t, (req, res) => {
    void echo(toWebRequest(req, res, { url: 'conversations?x=1' })).then((response) =>
      writeWebResponse(res, response),
    );
  });
  const reply = await send(port, { headers: { host: 'a.test' } });
  t.equal(JSON.parse(reply.body).url, 'http://a.test/conversations?x=1');
});

t.test('query strings, the Host header and x-forwarded-proto make the URL', async (t) => {
  const port = await serve(t, echo);
  const reply = await send(port, {
    path: '/conversations?limit=10&offset=0&q=a%20b',
    headers: { host: 'api.example.com', 'x-forwarded-proto': 'https' },
  });
  t.equal(
    JSON.parse(reply.body).url,
    'https://api.example.com/conversations?limit=10&offset=0&q=a%20b',
  );
});

t.test('a hostile Host header falls back to localhost', async (t) => {
  const port = await serve(t, echo);
  const reply = await send(port, {
    path: '/evil.example/x',
    headers: { host: 'user@evil.example/path', 'x-forwarded-proto': 'gopher' },
  });
  t.equal(JSON.parse(reply.body).url, 'http://localhost/evil.example/x');
});

t.test('a // path is refused with 400, never read as another host', async (t) => {
  const port = await serve(t, echo);
  const reply = await send(port, { path: '//evil.example/x' });
  t.equal(reply.status, 400);
  t.equal(JSON.parse(reply.body).code, 'invalid_request');
});

t.test('an absolute-form request target keeps only its path and query', async (t) => {
  const port = await serve(t, echo);
  const reply = await send(port, {
    path: 'http://other.example/conversations?limit=1',
    headers: { host: 'api.example.com' },
  });
  t.equal(JSON.parse(reply.body).url, 'http://api.example.com/conversations?limit=1');
});

t.test('a TRACE request is answered 405 instead of crashing the bridge', async (t) => {
  const port = await serve(t, echo);
  const reply = await send(port, { method: 'TRACE' });
  t.equal(reply.status, 405);
  t.equal(JSON.parse(reply.body).code, 'method_not_allowed');
});

t.test(
  'a response for a client already gone is not written and its body is cancelled',
  async (t) => {
    let cancelled = false;
    let finished = (): void => undefined;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const port = await listenOn(t, (req, res) => {
      const request = toWebRequest(req, res);
      request.signal.addEventListener('abort', () => {
        const body = new ReadableStream<Uint8Array>({
          cancel() {
            cancelled = true;
          },
        });
        void writeWebResponse(res, new Response(body)).then(finished);
      });
    });
    const req = http.request({ host: '127.0.0.1', port, agent: false });
    req.on('error', () => undefined);
    req.end();
    await delay(20);
    req.destroy();
    await done;
    t.ok(cancelled);
  },
);

t.test('aborting the write signal cancels the body and cuts the connection', async (t) => {
  let cancelled = false;
  const controller = new AbortController();
  const port = await listenOn(t, (_req, res) => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(encoder.encode('first'));
      },
      cancel() {
        cancelled = true;
      },
    });
    void writeWebResponse(res, new Response(body), { signal: controller.signal });
  });
  const req = http.request({ host: '127.0.0.1', port, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  await once(res, 'data');
  const closed = new Promise<string>((resolve) => {
    res.on('end', () => resolve('clean end'));
    res.on('aborted', () => resolve('abrupt close'));
    res.on('error', () => resolve('abrupt close'));
  });
  controller.abort();
  t.equal(await closed, 'abrupt close');
  t.ok(cancelled);
});

t.test('a request that carries repeated headers keeps every value', async (t) => {
  const port = await listenOn(t, (req: IncomingMessage, res: ServerResponse) => {
    const request = toWebRequest(req, res);
    res.end(request.headers.get('set-cookie') ?? '');
  });
  const reply = await send(port, { headers: { 'set-cookie': ['a=1', 'b=2'] } });
  t.equal(reply.body, 'a=1, b=2');
});
