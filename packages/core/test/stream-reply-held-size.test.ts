/**
 * Fault: what one reply stream makes the reader hold had no bound. A `v1` stream appending for
 * ever to a path no client sees (`/message/metadata/junk`) grew the assembled state by 1 GB in
 * 10 s while the client got nothing and the idle timeout never fired (string appends ended at
 * V8's string limit with a RangeError: `internal_error`); a stream of ever new message ids, or of
 * ever new user echoes, grew the reader's maps the same way. Now a reply holds at most
 * MAX_REPLY_CHARS characters of message data and MAX_REPLY_MESSAGES messages (and as many user
 * echoes); past either, the stream fails with `upstream_error`.
 */
import t, { type Test } from 'tap';
import { RestError } from '../src/errors.js';
import * as reader from '../src/stream/reply-reader.js';
import type { ReplyEvent } from '../src/stream/reply-reader.js';

// The bounds are read from the module, not imported by name, so that without the fix the tests
// run (with the values the fix chose) and fail, rather than the import.
const { collectReply, readReply } = reader;
const bounds = reader as Partial<typeof reader>;
const MAX_REPLY_CHARS = bounds.MAX_REPLY_CHARS ?? 16 * 1024 * 1024;
const MAX_REPLY_MESSAGES = bounds.MAX_REPLY_MESSAGES ?? 4096;

const encoder = new TextEncoder();
const KiB = 1024;
const MiB = 1024 * KiB;

/** One SSE event per value: objects as JSON, strings as they are. */
function event(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** A body: `head`, then `count` chunks made by `make` (counted as they are pulled), then `tail`. */
function body(head: string[], count: number, make: (i: number) => string, tail = event('[DONE]')) {
  const read = { chunks: 0 };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (const text of head) yield encoder.encode(text);
    for (let i = 0; i < count; i++) {
      await Promise.resolve();
      read.chunks += 1;
      yield encoder.encode(make(i));
    }
    yield encoder.encode(tail);
  }
  return { chunks: chunks(), read };
}

function message(id: string, role: string, text: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    author: { role },
    content: { content_type: 'text', parts: [text] },
    status: 'in_progress',
    metadata: {},
    recipient: 'all',
    ...extra,
  };
}

const V1_HEAD = [
  'event: delta_encoding\ndata: "v1"\n\n',
  event({ v: { message: message('m1', 'assistant', ''), conversation_id: 'c1' }, c: 0 }),
  event({ p: '/message/content/parts/0', o: 'append', v: 'Hi' }),
];

/** The stream's failure, and the events delivered before it. */
async function failure(chunks: AsyncIterable<Uint8Array>, options: reader.ReadReplyOptions = {}) {
  const delivered: ReplyEvent[] = [];
  try {
    for await (const item of readReply(chunks, options)) delivered.push(item);
  } catch (error) {
    return { error, delivered };
  }
  return { error: undefined, delivered };
}

function isUpstreamError(t: Test, error: unknown, pattern: RegExp): void {
  t.ok(error instanceof RestError, `a RestError (${String(error)})`);
  t.equal((error as RestError).code, 'upstream_error');
  t.equal((error as RestError).upstreamStatus, 200);
  t.match((error as RestError).message, pattern);
}

const JUNK = 'j'.repeat(256 * KiB);
/** Events enough to bring twice the budget. */
const JUNK_EVENTS = Math.ceil((2 * MAX_REPLY_CHARS) / JUNK.length);

for (const [kind, value] of [
  ['array items', [JUNK]],
  ['string', JUNK],
] as const) {
  t.test(`v1 appends of ${kind} to a path no client sees fail past the budget`, async (t) => {
    const { chunks, read } = body(V1_HEAD, JUNK_EVENTS, () =>
      event({ p: '/message/metadata/junk', o: 'append', v: value }),
    );
    const { error, delivered } = await failure(chunks);
    isUpstreamError(t, error, /characters of message data/);
    t.ok(
      read.chunks <= Math.ceil(MAX_REPLY_CHARS / JUNK.length) + 1,
      `stopped after ${read.chunks} of ${JUNK_EVENTS} events`,
    );
    t.same(
      delivered.map((e) => e.type === 'delta' && e.text),
      ['Hi'],
      'what came before is delivered',
    );
  });
}

t.test(
  'the budget is maxReplyChars when given (the core passes limits.upstreamBody)',
  async (t) => {
    const { chunks, read } = body(V1_HEAD, JUNK_EVENTS, () =>
      event({ p: '/message/metadata/junk', o: 'append', v: JUNK }),
    );
    const { error } = await failure(chunks, { maxReplyChars: MiB });
    isUpstreamError(t, error, /more than 1048576 characters of message data/);
    t.ok(read.chunks <= MiB / JUNK.length + 1, `stopped after ${read.chunks} events`);
  },
);

t.test(
  'v1 operations under ever new keys count their paths, however empty their values',
  async (t) => {
    const key = 'k'.repeat(64 * KiB);
    const events = Math.ceil((2 * MAX_REPLY_CHARS) / key.length);
    const { chunks, read } = body(V1_HEAD, events, (i) =>
      event({ p: `/message/metadata/${i}${key}`, o: 'replace', v: '' }),
    );
    isUpstreamError(t, (await failure(chunks)).error, /characters of message data/);
    t.ok(read.chunks < events, `stopped after ${read.chunks} of ${events} events`);
  },
);

t.test('a long reply of text and token counts in one patch each completes', async (t) => {
  // The captured shape (v1-2026-03): every delta appends text and replaces the token count.
  const delta = (i: number) =>
    event({
      o: 'patch',
      v: [
        { p: '/message/content/parts/0', o: 'append', v: 'word ' },
        { p: '/message/metadata/token_count', o: 'replace', v: i },
      ],
    });
  // 120,000 deltas: about 4 MB counted by operation, 15.6 MB (near the bound) counted by event.
  const count = 120_000;
  const { chunks } = body(V1_HEAD, count, delta);
  t.equal((await collectReply(chunks)).text.length, 2 + 5 * count);
});

t.test('v1 messages added under ever new ids fail past the count', async (t) => {
  const { chunks, read } = body(V1_HEAD, 2 * MAX_REPLY_MESSAGES, (i) =>
    event({ v: { message: message(`s${i}`, 'system', '') }, c: i + 1 }),
  );
  const { error } = await failure(chunks);
  isUpstreamError(t, error, new RegExp(`more than ${MAX_REPLY_MESSAGES} messages`));
  t.equal(read.chunks, MAX_REPLY_MESSAGES, 'the first message over the count fails');
});

t.test('legacy snapshots under ever new ids fail past the count', async (t) => {
  const { chunks } = body([], 2 * MAX_REPLY_MESSAGES, (i) =>
    event({ message: message(`s${i}`, 'system', 'x'), conversation_id: 'c1' }),
  );
  isUpstreamError(t, (await failure(chunks)).error, /messages/);
});

t.test('user echoes under ever new ids fail past the count', async (t) => {
  const { chunks } = body(V1_HEAD, 2 * MAX_REPLY_MESSAGES, (i) =>
    event({ type: 'input_message', input_message: message(`u${i}`, 'user', 'hi') }),
  );
  isUpstreamError(t, (await failure(chunks)).error, /user messages/);
});

/** A legacy snapshot of message `id` of about `size` characters (its hidden metadata). */
const bigSnapshot = (id: string, size: number) =>
  event({
    message: message(id, 'assistant', id, { metadata: { junk: 'j'.repeat(size) } }),
    conversation_id: 'c1',
  });

t.test('legacy snapshots count the last one of each message', async (t) => {
  const size = 3 * MiB;
  const count = Math.ceil((2 * MAX_REPLY_CHARS) / size);
  const same = body([], count, () => bigSnapshot('a', size));
  t.equal((await collectReply(same.chunks)).text, 'a', 'one message re-sent holds its last');
  const distinct = body([], count, (i) => bigSnapshot(`m${i}`, size));
  isUpstreamError(t, (await failure(distinct.chunks)).error, /characters of message data/);
  t.ok(distinct.read.chunks < count, `stopped after ${distinct.read.chunks} of ${count}`);
});

t.test('a long answer within the budget completes: text counts by its length', async (t) => {
  // 64 characters of text in events of 110: counted by event, 12 MiB of text would be 20 MiB.
  const part = event({ p: '/message/content/parts/0', o: 'append', v: 'w'.repeat(64) });
  const perChunk = 256;
  const chunks = Math.floor((0.75 * MAX_REPLY_CHARS) / (64 * perChunk));
  t.ok(chunks * perChunk * part.length > MAX_REPLY_CHARS, `${chunks * perChunk} events`);
  const { chunks: source } = body(V1_HEAD, chunks, () => part.repeat(perChunk));
  const reply = await collectReply(source);
  t.equal(reply.text.length, 2 + chunks * perChunk * 64);
});
