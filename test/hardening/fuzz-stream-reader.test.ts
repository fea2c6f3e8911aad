/**
 * Property-based fuzz of the stream reader (fast-check): random splits of the real captures,
 * random valid streams in both encodings (with pings, comments, heartbeats, CR/CRLF, bytes cut
 * anywhere, rewrites), random garbage and random `v1` patch sequences. The reader must never throw
 * anything but a RestError, never hang, and always give the reply text of a valid stream; what a
 * client holds after the deltas and rewrites must be that text.
 */
import t from 'tap';
import fc from 'fast-check';
import { isRestError } from '../../packages/core/src/errors.js';
import { readReply, type ReplyEvent } from '../../packages/core/src/stream/reply-reader.js';
import { fixtureBytes as capture } from '@chatgpt-rest/test-kit';
import {
  COMPLETE,
  PARTIAL_WITH_DONE,
  sha256,
} from '../../packages/core/test/stream-captures-expected.js';

/**
 * A fixed seed keeps CI deterministic; `FUZZ_SEED=<n>` explores others (a failure prints the seed
 * and path that replay it).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);

/** Each read must end well within this (they take milliseconds); past it, it hung. */
const HANG_MS = 5000;

/** The input cut at the given byte offsets, one chunk each, with an await between chunks. */
async function* cut(bytes: Uint8Array, at: number[]): AsyncGenerator<Uint8Array> {
  let from = 0;
  for (const to of [...new Set(at)].sort((a, b) => a - b)) {
    if (to <= from || to >= bytes.length) continue;
    await Promise.resolve();
    yield bytes.subarray(from, to);
    from = to;
  }
  yield bytes.subarray(from);
}

/** Every event of a read, or the error it threw; fails on a hang. */
async function readAll(source: AsyncIterable<Uint8Array>): Promise<{
  events: ReplyEvent[];
  error?: unknown;
}> {
  const events: ReplyEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the read hung for ${HANG_MS} ms`)), HANG_MS);
  });
  const run = (async () => {
    for await (const event of readReply(source)) events.push(event);
  })();
  try {
    await Promise.race([run, hang]);
    return { events };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('the read hung')) throw error;
    return { events, error };
  } finally {
    clearTimeout(timer);
  }
}

/** What a streaming client holds: deltas appended, a rewrite replacing everything. */
function held(events: ReplyEvent[]): string {
  let text = '';
  for (const event of events) {
    if (event.type === 'delta') text += event.text;
    else if (event.type === 'rewrite') text = event.text;
  }
  return text;
}

function completeText(events: ReplyEvent[]): string | undefined {
  const last = events.at(-1);
  return last?.type === 'complete' ? last.text : undefined;
}

/** Only RestErrors may leave the reader. */
function assertOnlyRestError(error: unknown): void {
  if (error !== undefined && !isRestError(error)) {
    throw new Error('the reader threw a non-RestError', { cause: error });
  }
}

const splits = (max: number) => fc.array(fc.nat({ max }), { maxLength: 40 });

t.test('captures cut at random places read as the whole capture', async (t) => {
  const captures = [...COMPLETE, ...PARTIAL_WITH_DONE].map((expected) => ({
    expected,
    bytes: capture(expected.file),
  }));
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...captures),
      splits(1 << 20),
      async ({ expected, bytes }, at) => {
        const { events, error } = await readAll(
          cut(
            bytes,
            at.map((n) => n % bytes.length),
          ),
        );
        if (error !== undefined) throw new Error('a valid stream failed', { cause: error });
        const text = completeText(events);
        if (text === undefined || sha256(text) !== expected.sha256) {
          throw new Error(`${expected.file}: wrong text`);
        }
        if (held(events) !== text) throw new Error(`${expected.file}: deltas disagree`);
      },
    ),
    { numRuns: 60, seed: SEED },
  );
  t.pass('60 runs');
});

/** One piece of reply text (any Unicode, including astral characters and newlines). */
const piece = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });

/** The extras a real stream may carry between events. */
const noise = fc.constantFrom(
  '',
  ': ping - 2025-03-01 00:00:00.000000+00:00\n\n',
  'event: ping\ndata: 2025-03-01 00:00:00.000000\n\n',
  'data: 2023-02-21 07:00:21.653311\n\n',
  'data: {"type": "message_marker", "marker": "x"}\n\n',
  'data: {"type": "title_generation", "title": "T", "conversation_id": "c"}\n\n',
);

function assistantRoot(id: string, text: string): unknown {
  return {
    message: {
      id,
      author: { role: 'assistant' },
      content: { content_type: 'text', parts: [text] },
      status: 'in_progress',
      metadata: {},
      recipient: 'all',
    },
    conversation_id: 'c0ffee',
    error: null,
  };
}

const dataLine = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`;

/** A legacy stream of snapshots for `pieces`. */
function legacyStream(pieces: string[], extras: string[]): string {
  let text = '';
  return (
    pieces
      .map((p, i) => {
        text += p;
        return dataLine(assistantRoot('m1', text)) + (extras[i] ?? '');
      })
      .join('') + 'data: [DONE]\n\n'
  );
}

/** A `v1` stream for `pieces`: appends with a path, bare `{v}` repeats, or patch lists. */
function v1Stream(pieces: string[], extras: string[], styles: number[]): string {
  const events = [
    'event: delta_encoding\ndata: "v1"\n\n',
    dataLine({ v: assistantRoot('m1', ''), c: 0 }),
  ];
  let cursorOnText = false;
  pieces.forEach((p, i) => {
    const style = styles[i] ?? 0;
    const append = { p: '/message/content/parts/0', o: 'append', v: p };
    if (style === 0 || (style === 1 && !cursorOnText)) {
      events.push(dataLine(append));
      cursorOnText = true;
    } else if (style === 1) events.push(dataLine({ v: p }));
    else {
      events.push(
        dataLine({
          p: '',
          o: 'patch',
          v: [append, { p: '/message/status', o: 'replace', v: 'x' }],
        }),
      );
      cursorOnText = false;
    }
    events.push(extras[i] ?? '');
  });
  return events.join('') + 'data: [DONE]\n\n';
}

const lineEnding = fc.constantFrom('\n', '\r\n', '\r');

t.test('random valid streams in both encodings give their text', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(piece, { minLength: 1, maxLength: 30 }),
      fc.array(noise, { maxLength: 30 }),
      fc.array(fc.nat({ max: 2 }), { maxLength: 30 }),
      fc.boolean(),
      lineEnding,
      splits(4096),
      async (pieces, extras, styles, legacy, eol, at) => {
        const raw = legacy ? legacyStream(pieces, extras) : v1Stream(pieces, extras, styles);
        const bytes = new TextEncoder().encode(raw.replaceAll('\n', eol));
        const { events, error } = await readAll(cut(bytes, at));
        if (error !== undefined) throw new Error('a valid stream failed', { cause: error });
        const expected = pieces.join('');
        if (completeText(events) !== expected) throw new Error('wrong reply text');
        if (held(events) !== expected) throw new Error('deltas disagree with the reply');
      },
    ),
    { numRuns: 150, seed: SEED },
  );
  t.pass('150 runs');
});

/** A text operation and what it does to a model of the text. */
const textOp = fc.oneof(
  fc.record({ o: fc.constant('append'), v: piece }),
  fc.record({ o: fc.constant('replace'), v: fc.string({ unit: 'grapheme', maxLength: 20 }) }),
  fc.record({ o: fc.constant('truncate'), v: fc.nat({ max: 30 }) }),
);

function model(text: string, op: { o: string; v: string | number }): string {
  if (op.o === 'append') return text + String(op.v);
  if (op.o === 'replace') return String(op.v);
  return text.slice(0, Number(op.v));
}

t.test('random appends, replaces and truncates: reply and deltas agree', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(textOp, { minLength: 1, maxLength: 40 }),
      splits(2048),
      async (ops, at) => {
        const raw =
          dataLine({ v: assistantRoot('m1', ''), c: 0 }) +
          ops.map((op) => dataLine({ p: '/message/content/parts/0', ...op })).join('') +
          'data: [DONE]\n\n';
        const { events, error } = await readAll(cut(new TextEncoder().encode(raw), at));
        if (error !== undefined) throw new Error('a valid stream failed', { cause: error });
        // Truncate counts UTF-16 units, as the backend's JavaScript does.
        const expected = ops.reduce(model, '');
        if (completeText(events) !== expected) throw new Error('wrong reply text');
        if (held(events) !== expected) throw new Error('deltas and rewrites disagree');
      },
    ),
    { numRuns: 150, seed: SEED },
  );
  t.pass('150 runs');
});

const PATHS = [
  '',
  '/',
  '/message',
  '/message/id',
  '/message/content',
  '/message/content/parts',
  '/message/content/parts/0',
  '/message/content/parts/-',
  '/message/content/parts/7',
  '/message/metadata',
  '/message/metadata/citations',
  '/message/metadata/citations/-',
  '/message/author/role',
  '/message/channel',
  '/message/recipient',
  '/__proto__/x',
  '/message/__proto__',
  '/constructor/prototype/x',
  '/conversation_id',
  '/error',
];

/** Any `v1` delta: known or unknown paths and operations, any JSON value, patch lists, bare v. */
const anyDelta: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  delta: fc.oneof(
    fc.record(
      {
        p: fc.oneof(fc.constantFrom(...PATHS), fc.string({ maxLength: 12 })),
        o: fc.constantFrom('append', 'replace', 'add', 'remove', 'truncate', 'patch', 'x'),
        v: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(tie('delta'), { maxLength: 4 })),
        c: fc.nat({ max: 3 }),
      },
      { requiredKeys: ['v'] },
    ),
    fc.jsonValue({ maxDepth: 2 }),
  ),
})).delta;

t.test('random v1 patch sequences never throw anything but a RestError', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(anyDelta, { maxLength: 40 }),
      fc.boolean(),
      splits(4096),
      async (deltas, start, at) => {
        const raw =
          (start ? dataLine({ v: assistantRoot('m1', 'a'), c: 0 }) : '') +
          deltas.map((d) => dataLine(d)).join('') +
          'data: [DONE]\n\n';
        const { events, error } = await readAll(cut(new TextEncoder().encode(raw), at));
        assertOnlyRestError(error);
        if (({} as Record<string, unknown>).x !== undefined) throw new Error('prototype polluted');
        const text = completeText(events);
        if (text !== undefined && held(events) !== text) {
          throw new Error('deltas and rewrites disagree with the reply');
        }
      },
    ),
    { numRuns: 300, seed: SEED },
  );
  t.pass('300 runs');
});

/** Fragments of SSE and JSON, so random input often looks almost valid. */
const fragment = fc.oneof(
  fc.constantFrom(
    'data: ',
    'data:',
    'event: delta\n',
    'event: delta_encoding\n',
    'id: 1\n',
    'retry: x\n',
    ': c\n',
    '\n',
    '\r\n',
    '\r',
    '\n\n',
    'data: [DONE]\n\n',
    'data: "v1"\n\n',
    '{"detail": {"code": "token_expired"}}',
    '{"message": null, "error": "boom"}',
    '{"v": ',
    '{"p": "/message/content/parts/0", "o": "append", "v": "x"}',
    '\u0000',
    '\uFFFD',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
);

t.test('random bytes and near-SSE garbage: a RestError or a reply, never a hang', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc
          .array(fragment, { maxLength: 60 })
          .map((parts) => new TextEncoder().encode(parts.join(''))),
        fc.uint8Array({ maxLength: 2048 }),
      ),
      splits(4096),
      async (bytes, at) => {
        const { events, error } = await readAll(cut(bytes, at));
        assertOnlyRestError(error);
        const text = completeText(events);
        if (text !== undefined && held(events) !== text) throw new Error('deltas disagree');
      },
    ),
    { numRuns: 300, seed: SEED },
  );
  t.pass('300 runs');
});
