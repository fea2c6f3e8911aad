/**
 * Fault: a `v1` delta whose path is "/a" 100,000 times (200 KB, far under the 4 MiB line cap).
 * Applying it recursed once per key and overflowed the stack: a RangeError, so a 500
 * `internal_error` instead of anything about the upstream. A path deeper than
 * MAX_V1_PATH_DEPTH keys is now odd input, ignored like a path through a string.
 */
import t from 'tap';
import * as v1 from '../src/stream/v1-patch.js';
import { collectReply } from '../src/stream/reply-reader.js';
import { chunks } from './stream-helpers.js';

// Read from the module, not imported by name: without the fix the tests fail, not the import.
const { applyV1Operation, MAX_V1_PATH_DEPTH } = v1;

const DEEP = '/a'.repeat(100_000);

const state = () => ({ message: { id: 'm1', metadata: {} }, conversation_id: 'c1' });

t.test('a delta with a 100,000-key path changes nothing and does not throw', (t) => {
  for (const o of ['add', 'replace', 'append', 'remove', 'truncate']) {
    const before = state();
    const after = applyV1Operation(before, { p: DEEP, o, v: 1 });
    t.same(after, state(), `${o} is ignored`);
  }
  t.end();
});

t.test(`a path of ${MAX_V1_PATH_DEPTH} keys is applied, one more key is not`, (t) => {
  const path = (keys: number) => '/message/metadata' + '/k'.repeat(keys - 2);
  const applied = applyV1Operation(state(), { p: path(MAX_V1_PATH_DEPTH), o: 'add', v: 1 });
  let node: unknown = (applied as ReturnType<typeof state>).message.metadata;
  for (let i = 2; i < MAX_V1_PATH_DEPTH; i++) node = (node as Record<string, unknown>).k;
  t.equal(node, 1);
  t.same(applyV1Operation(state(), { p: path(MAX_V1_PATH_DEPTH + 1), o: 'add', v: 1 }), state());
  const unrooted = path(MAX_V1_PATH_DEPTH + 1).slice(1);
  t.same(applyV1Operation(state(), { p: unrooted, o: 'add', v: 1 }), state(), 'without a "/"');
  t.end();
});

t.test('a reply stream carrying such a delta completes with its text', async (t) => {
  const start = {
    v: {
      message: {
        id: 'm1',
        author: { role: 'assistant' },
        content: { content_type: 'text', parts: [''] },
        status: 'in_progress',
        metadata: {},
        recipient: 'all',
      },
      conversation_id: 'c1',
      error: null,
    },
    c: 0,
  };
  const events = [
    'event: delta_encoding\ndata: "v1"\n\n',
    `event: delta\ndata: ${JSON.stringify(start)}\n\n`,
    'event: delta\ndata: {"p":"/message/content/parts/0","o":"append","v":"Hi"}\n\n',
    `event: delta\ndata: {"p":"${DEEP}","o":"add","v":1}\n\n`,
    'event: delta\ndata: {"v":"!"}\n\n',
    'data: [DONE]\n\n',
  ];
  const reply = await collectReply(chunks(...events));
  t.equal(reply.text, 'Hi', 'the bare {"v"} after it repeats the ignored deep path');
  t.equal(reply.conversationId, 'c1');
});
