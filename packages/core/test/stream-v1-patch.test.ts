import t from 'tap';
import {
  applyV1Delta,
  applyV1Operation,
  INITIAL_V1_CURSOR,
  parseV1Path,
  type V1Cursor,
} from '../src/stream/v1-patch.js';

/** The value at a dotted path of a state, or undefined: the tests read states of any shape. */
function pick(state: unknown, path: string): unknown {
  let node: unknown = state;
  for (const key of path.split('.')) {
    node =
      typeof node === 'object' && node !== null
        ? (node as Record<string, unknown>)[key]
        : undefined;
  }
  return node;
}

/** A fresh state: operations change the state they are given in place. */
const message = () => ({
  message: {
    id: 'm1',
    author: { role: 'assistant' },
    content: { content_type: 'text', parts: ['Hel'] },
    status: 'in_progress',
    metadata: { model_slug: 'gpt-4o', citations: [1] },
  },
  conversation_id: 'c1',
});

t.test('paths are split like JSON pointers, with "" as the root', (t) => {
  t.same(parseV1Path(''), []);
  t.same(parseV1Path('/'), []);
  t.same(parseV1Path('/message/content/parts/0'), ['message', 'content', 'parts', '0']);
  t.same(parseV1Path('message/metadata'), ['message', 'metadata']);
  t.same(parseV1Path('/a~1b/c~0d'), ['a/b', 'c~d']);
  t.end();
});

t.test('append concatenates a string in place, at the cost of the value', (t) => {
  const state = message();
  const metadata = state.message.metadata;
  const next = applyV1Operation(state, {
    p: '/message/content/parts/0',
    o: 'append',
    v: 'lo',
  }) as ReturnType<typeof message>;
  t.same(pick(next, 'message.content.parts'), ['Hello']);
  t.equal(next, state, 'the root is changed in place');
  t.equal(pick(next, 'message.metadata'), metadata, 'untouched branches are the same objects');
  t.end();
});

t.test('append pushes onto an array, concatenates an array value, and merges an object', (t) => {
  const pushed = applyV1Operation(message(), {
    p: '/message/metadata/citations',
    o: 'append',
    v: 2,
  });
  t.same(pick(pushed, 'message.metadata.citations'), [1, 2]);
  const joined = applyV1Operation(message(), {
    p: '/message/metadata/citations',
    o: 'append',
    v: [2, 3],
  });
  t.same(pick(joined, 'message.metadata.citations'), [1, 2, 3]);
  const merged = applyV1Operation(message(), {
    p: '/message/metadata',
    o: 'append',
    v: { finish_details: { type: 'stop' }, is_complete: true },
  });
  t.same(pick(merged, 'message.metadata'), {
    model_slug: 'gpt-4o',
    citations: [1],
    finish_details: { type: 'stop' },
    is_complete: true,
  });
  t.end();
});

t.test('append to a missing value sets it, and a mismatched append changes nothing', (t) => {
  const set = applyV1Operation(message(), { p: '/message/metadata/new', o: 'append', v: 'x' });
  t.equal(pick(set, 'message.metadata.new'), 'x');
  t.same(
    applyV1Operation(message(), { p: '/message/content/parts/0', o: 'append', v: 5 }),
    message(),
  );
  t.same(applyV1Operation(message(), { p: '/message/metadata', o: 'append', v: 'x' }), message());
  t.same(
    applyV1Operation(message(), { p: '/message/status/x', o: 'append', v: 'x' }),
    message(),
    'no path through a string',
  );
  const numeric = applyV1Operation({ n: 1 }, { p: '/n', o: 'append', v: 2 });
  t.same(numeric, { n: 1 });
  t.end();
});

t.test('replace sets a value; add sets a key or inserts into an array', (t) => {
  const replaced = applyV1Operation(message(), {
    p: '/message/status',
    o: 'replace',
    v: 'finished_successfully',
  });
  t.equal(pick(replaced, 'message.status'), 'finished_successfully');
  const replacedItem = applyV1Operation(message(), {
    p: '/message/metadata/citations/0',
    o: 'replace',
    v: 9,
  });
  t.same(pick(replacedItem, 'message.metadata.citations'), [9]);
  const inserted = applyV1Operation(message(), {
    p: '/message/metadata/citations/0',
    o: 'add',
    v: 0,
  });
  t.same(pick(inserted, 'message.metadata.citations'), [0, 1]);
  const appended = applyV1Operation(message(), {
    p: '/message/metadata/citations/-',
    o: 'add',
    v: 2,
  });
  t.same(pick(appended, 'message.metadata.citations'), [1, 2]);
  t.same(applyV1Operation(message(), { p: '', o: 'add', v: { fresh: true } }), { fresh: true });
  t.end();
});

t.test('missing containers on a path are created, as arrays before an index', (t) => {
  const next = applyV1Operation({}, { p: '/message/content/parts/0', o: 'append', v: 'Hi' });
  t.same(next, { message: { content: { parts: ['Hi'] } } });
  t.end();
});

t.test('a bad array index changes nothing', (t) => {
  t.same(
    applyV1Operation(message(), { p: '/message/content/parts/5', o: 'replace', v: 'x' }),
    message(),
  );
  t.same(
    applyV1Operation(message(), { p: '/message/content/parts/first', o: 'replace', v: 'x' }),
    message(),
  );
  t.same(
    applyV1Operation(message(), { p: '/message/content/parts/01', o: 'replace', v: 'x' }),
    message(),
  );
  t.end();
});

t.test('remove deletes a key or an array item, and at the root empties the state', (t) => {
  const noStatus = applyV1Operation(message(), { p: '/message/status', o: 'remove', v: null });
  t.notOk(Object.hasOwn(pick(noStatus, 'message') as object, 'status'));
  const noPart = applyV1Operation(message(), {
    p: '/message/content/parts/0',
    o: 'remove',
    v: null,
  });
  t.same(pick(noPart, 'message.content.parts'), []);
  const pastEnd = applyV1Operation(message(), {
    p: '/message/content/parts/-',
    o: 'remove',
    v: null,
  });
  t.same(pick(pastEnd, 'message.content.parts'), ['Hel']);
  t.same(applyV1Operation(message(), { p: '', o: 'remove', v: null }), {});
  t.end();
});

t.test('truncate shortens a string or an array and ignores a bad length', (t) => {
  const short = applyV1Operation(message(), {
    p: '/message/content/parts/0',
    o: 'truncate',
    v: 1,
  });
  t.same(pick(short, 'message.content.parts'), ['H']);
  const fewer = applyV1Operation(message(), { p: '/message/content/parts', o: 'truncate', v: 0 });
  t.same(pick(fewer, 'message.content.parts'), []);
  t.same(
    applyV1Operation(message(), { p: '/message/content/parts/0', o: 'truncate', v: -1 }),
    message(),
  );
  t.same(
    applyV1Operation(message(), { p: '/message/content/parts/0', o: 'truncate', v: 'x' }),
    message(),
  );
  t.same(applyV1Operation(message(), { p: '/message/status/', o: 'truncate', v: 1 }), message());
  const objectTarget = applyV1Operation(message(), {
    p: '/message/metadata',
    o: 'truncate',
    v: 1,
  });
  t.same(objectTarget, message());
  t.end();
});

t.test('patch applies a list of operations, each with its own path from the root', (t) => {
  const result = applyV1Delta(
    message(),
    {
      p: '',
      o: 'patch',
      v: [
        { p: '/message/content/parts/0', o: 'append', v: 'lo' },
        { p: '/message/status', o: 'replace', v: 'finished_successfully' },
        'junk',
        { p: '/ignored' },
        { o: 'patch', v: [{ p: '/message/end_turn', o: 'replace', v: true }] },
        { p: '/message/metadata', o: 'append', v: { finish_details: { type: 'stop' } } },
      ],
    },
    INITIAL_V1_CURSOR,
  );
  const state = result.state;
  t.equal(pick(state, 'message.content.parts.0'), 'Hello');
  t.equal(pick(state, 'message.status'), 'finished_successfully');
  t.equal(pick(state, 'message.end_turn'), true);
  t.same(pick(state, 'message.metadata.finish_details'), { type: 'stop' });
  t.same(
    result.applied.map((op) => op.p),
    ['/message/content/parts/0', '/message/status', '/message/end_turn', '/message/metadata'],
    'the applied list is flat and in order',
  );
  t.same(result.cursor, { p: '', o: 'patch' });
  t.same(applyV1Operation(message(), { p: '', o: 'patch', v: 'not a list' }), message());
  t.end();
});

t.test('a bare {"v": …} repeats the previous path and operation', (t) => {
  let cursor: V1Cursor = INITIAL_V1_CURSOR;
  let state: unknown = message();
  for (const delta of [
    { p: '/message/content/parts/0', o: 'append', v: 'lo' },
    { v: ' wor' },
    { v: 'ld' },
  ]) {
    ({ state, cursor } = applyV1Delta(state, delta, cursor));
  }
  t.equal(pick(state, 'message.content.parts.0'), 'Hello world');
  t.same(cursor, { p: '/message/content/parts/0', o: 'append' });
  t.end();
});

t.test(
  'an operation without a path keeps the previous path, and a bare list repeats patch',
  (t) => {
    let { state, cursor } = applyV1Delta(
      message(),
      { p: '/message/content/parts/0', o: 'append', v: 'l' },
      INITIAL_V1_CURSOR,
    );
    ({ state, cursor } = applyV1Delta(state, { o: 'append', v: 'o' }, cursor));
    t.equal(pick(state, 'message.content.parts.0'), 'Hello');
    ({ state, cursor } = applyV1Delta(
      state,
      { o: 'patch', v: [{ p: '/message/status', o: 'replace', v: 'a' }] },
      cursor,
    ));
    ({ state, cursor } = applyV1Delta(
      state,
      { v: [{ p: '/message/status', o: 'replace', v: 'b' }] },
      cursor,
    ));
    t.equal(pick(state, 'message.status'), 'b');
    t.equal(cursor.o, 'patch');
    t.end();
  },
);

t.test('a bare {"v": {message…}} with a count starts a new message whatever the cursor', (t) => {
  const cursor: V1Cursor = { p: '/message/content/parts/0', o: 'append' };
  const next = { message: { id: 'm2', content: { parts: [''] } }, conversation_id: 'c1' };
  const counted = applyV1Delta(message(), { v: next, c: 2 }, cursor);
  t.equal(counted.state, next);
  t.same(counted.cursor, INITIAL_V1_CURSOR);
  const uncounted = applyV1Delta(message(), { v: next }, cursor);
  t.equal(uncounted.state, next);
  t.end();
});

t.test('unknown operations and odd deltas change nothing and never throw', (t) => {
  const state = message();
  t.same(applyV1Operation(message(), { p: '/message/status', o: 'explode', v: 1 }), message());
  for (const odd of [null, 1, 'x', [], {}, { p: '/message/status' }, { c: 3 }]) {
    const result = applyV1Delta(state, odd, INITIAL_V1_CURSOR);
    t.equal(result.state, state, JSON.stringify(odd));
    t.same(result.applied, []);
  }
  t.doesNotThrow(() => applyV1Delta(null, { p: '/a/b', o: 'append', v: 'x' }, INITIAL_V1_CURSOR));
  t.same(applyV1Delta(null, { p: '/a', o: 'replace', v: 1 }, INITIAL_V1_CURSOR).state, { a: 1 });
  t.equal(applyV1Delta(7, { p: '/a', o: 'replace', v: 1 }, INITIAL_V1_CURSOR).state, 7);
  t.end();
});

t.test('many appends to one path reuse its parsed form without growing without bound', (t) => {
  let state: unknown = {};
  for (let i = 0; i < 300; i++)
    state = applyV1Operation(state, { p: `/k${i}`, o: 'replace', v: i });
  state = applyV1Operation(state, { p: '/k0', o: 'replace', v: 'again' });
  t.equal(pick(state, 'k0'), 'again');
  t.equal(pick(state, 'k299'), 299);
  t.end();
});

t.test('__proto__ and constructor keys stay plain keys and never reach a prototype', (t) => {
  const polluted = (): unknown => (({}) as Record<string, unknown>).polluted;
  let state: unknown = JSON.parse('{"message": {"metadata": {}}}');
  for (const delta of [
    { p: '/__proto__/polluted', o: 'replace', v: 1 },
    { p: '/message/__proto__/polluted', o: 'append', v: 'x' },
    { p: '/constructor/prototype/polluted', o: 'replace', v: 1 },
    JSON.parse('{"p": "/message/metadata", "o": "append", "v": {"__proto__": {"polluted": 1}}}'),
  ]) {
    state = applyV1Delta(state, delta, INITIAL_V1_CURSOR).state;
  }
  t.equal(polluted(), undefined, 'Object.prototype is untouched');
  const metadata = pick(state, 'message.metadata') as object;
  t.equal(Object.getPrototypeOf(metadata), Object.prototype);
  t.ok(Object.hasOwn(metadata, '__proto__'), 'merged as an own key');
  t.ok(Object.hasOwn(state as object, '__proto__'));
  t.end();
});

t.test('an array append of an array to itself ends', (t) => {
  const list: unknown[] = [1, 2];
  const state = { list };
  applyV1Operation(state, { p: '/list', o: 'append', v: list });
  t.same(state.list, [1, 2, 1, 2]);
  t.end();
});
