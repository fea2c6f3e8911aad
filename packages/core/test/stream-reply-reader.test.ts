import t from 'tap';
import { RestError } from '../src/errors.js';
import {
  collectReply,
  readReply,
  ReplyAssembler,
  type ReplyCompleteEvent,
  type ReplyEvent,
} from '../src/stream/reply-reader.js';
import { inferErrorStatus, sanitizeExcerpt } from '../src/stream/stream-errors.js';
import { fixtureText as captureText } from '@chatgpt-rest/test-kit';
import { chunks, drain, webStream } from './stream-helpers.js';

/** One SSE event per value: objects as JSON, strings as they are. */
function sse(...events: unknown[]): string {
  return events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('');
}

function legacy(id: string, text: string, extra: Record<string, unknown> = {}) {
  return {
    message: {
      id,
      author: { role: 'assistant', name: null, metadata: {} },
      content: { content_type: 'text', parts: [text] },
      status: 'in_progress',
      metadata: { message_type: 'next', model_slug: 'gpt-4o' },
      recipient: 'all',
      ...extra,
    },
    conversation_id: 'conv-1',
    error: null,
  };
}

function add(message: Record<string, unknown>, c = 0) {
  return { p: '', o: 'add', v: { message, conversation_id: 'conv-2', error: null }, c };
}

function assistant(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    author: { role: 'assistant' },
    content: { content_type: 'text', parts: [''] },
    status: 'in_progress',
    metadata: { model_slug: 'gpt-5-2' },
    recipient: 'all',
    channel: null,
    ...extra,
  };
}

async function events(text: string): Promise<ReplyEvent[]> {
  return drain(readReply(chunks(text)));
}

function deltas(list: ReplyEvent[]): string[] {
  return list.flatMap((e) => (e.type === 'delta' ? [e.text] : []));
}

function completeOf(list: ReplyEvent[]): ReplyCompleteEvent {
  const last = list.at(-1);
  if (last?.type !== 'complete') throw new Error('no complete event');
  return last;
}

async function failure(text: string): Promise<RestError> {
  try {
    await events(text);
  } catch (error) {
    if (error instanceof RestError) return error;
    throw error;
  }
  throw new Error('the stream did not fail');
}

t.test(
  'legacy snapshots become the new text of each event, reset when the message id changes',
  async (t) => {
    const list = await events(
      sse(
        legacy('a', 'Hel'),
        legacy('a', 'Hello'),
        legacy('a', 'Hello'),
        legacy('b', 'Bye'),
        legacy('b', 'Bye now', {
          status: 'finished_successfully',
          metadata: { model_slug: 'gpt-4o', finish_details: { type: 'stop' } },
        }),
        '[DONE]',
      ),
    );
    t.same(deltas(list), ['Hel', 'lo', 'Bye', ' now']);
    const done = completeOf(list);
    t.equal(done.text, 'HelloBye now');
    t.equal(done.message.id, 'b');
    t.same(done.message.content.parts, ['HelloBye now']);
    t.same(done.message.metadata?.finish_details, { type: 'stop' });
    t.equal(done.conversationId, 'conv-1');
    t.equal(done.encoding, 'legacy');
  },
);

t.test('a legacy snapshot that no longer starts with the sent text is a rewrite', async (t) => {
  const text = sse(legacy('a', 'Hello'), legacy('a', 'Help'), legacy('a', 'Help me'), '[DONE]');
  const list = await drain(readReply(chunks(...text.split(/(?<=\n\n)/))));
  t.same(
    list.filter((e) => e.type === 'delta' || e.type === 'rewrite').map((e) => [e.type, e.text]),
    [
      ['delta', 'Hello'],
      ['rewrite', 'Help'],
      ['delta', ' me'],
    ],
  );
  t.equal(completeOf(list).text, 'Help me');
  const oneChunk = await events(text);
  t.same(
    oneChunk.filter((e) => e.type === 'delta' || e.type === 'rewrite').map((e) => [e.type, e.text]),
    [
      ['rewrite', 'Help'],
      ['delta', ' me'],
    ],
    'in one chunk, the rewrite replaces the deltas before it',
  );
});

t.test('the user echo is reported once, system and hidden messages are skipped', async (t) => {
  const user = {
    id: 'u1',
    author: { role: 'user' },
    content: { content_type: 'text', parts: ['hi'] },
  };
  const list = await events(
    sse(
      { message: { ...user, id: 's1', author: { role: 'system' } }, conversation_id: 'conv-1' },
      { message: user, conversation_id: 'conv-1' },
      { type: 'input_message', input_message: user },
      {
        message: {
          id: 'u0',
          author: { role: 'user' },
          content: { content_type: 'user_editable_context' },
        },
      },
      legacy('a', 'Hi'),
      '[DONE]',
    ),
  );
  const echoes = list.filter((e) => e.type === 'user_message');
  t.equal(echoes.length, 1);
  t.equal(echoes[0]?.message.id, 'u1');
  t.equal(completeOf(list).text, 'Hi');
});

t.test('the user echo of a typed input_message is reported when no add carries it', async (t) => {
  const list = await events(
    sse(
      {
        type: 'input_message',
        input_message: {
          id: 'u2',
          author: { role: 'user' },
          content: { content_type: 'text', parts: ['q'] },
        },
      },
      { type: 'input_message', input_message: 'odd' },
      legacy('a', 'A'),
      '[DONE]',
    ),
  );
  t.same(
    list.filter((e) => e.type === 'user_message').map((e) => e.message.id),
    ['u2'],
  );
});

t.test('the earliest legacy shape with message.role and no status is accepted', async (t) => {
  const old = {
    message: {
      id: 'x',
      role: 'assistant',
      user: null,
      content: { content_type: 'text', parts: ['Old text'] },
      end_turn: null,
      metadata: {},
      recipient: 'all',
    },
    conversation_id: 'conv-0',
    error: null,
  };
  const done = completeOf(await events(sse(old, '[DONE]')));
  t.equal(done.text, 'Old text');
  t.same(done.message.author, { role: 'assistant' });
});

t.test(
  'v1 deltas build the reply: appends, bare values, a final patch and two titles',
  async (t) => {
    const list = await events(
      [
        'event: delta_encoding\ndata: "v1"\n\n',
        sse(
          add(assistant('m1')),
          { type: 'message_marker', message_id: 'm1', marker: 'user_visible_token' },
          { p: '/message/content/parts/0', o: 'append', v: 'Here' },
          { v: ' is' },
          { type: 'title_generation', title: 'First', conversation_id: 'conv-2' },
          {
            p: '',
            o: 'patch',
            v: [
              { p: '/message/content/parts/0', o: 'append', v: ' it.' },
              { p: '/message/status', o: 'replace', v: 'finished_successfully' },
              { p: '/message/end_turn', o: 'replace', v: true },
              {
                p: '/message/metadata',
                o: 'append',
                v: { finish_details: { type: 'stop', stop_tokens: [200002] } },
              },
            ],
          },
          { type: 'message_stream_complete', conversation_id: 'conv-2' },
          { type: 'title_generation', title: 'Second', conversation_id: 'conv-2' },
          { type: 'some_future_event', x: 1 },
          '[DONE]',
        ),
      ].join(''),
    );
    t.same(deltas(list), ['Here', ' is', ' it.']);
    t.same(
      list.filter((e) => e.type === 'title').map((e) => e.title),
      ['First', 'Second'],
    );
    const done = completeOf(list);
    t.equal(done.text, 'Here is it.');
    t.equal(done.title, 'Second');
    t.equal(done.encoding, 'v1');
    t.equal(done.message.status, 'finished_successfully');
    t.equal(done.message.metadata?.model_slug, 'gpt-5-2');
    t.same(done.message.metadata?.finish_details, { type: 'stop', stop_tokens: [200002] });
    t.equal(done.conversationId, 'conv-2');
  },
);

t.test('the encoding is detected from the data alone, without event lines', async (t) => {
  const v1 = completeOf(
    await events(
      sse(add(assistant('m1')), { p: '/message/content/parts/0', o: 'append', v: 'x' }, '[DONE]'),
    ),
  );
  t.equal(v1.encoding, 'v1');
  t.equal(v1.text, 'x');
  const marked = completeOf(await events(sse('"v1"', legacy('a', 'y'), '[DONE]')));
  t.equal(marked.encoding, 'v1');
  t.equal(marked.text, 'y');
});

t.test(
  'a patch that rewrites sent text emits a rewrite; appends after it are deltas',
  async (t) => {
    const text = sse(
      add(assistant('m1')),
      { p: '/message/content/parts/0', o: 'append', v: 'Hello' },
      { p: '/message/content/parts/0', o: 'replace', v: 'Hello world' },
      { p: '/message/content/parts/0', o: 'truncate', v: 5 },
      { p: '/message/content/parts/0', o: 'append', v: ' there!' },
      '[DONE]',
    );
    const list = await drain(readReply(chunks(...text.split(/(?<=\n\n)/))));
    t.same(
      list.filter((e) => e.type === 'delta' || e.type === 'rewrite').map((e) => [e.type, e.text]),
      [
        ['delta', 'Hello'],
        ['delta', ' world'],
        ['rewrite', 'Hello'],
        ['delta', ' there!'],
      ],
      'a replace that extends the text is a delta; a truncate is a rewrite',
    );
    t.equal(completeOf(list).text, 'Hello there!');
  },
);

t.test('hidden assistant output is not part of the reply', async (t) => {
  const list = await events(
    sse(
      add(
        assistant('tool-call', {
          recipient: 'browser',
          content: { content_type: 'text', parts: ['search x'] },
        }),
      ),
      add(
        assistant('analysis', {
          channel: 'analysis',
          content: { content_type: 'text', parts: ['thinking'] },
        }),
      ),
      add(assistant('thoughts', { content: { content_type: 'thoughts', thoughts: [] } })),
      add(assistant('code', { content: { content_type: 'code', text: 'print(1)' } })),
      add(assistant('hidden', { metadata: { is_visually_hidden_from_conversation: true } })),
      add(assistant('final', { channel: 'final' })),
      { p: '/message/content/parts/0', o: 'append', v: 'Answer' },
      add({
        id: 'tool',
        author: { role: 'tool' },
        content: { content_type: 'text', parts: ['tool output'] },
      }),
      '[DONE]',
    ),
  );
  t.same(deltas(list), ['Answer']);
  const done = completeOf(list);
  t.equal(done.text, 'Answer');
  t.equal(done.message.id, 'final');
  t.equal(done.message.channel, 'final');
});

t.test('the texts of several visible assistant messages are concatenated', async (t) => {
  const list = await events(
    sse(
      add(assistant('m1')),
      { p: '/message/content/parts/0', o: 'append', v: 'One. ' },
      { v: { message: assistant('m2'), conversation_id: 'conv-2' }, c: 1 },
      { p: '/message/content/parts/0', o: 'append', v: 'Two.' },
      '[DONE]',
    ),
  );
  t.same(deltas(list), ['One. ', 'Two.']);
  const done = completeOf(list);
  t.equal(done.text, 'One. Two.');
  t.equal(done.message.id, 'm2');
  t.same(done.message.content.parts, ['One. Two.']);
});

t.test(
  'a stream with no visible text completes with an empty reply and the last tool message',
  async (t) => {
    const done = completeOf(
      await events(
        sse(
          add(
            assistant('code', {
              recipient: 'python',
              content: { content_type: 'code', text: '1' },
            }),
          ),
          add({
            id: 'tool',
            author: { role: 'tool' },
            content: { content_type: 'text', parts: ['done'] },
          }),
          '[DONE]',
        ),
      ),
    );
    t.equal(done.text, '');
    t.equal(done.message.id, 'tool');
  },
);

t.test('a stream with [DONE] but no message at all is an upstream_error', async (t) => {
  const error = await failure(sse({ type: 'message_stream_complete' }, '[DONE]'));
  t.equal(error.code, 'upstream_error');
  t.match(error.message, /without a reply/);
});

t.test(
  'pings, heartbeats, empty data and malformed lines are skipped; bad lines are counted',
  async (t) => {
    const list = await events(
      [
        'event: ping\ndata: {}\n\n',
        'data: 2023-02-21 07:00:21.653311\n\n',
        'data: 2024-04-27T01:35:43Z\n\n',
        'data: \n\n',
        'data: {"message": {"id": "a", "broken\n\n',
        'data: 42\n\n',
        'data: "another string"\n\n',
        sse(legacy('a', 'ok')),
        'data: [DONE]   \n\n',
      ].join(''),
    );
    const done = completeOf(list);
    t.equal(done.text, 'ok');
    t.equal(done.skippedLines, 1);
  },
);

t.test(
  'trailing spaces after the JSON, \\u escapes and raw UTF-8 give the same text',
  async (t) => {
    const escaped =
      'data: {"p": "", "o": "add", "v": {"message": {"id": "m", "author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["\\u597d \\ud83d\\ude80"]}, "recipient": "all"}}}    \n\n';
    const raw =
      'data: {"p": "", "o": "add", "v": {"message": {"id": "m", "author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["好 🚀"]}, "recipient": "all"}}}\n\n';
    const a = completeOf(await events(`${escaped}data: [DONE]\n\n`));
    const b = completeOf(await events(`${raw}data: [DONE]\n\n`));
    t.equal(a.text, '好 🚀');
    t.equal(b.text, a.text);
  },
);

t.test(
  'events joined by single newlines (one multi-line data) are read line by line',
  async (t) => {
    const text = `data: ${JSON.stringify(legacy('a', 'Joined'))}\ndata: [DONE]`;
    const list = await events(text);
    t.equal(completeOf(list).text, 'Joined');
    const junk = await events(
      `data: not json\ndata: ${JSON.stringify(legacy('a', 'x'))}\n\ndata: [DONE]\n\n`,
    );
    t.equal(completeOf(junk).skippedLines, 1);
  },
);

t.test('comments are passed on as comment events', async (t) => {
  const list = await events(`: ping - 2025-03-06\n\n${sse(legacy('a', 'x'), '[DONE]')}`);
  t.same(list[0], { type: 'comment', text: 'ping - 2025-03-06' });
});

t.test('a stream that ends without [DONE] is an upstream_error', async (t) => {
  const error = await failure(sse(legacy('a', 'cut off')));
  t.equal(error.code, 'upstream_error');
  t.equal(error.message, 'The upstream stream ended before [DONE].');
  t.equal(error.status, 502);
  const empty = await failure('');
  t.equal(empty.code, 'upstream_error');
});

t.test(
  'an in-stream error ends the read with upstream_error and no HTML or token in the message',
  async (t) => {
    const plain = await failure(
      sse(legacy('a', 'x'), { message: null, error: 'Something went wrong, please retry.' }),
    );
    t.equal(plain.code, 'upstream_error');
    t.match(plain.message, /Something went wrong/);
    const html = await failure(
      sse({ message: null, error: '<html><body>cf-ray 1234</body></html>' }),
    );
    t.equal(html.message, 'The upstream reported an error in the stream.');
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeQ';
    const secret = await failure(sse({ message: null, error: `bad token ${token} here` }));
    t.notMatch(secret.message, token);
    t.notMatch(secret.message, 'eyJ');
  },
);

t.test('an error_code field or an error object is an in-stream error', async (t) => {
  const coded = await failure(
    sse({ message: null, error: null, error_code: 'content_policy_violation' }),
  );
  t.equal(coded.code, 'upstream_error');
  t.match(coded.message, /content_policy_violation/);
  const inAdd = await failure(
    sse({ p: '', o: 'add', v: { message: null, error: null, error_code: 'overloaded' } }),
  );
  t.equal(inAdd.code, 'upstream_error');
  const expired = await failure(
    sse({ message: null, error: { code: 'token_expired', message: 'expired' } }),
  );
  t.equal(expired.code, 'token_expired');
  const bare = await failure(sse({ message: null, error: { type: 'x' } }));
  t.equal(bare.message, 'The upstream reported an error in the stream.');
});

t.test('a 401 detail body inside a 200 stream becomes token_expired', async (t) => {
  const body = captureText('conversation-post-2022-12-error-401-token-expired.json').trim();
  const error = await failure(`data: ${body.replace(/\s*\n\s*/g, ' ')}\n\n`);
  t.equal(error.code, 'token_expired');
  t.equal(error.status, 401);
  t.notMatch(error.message, 'Your authentication token');
});

t.test('other detail bodies in a stream keep their meaning or become upstream_error', async (t) => {
  const limited = await failure(sse({ detail: 'Too many requests in 1 hour. Try again later.' }));
  t.equal(limited.code, 'rate_limited');
  const cap = await failure(sse({ detail: { code: 'model_cap_exceeded', clears_in: 60 } }));
  t.equal(cap.code, 'rate_limited');
  t.equal(cap.retryAfter, 60);
  const unknown = await failure(
    sse({ detail: { message: 'The server had an error', type: 'server_error' } }),
  );
  t.equal(unknown.code, 'upstream_error');
  t.equal(unknown.message, 'The upstream reported an error inside the stream.');
});

t.test(
  'a blocked moderation ends the read with upstream_error; an unblocked one is ignored',
  async (t) => {
    const ok = completeOf(
      await events(
        sse(
          legacy('a', 'fine'),
          {
            conversation_id: 'conv-1',
            message_id: 'a',
            is_completion: true,
            moderation_response: { flagged: false, blocked: false, moderation_id: 'modr-1' },
          },
          '[DONE]',
        ),
      ),
    );
    t.equal(ok.text, 'fine');
    const blocked = await failure(
      sse(legacy('a', 'bad'), {
        type: 'moderation',
        conversation_id: 'conv-1',
        moderation_response: { flagged: true, blocked: true, moderation_id: 'modr-2' },
      }),
    );
    t.equal(blocked.code, 'upstream_error');
    t.match(blocked.message, /withheld by the upstream moderation/);
  },
);

t.test('a 64 KiB legacy reply yields one delta per snapshot and the whole text', async (t) => {
  const piece = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_';
  let text = '';
  const parts: string[] = [];
  for (let i = 0; i < 1024; i++) {
    text += piece;
    parts.push(sse(legacy('long', text)));
  }
  parts.push(sse('[DONE]'));
  const list = await events(parts.join(''));
  const d = deltas(list);
  t.equal(d.length, 1024);
  t.ok(d.every((delta) => delta === piece));
  t.equal(completeOf(list).text.length, 65536);
});

t.test('a 64 KiB v1 reply of small appends yields each append as it came', async (t) => {
  const parts = [
    sse(add(assistant('long')), { p: '/message/content/parts/0', o: 'append', v: '' }),
  ];
  for (let i = 0; i < 16384; i++) parts.push(sse({ v: 'wxyz' }));
  parts.push(sse('[DONE]'));
  const list = await events(parts.join(''));
  t.equal(deltas(list).length, 16384);
  t.equal(completeOf(list).text.length, 65536);
});

t.test('anything after [DONE] is not read, and the body is cancelled', async (t) => {
  let cancelled = false;
  const body = webStream(
    [sse(legacy('a', 'x'), '[DONE]'), sse({ message: null, error: 'late' })],
    () => {
      cancelled = true;
    },
  );
  const done = await collectReply(body);
  t.equal(done.text, 'x');
  t.ok(cancelled);
});

t.test('collectReply returns the text, message, conversation id and title', async (t) => {
  const reply = await collectReply(
    chunks(
      sse(
        legacy('a', 'Hi'),
        { type: 'title_generation', title: 'T', conversation_id: 'conv-1' },
        '[DONE]',
      ),
    ),
  );
  t.same(
    {
      text: reply.text,
      id: reply.message.id,
      conversationId: reply.conversationId,
      title: reply.title,
    },
    { text: 'Hi', id: 'a', conversationId: 'conv-1', title: 'T' },
  );
  const untitled = await collectReply(chunks(sse(legacy('a', 'Hi'), '[DONE]')));
  t.notOk('title' in untitled);
});

t.test('the buffer limit and the abort signal reach the SSE reader', async (t) => {
  await t.rejects(collectReply(chunks(`data: ${'x'.repeat(100)}\n\n`), { maxBufferSize: 50 }), {
    code: 'upstream_error',
  });
  const controller = new AbortController();
  controller.abort(new Error('client left'));
  await t.rejects(collectReply(chunks(sse('[DONE]')), { signal: controller.signal }), {
    message: 'client left',
  });
});

t.test('the assembler ignores everything once [DONE] was read', (t) => {
  const assembler = new ReplyAssembler();
  assembler.push({
    type: 'message',
    event: undefined,
    id: undefined,
    data: JSON.stringify(legacy('a', 'x')),
  });
  assembler.push({ type: 'message', event: undefined, id: undefined, data: '[DONE]' });
  t.ok(assembler.done);
  t.same(
    assembler.push({ type: 'message', event: undefined, id: undefined, data: '{"error": "late"}' }),
    [],
  );
  t.equal(assembler.complete().text, 'x');
  t.end();
});

t.test('error excerpts drop HTML, tokens and control characters and stay short', (t) => {
  t.equal(sanitizeExcerpt('<!DOCTYPE html><title>Just a moment</title>'), '');
  t.equal(sanitizeExcerpt('Authorization: Bearer abc.def'), 'Authorization: Bearer [redacted]');
  t.equal(sanitizeExcerpt('key sk-abcdefghijklmnop used'), 'key [redacted] used');
  t.equal(sanitizeExcerpt(`blob ${'A'.repeat(60)} end`), 'blob [redacted] end');
  t.equal(sanitizeExcerpt('line\none\u0000two'), 'line one two');
  const long = sanitizeExcerpt('word '.repeat(100));
  t.equal(long.length, 160);
  t.ok(long.endsWith('…'));
  t.end();
});

t.test('the status of an in-stream error is inferred from its code or message', (t) => {
  t.equal(inferErrorStatus({ code: 'invalid_jwt' }), 401);
  t.equal(inferErrorStatus('invalid_token'), 401);
  t.equal(inferErrorStatus({ code: 'conversation_not_found' }), 404);
  t.equal(
    inferErrorStatus('Only one message at a time. Please allow any other responses to complete.'),
    429,
  );
  t.equal(inferErrorStatus('Unusual activity has been detected from your device.'), 403);
  t.equal(inferErrorStatus(42), undefined);
  t.end();
});
