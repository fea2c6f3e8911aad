import { dataEvents, messageBody } from '@chatgpt-rest/test-kit';
import t from 'tap';
import { connect } from 'node:net';
import { createBackendEmulator, parseSse, type Fault } from '../src/index.js';
import { call, legacyText, rawRequest, v1Text } from './emulator-helpers.js';

/** Each status fault, its status, and what its body must match (text pattern or JSON shape). */
const statusCases: [Fault, number, RegExp | Record<string, unknown>][] = [
  [{ type: 'token_expired' }, 401, { detail: { code: 'token_expired' } }],
  [{ type: 'invalid_jwt' }, 401, { detail: { code: 'invalid_jwt' } }],
  [{ type: 'invalid_token' }, 401, { detail: 'invalid_token' }],
  [{ type: 'cloudflare' }, 403, /cf-please-wait[\s\S]*cf_chl_opt/],
  [{ type: 'cloudflare', status: 503 }, 503, /<title>Just a moment\.\.\.<\/title>/],
  [{ type: 'unusual_activity' }, 403, { detail: /^Unusual activity/ }],
  [{ type: 'conversation_not_found' }, 404, { detail: { code: 'conversation_not_found' } }],
  [
    { type: 'model_cap', clearsIn: 42 },
    429,
    { detail: { code: 'model_cap_exceeded', clears_in: 42 } },
  ],
  [{ type: 'rate_limit' }, 429, { detail: 'Too many requests in 1 hour. Try again later.' }],
  [{ type: 'one_at_a_time', status: 409 }, 409, { detail: /^Only one message at a time/ }],
  [{ type: 'server_error' }, 500, /^Internal Server Error$/],
  [{ type: 'server_error', format: 'json' }, 500, { detail: /Something went wrong/ }],
  [{ type: 'model_not_found', status: 400 }, 400, { detail: { code: 'model_not_found' } }],
  [{ type: 'http', status: 502, body: 'Bad Gateway' }, 502, /^Bad Gateway$/],
  [{ type: 'http', status: 418, body: { detail: 'teapot' } }, 418, { detail: 'teapot' }],
];

t.test('status faults answer with the real bodies', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  for (const [fault, status, expected] of statusCases) {
    emulator.inject({ match: { method: 'POST', path: '/conversation' }, fault });
    const reply = await call(emulator.url, 'POST', '/conversation', { body: messageBody('x') });
    t.equal(reply.status, status, fault.type);
    if (expected instanceof RegExp) {
      t.match(reply.text, expected, fault.type);
      t.notOk(reply.json?.detail, 'a text body');
    } else t.match(reply.json, expected, fault.type);
    const type = reply.headers.get('content-type') ?? '';
    if (fault.type === 'cloudflare') t.match(type, /text\/html/);
    else if (expected instanceof RegExp) t.match(type, /text\/plain/);
    else t.match(type, /application\/json/);
  }
  t.equal(
    (await call(emulator.url, 'POST', '/conversation', { body: messageBody('x') })).status,
    200,
    'faults are used up',
  );
});

t.test('scripted faults match by method, path and token, and count their uses', async (t) => {
  const emulator = await createBackendEmulator({
    faults: [{ match: { path: /conversations$/ }, times: 2, fault: { type: 'rate_limit' } }],
  });
  t.teardown(() => emulator.close());
  emulator.inject({
    match: { token: 'victim' },
    fault: { type: 'token_expired' },
    times: Infinity,
  });
  emulator.inject({
    match: { method: 'PATCH', path: '/backend-api/conversations' },
    fault: { type: 'server_error' },
  });
  t.equal(emulator.pendingFaults, 3);
  t.equal((await call(emulator.url, 'GET', '/conversations')).status, 429);
  t.equal((await call(emulator.url, 'GET', '/conversations')).status, 429);
  t.equal((await call(emulator.url, 'GET', '/conversations')).status, 200);
  t.equal((await call(emulator.url, 'GET', '/conversations', { token: 'victim' })).status, 401);
  t.equal((await call(emulator.url, 'GET', '/conversations', { token: 'victim' })).status, 401);
  t.equal(
    (await call(emulator.url, 'PATCH', '/conversations', { body: { is_visible: false } })).status,
    500,
  );
  t.same(emulator.requests.at(-1)!.faults, [{ type: 'server_error' }]);
  t.throws(() => emulator.inject({ fault: { type: 'rate_limit' }, times: 0 }), RangeError);
  emulator.reset();
  t.equal(emulator.pendingFaults, 0);
});

t.test('a per-request X-Emulator-Fault header injects a fault by name or JSON', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  t.equal(
    (
      await call(emulator.url, 'GET', '/conversations', {
        headers: { 'x-emulator-fault': 'model_cap' },
      })
    ).status,
    429,
  );
  t.equal(
    (
      await call(emulator.url, 'GET', '/conversations', {
        headers: { 'x-emulator-fault': '{"type":"http","status":503,"body":"down"}' },
      })
    ).status,
    503,
  );
  t.equal(
    (
      await call(emulator.url, 'GET', '/conversations', {
        headers: { 'x-emulator-fault': '[{"type":"rate_limit"}]' },
      })
    ).status,
    429,
  );
  for (const ignored of ['reset', '{broken', '[1]', ' ']) {
    t.equal(
      (
        await call(emulator.url, 'GET', '/conversations', {
          headers: { 'x-emulator-fault': ignored },
        })
      ).status,
      200,
      ignored,
    );
  }
});

t.test('stall before headers delays the answer without failing it', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  emulator.inject({ fault: { type: 'stall_before_headers', ms: 120 } });
  const started = Date.now();
  const reply = await call(emulator.url, 'GET', '/conversations');
  t.ok(Date.now() - started >= 110);
  t.equal(reply.status, 200);
  // a client giving up during the stall is recorded as an abort
  emulator.inject({ fault: { type: 'stall_before_headers', ms: 5000 } });
  const { done, abort } = rawRequest(`${emulator.url}/conversation`, messageBody('x'));
  done.catch(() => undefined);
  const recorded = await emulator.waitForRequest((r) => r.method === 'POST');
  abort();
  t.equal((await recorded.closed).aborted, true);
});

async function streamOf(emulatorUrl: string, faults: Fault[], v1 = false): Promise<string> {
  const reply = await call(emulatorUrl, 'POST', '/conversation', {
    body: messageBody('fault stream', v1 ? { supported_encodings: ['v1'] } : {}),
    headers: { 'x-emulator-fault': JSON.stringify(faults) },
  });
  return reply.text;
}

t.test(
  'a mid-stream stall pauses after N events and resumes, or holds until the client leaves',
  async (t) => {
    const emulator = await createBackendEmulator({ replyWords: 10 });
    t.teardown(() => emulator.close());
    const started = Date.now();
    const text = await streamOf(emulator.url, [
      { type: 'stall_mid_stream', afterEvents: 2, ms: 150 },
    ]);
    t.ok(Date.now() - started >= 140);
    t.ok(text.trimEnd().endsWith('[DONE]'));
    emulator.inject({ fault: { type: 'stall_mid_stream', afterEvents: 2 } });
    const { done, abort } = rawRequest(`${emulator.url}/conversation`, messageBody('x'));
    const res = await done;
    let received = '';
    res.on('data', (c: Buffer) => (received += c.toString()));
    res.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 150));
    t.equal(parseSse(received).length, 2, 'exactly two events before the stall');
    t.equal(emulator.inFlight, 1);
    abort();
    const closure = await emulator.requests.at(-1)!.closed;
    t.equal(closure.aborted, true);
    await new Promise((r) => setTimeout(r, 20));
    t.equal(emulator.inFlight, 0);
  },
);

t.test(
  'a reset destroys the socket after N events and is not counted as a client abort',
  async (t) => {
    const emulator = await createBackendEmulator({ replyWords: 10 });
    t.teardown(() => emulator.close());
    emulator.inject({ fault: { type: 'reset', afterEvents: 3 } });
    const { done } = rawRequest(`${emulator.url}/conversation`, messageBody('x'));
    const res = await done;
    let received = '';
    const failure = await new Promise<string>((resolve) => {
      res.on('data', (c: Buffer) => (received += c.toString()));
      res.on('error', (e) => resolve(e.message));
      res.on('end', () => resolve('end'));
      res.on('close', () => resolve('close'));
    });
    t.not(failure, 'end', 'the body never ends cleanly');
    t.equal(parseSse(received).length, 3);
    t.equal((await emulator.requests[0]!.closed).aborted, false);
    t.equal(
      emulator.conversations.all()[0]!.mapping[emulator.conversations.all()[0]!.currentNode]!
        .message!.metadata!.finish_details!.type,
      'stop',
    );
  },
);

t.test('a stream can end without [DONE], cut or whole', async (t) => {
  const emulator = await createBackendEmulator({ replyWords: 10 });
  t.teardown(() => emulator.close());
  const whole = await streamOf(emulator.url, [{ type: 'end_without_done' }]);
  t.notMatch(whole, /\[DONE\]/);
  t.equal(legacyText(whole).last.message.status, 'finished_successfully');
  const cut = await streamOf(emulator.url, [{ type: 'end_without_done', afterEvents: 2 }]);
  t.equal(parseSse(cut).length, 2);
});

t.test('a malformed JSON line, heartbeats and pings are inserted between events', async (t) => {
  const emulator = await createBackendEmulator({ replyWords: 10 });
  t.teardown(() => emulator.close());
  const malformed = await streamOf(emulator.url, [{ type: 'malformed_json', afterEvents: 1 }]);
  const blocks = parseSse(malformed);
  t.throws(() => {
    JSON.parse(blocks[1]!.data!);
  });
  t.ok(malformed.trimEnd().endsWith('[DONE]'));
  const heartbeat = await streamOf(emulator.url, [{ type: 'heartbeat', every: 2 }]);
  const beats = parseSse(heartbeat).filter((b) =>
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/.test(b.data ?? ''),
  );
  t.ok(beats.length >= 3);
  t.equal(
    legacyText(heartbeat).text,
    legacyText(await streamOf(emulator.url, [])).text.replace(/.*/, legacyText(heartbeat).text),
  );
  const pingEvent = await streamOf(emulator.url, [{ type: 'ping' }], true);
  t.ok(parseSse(pingEvent).some((b) => b.event === 'ping'));
  t.ok(v1Text(pingEvent).text.length > 0, 'the reply still reads through the pings');
  const pingComment = await streamOf(
    emulator.url,
    [{ type: 'ping', style: 'comment', every: 3 }],
    true,
  );
  t.match(pingComment, /^: ping - \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00$/m);
});

t.test('an in-stream error ends the stream with {"message": null, "error": …}', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const text = await streamOf(emulator.url, [
    { type: 'stream_error', message: 'boom', afterEvents: 2 },
  ]);
  const last = dataEvents(text).at(-1);
  t.equal(last.message, null);
  t.equal(last.error, 'boom');
  t.notMatch(text, /\[DONE\]/);
});

t.test('a moderation event flags a reply, or blocks it and withholds the text', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const flagged = await streamOf(emulator.url, [{ type: 'moderation' }]);
  const verdict = dataEvents(flagged).find((e) => e.type === 'moderation');
  t.match(verdict, { is_completion: true, moderation_response: { flagged: true, blocked: false } });
  t.ok(legacyText(flagged).text.length > 0);
  const blocked = await streamOf(emulator.url, [{ type: 'moderation', blocked: true }]);
  t.equal(
    dataEvents(blocked).find((e) => e.type === 'moderation').moderation_response.blocked,
    true,
  );
  t.equal(legacyText(blocked).text, '');
  for (const profile of ['2026-01', '2025-03', '2026-03-team', '2026-04-image'] as const) {
    emulator.settings.streamProfile = profile;
    const v1Blocked = await streamOf(emulator.url, [{ type: 'moderation', blocked: true }], true);
    t.ok(
      dataEvents(v1Blocked).some((e) => e.moderation_response?.blocked === true),
      profile,
    );
    t.notOk(
      dataEvents(v1Blocked).some((e) => e.type === 'message_stream_complete'),
      profile,
    );
    const v1Flagged = await streamOf(emulator.url, [{ type: 'moderation', flagged: true }], true);
    t.ok(
      dataEvents(v1Flagged).some((e) => e.moderation_response?.flagged === true),
      profile,
    );
  }
  emulator.settings.streamProfile = '2024-10';
  const legacyEcho = await streamOf(emulator.url, [{ type: 'moderation', blocked: true }]);
  t.same(
    dataEvents(legacyEcho).map((e) => String(e.message?.author.role ?? e.type)),
    ['system', 'user', 'moderation'],
  );
});

t.test('a 401 body can arrive inside a 200 event stream', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const reply = await call(emulator.url, 'POST', '/conversation', {
    body: messageBody('x'),
    headers: { 'x-emulator-fault': 'unauthorized_in_stream' },
  });
  t.equal(reply.status, 200);
  t.match(reply.headers.get('content-type'), /text\/event-stream/);
  t.equal(dataEvents(reply.text)[0].detail.code, 'token_expired');
  const raw = await call(emulator.url, 'POST', '/conversation', {
    body: messageBody('x'),
    headers: { 'x-emulator-fault': '{"type":"unauthorized_in_stream","format":"raw"}' },
  });
  t.equal(JSON.parse(raw.text).detail.code, 'token_expired');
});

t.test('CRLF and CR line endings replace LF everywhere in the stream', async (t) => {
  const emulator = await createBackendEmulator({ replyWords: 5 });
  t.teardown(() => emulator.close());
  const crlf = await streamOf(
    emulator.url,
    [{ type: 'line_endings', style: 'crlf' }, { type: 'heartbeat' }],
    true,
  );
  t.notMatch(crlf, /[^\r]\n/);
  t.match(crlf, /\r\n\r\n/);
  t.ok(v1Text(crlf).text.length > 0);
  const cr = await streamOf(emulator.url, [{ type: 'line_endings', style: 'cr' }]);
  t.notMatch(cr, /\n/);
  t.ok(legacyText(cr).text.length > 0);
});

t.test('split_bytes writes every byte of the stream in its own chunk', async (t) => {
  const emulator = await createBackendEmulator({ reply: () => 'é', replyWords: 1 });
  t.teardown(() => emulator.close());
  // A raw socket shows the chunks as they arrive.
  const body = JSON.stringify(messageBody('x'));
  const socket = connect(emulator.port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(
    `POST /backend-api/conversation HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nContent-Type: application/json\r\nX-Emulator-Fault: split_bytes\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  await new Promise((r) => socket.on('close', r));
  t.ok(chunks.length > 200, `${chunks.length} chunks`);
  const raw = Buffer.concat(chunks).toString('latin1');
  // Undo the chunked transfer coding: every chunk must hold exactly one byte.
  const sizes: number[] = [];
  let rest = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  let bytes = '';
  while (rest.length > 0) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (size === 0) break;
    sizes.push(size);
    bytes += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 4 + size);
  }
  t.ok(
    sizes.every((s) => s === 1),
    'one byte per write',
  );
  const text = Buffer.from(bytes, 'latin1').toString('utf8');
  t.match(text, /\[DONE\]/);
  t.match(text, /\\u00e9/);
});

t.test(
  'a long line pads one event to the configured size without changing its content',
  async (t) => {
    const emulator = await createBackendEmulator({ replyWords: 5 });
    t.teardown(() => emulator.close());
    const text = await streamOf(
      emulator.url,
      [{ type: 'long_line', bytes: 2 * 1024 * 1024, afterEvents: 1 }],
      true,
    );
    const longest = Math.max(...text.split('\n').map((l) => l.length));
    t.ok(longest >= 2 * 1024 * 1024);
    t.ok(v1Text(text).text.length > 0);
    const defaults = await streamOf(emulator.url, [{ type: 'long_line' }]);
    t.ok(defaults.length > 2 * 1024 * 1024);
  },
);

t.test('trailing padding spaces follow the option', async (t) => {
  const emulator = await createBackendEmulator({ padding: true, replyWords: 10 });
  t.teardown(() => emulator.close());
  const text = await streamOf(emulator.url, [], true);
  t.match(text, /\} +\n/);
  t.ok(v1Text(text).text.length > 0);
});
