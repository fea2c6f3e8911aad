/**
 * Fault: the upstream rewrites text it already streamed (a `v1` replace or truncate of the text,
 * a replace of `/message/id` mid-stream). The reply, the deltas (plus `rewrite` events) and the
 * cached tree behind `/messages` must all show the same final text.
 */
import { sseEvents } from '@chatgpt-rest/test-kit';
import t from 'tap';
import { createHandler } from '@chatgpt-rest/core';
import { rest } from '../../packages/core/test/web-dialect-helpers.js';

const CONVERSATION = 'c0ffee00-0000-4000-8000-000000000001';
const MESSAGE = 'aaaaaaaa-0000-4000-8000-000000000001';
const RENAMED = 'bbbbbbbb-0000-4000-8000-000000000002';

function start(id: string): unknown {
  return {
    v: {
      message: {
        id,
        author: { role: 'assistant' },
        content: { content_type: 'text', parts: [''] },
        status: 'in_progress',
        metadata: { model_slug: 'gpt-5' },
        recipient: 'all',
        channel: null,
      },
      conversation_id: CONVERSATION,
      error: null,
    },
    c: 0,
  };
}

const text = (v: string) => ({ p: '/message/content/parts/0', o: 'append', v });
const finish = {
  p: '',
  o: 'patch',
  v: [
    { p: '/message/status', o: 'replace', v: 'finished_successfully' },
    { p: '/message/metadata', o: 'append', v: { finish_details: { type: 'stop' } } },
  ],
};

/** Streams, by name: each gives `expected` as the final text. */
const STREAMS: Record<string, { deltas: unknown[]; expected: string }> = {
  'truncate of sent text': {
    deltas: [
      text('Hello wor'),
      text('ld'),
      { p: '/message/content/parts/0', o: 'truncate', v: 5 },
      text(', friend'),
    ],
    expected: 'Hello, friend',
  },
  'replace of sent text': {
    deltas: [
      text('The answer is 41'),
      { p: '/message/content/parts/0', o: 'replace', v: 'The answer is 42' },
      text('.'),
    ],
    expected: 'The answer is 42.',
  },
  'replace of /message/id mid-stream': {
    deltas: [text('Once '), { p: '/message/id', o: 'replace', v: RENAMED }, text('upon a time')],
    expected: 'Once upon a time',
  },
};

/** A fetch that answers the message POST with `deltas` as a v1 stream, one event per chunk. */
function upstreamFetch(deltas: unknown[]): typeof fetch {
  return (input) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith('/conversation')) {
      const events = ['event: delta_encoding\ndata: "v1"\n\n']
        .concat([start(MESSAGE), ...deltas, finish].map((d) => `data: ${JSON.stringify(d)}\n\n`))
        .concat('data: [DONE]\n\n');
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = events.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(encoder.encode(next));
        },
      });
      return Promise.resolve(
        new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
      );
    }
    if (url.includes('/gen_title/')) return Promise.resolve(Response.json({ title: 'T' }));
    return Promise.resolve(Response.json({ detail: 'not in this test' }, { status: 500 }));
  };
}

/** What a streaming client holds after the deltas and rewrites. */
function clientText(events: { event: string; data: { text?: string } }[]): string {
  let held = '';
  for (const { event, data } of events) {
    if (event === 'delta') held += data.text ?? '';
    else if (event === 'rewrite') held = data.text ?? '';
  }
  return held;
}

for (const [name, { deltas, expected }] of Object.entries(STREAMS)) {
  t.test(`${name}: reply, stream and cache agree`, async (t) => {
    const handler = createHandler({
      upstream: 'http://127.0.0.1:9/backend-api',
      dialect: 'legacy',
      fetch: upstreamFetch(deltas),
    });
    const json = await rest(handler, 'POST', '/conversations/new', { body: { prompt: 'hi' } });
    t.equal(json.status, 201, json.text);
    t.equal(json.json.response.message, expected, 'the JSON reply');
    const messages = await rest(handler, 'GET', `/conversations/${CONVERSATION}/messages`);
    t.equal(messages.status, 200, messages.text);
    t.equal(messages.json.at(-1).message, expected, '/messages from the cache');

    const streamed = await rest(handler, 'POST', '/conversations/new', {
      body: { prompt: 'hi', stream: true },
    });
    const events = sseEvents(streamed.text);
    t.equal(clientText(events), expected, 'deltas and rewrites');
    t.equal(events.find((e) => e.event === 'reply')?.data.message, expected, 'the streamed reply');
    t.equal(events.at(-1)?.event, 'done');
    if (name.includes('/message/id')) {
      t.notOk(
        events.some((e) => e.event === 'rewrite'),
        'a renamed message is not a rewrite',
      );
      t.equal(json.json.response.parent_id, RENAMED, 'the reply carries the new id');
    } else
      t.ok(
        events.some((e) => e.event === 'rewrite'),
        'the rewrite was announced',
      );
  });
}

t.test('rewrites past the budget end the stream instead of amplifying it', async (t) => {
  const { collectReply, MAX_REWRITE_CHARS } =
    await import('../../packages/core/src/stream/reply-reader.js');
  const big = 'x'.repeat(1024 * 1024);
  const count = Math.ceil(MAX_REWRITE_CHARS / big.length) + 2;
  async function* body(): AsyncGenerator<Uint8Array> {
    const encoder = new TextEncoder();
    yield encoder.encode(
      `data: ${JSON.stringify(start(MESSAGE))}\n\ndata: ${JSON.stringify(text(big))}\n\n`,
    );
    for (let i = 1; i <= count; i++) {
      await Promise.resolve();
      const cut = { p: '/message/content/parts/0', o: 'truncate', v: big.length - i };
      yield encoder.encode(`data: ${JSON.stringify(cut)}\n\n`);
    }
    yield encoder.encode('data: [DONE]\n\n');
  }
  await t.rejects(collectReply(body()), { code: 'upstream_error', message: /rewrote/ });
});

const { createBackendEmulator } = await import('@chatgpt-rest/emulator');

for (const [dialect, encoding] of [
  ['legacy', 'legacy'],
  ['legacy', 'v1'],
  ['web', 'v1'],
] as const) {
  t.test(`emulator rewrite_text fault (${dialect}, ${encoding}): all views agree`, async (t) => {
    const emulator = await createBackendEmulator({ dialect, replyWords: 30 });
    t.teardown(() => emulator.close());
    const handler = createHandler({ upstream: emulator.url, dialect, encoding });
    emulator.inject({
      match: { method: 'POST', path: /\/conversation$/ },
      fault: { type: 'rewrite_text', afterEvents: 3, cut: 4 },
    });
    const streamed = await rest(handler, 'POST', '/conversations/new', {
      body: { prompt: 'tell me a story', stream: true },
    });
    const events = sseEvents(streamed.text);
    const reply = events.find((e) => e.event === 'reply')?.data;
    t.ok(
      events.some((e) => e.event === 'rewrite'),
      'a rewrite was streamed',
    );
    t.equal(clientText(events), reply.message, 'deltas and rewrites give the reply');
    const id = String(reply.conversation_id);
    const cached = await rest(handler, 'GET', `/conversations/${id}/messages`);
    t.equal(cached.json.at(-1).message, reply.message, '/messages from the cache');
    const fresh = createHandler({ upstream: emulator.url, dialect, encoding });
    const stored = await rest(fresh, 'GET', `/conversations/${id}/messages`);
    t.equal(stored.json.at(-1).message, reply.message, 'the upstream stored the same text');
  });
}
