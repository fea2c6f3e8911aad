/**
 * Fault: a `v1` `patch` whose list holds a `patch` whose list holds a `patch`…, 100,000 deep
 * (1.9 MB, under the 4 MiB line cap; JSON.parse takes any depth). Applying a patch recursed once
 * per nested list and overflowed the stack: a RangeError, so a 500 `internal_error`. The lists
 * are now walked with a stack of their own; the operations are applied in the same order.
 */
import t from 'tap';
import { applyV1Delta, INITIAL_V1_CURSOR } from '../src/stream/v1-patch.js';
import { collectReply } from '../src/stream/reply-reader.js';
import { chunks } from './stream-helpers.js';

const DEPTH = 100_000;
const APPEND = { p: '/message/content/parts/0', o: 'append', v: '!' };

/** A patch nested `depth` deep whose innermost list appends "!", built without recursion. */
function nested(depth: number): unknown {
  let patch: unknown = { o: 'patch', v: [APPEND] };
  for (let i = 1; i < depth; i++) patch = { o: 'patch', v: [patch] };
  return patch;
}

/** The same patch as JSON text (JSON.stringify would itself overflow on it). */
function nestedText(depth: number): string {
  return (
    '{"o":"patch","v":['.repeat(depth - 1) +
    `{"o":"patch","v":[${JSON.stringify(APPEND)}]}` +
    ']}'.repeat(depth - 1)
  );
}

const state = () => ({
  message: {
    id: 'm1',
    author: { role: 'assistant' },
    content: { content_type: 'text', parts: ['Hi'] },
    status: 'in_progress',
    metadata: {},
    recipient: 'all',
  },
  conversation_id: 'c1',
  error: null,
});

t.test(`a patch nested ${DEPTH} deep applies its innermost operation`, (t) => {
  const result = applyV1Delta(state(), nested(DEPTH), INITIAL_V1_CURSOR);
  const after = result.state as ReturnType<typeof state>;
  t.same(after.message.content.parts, ['Hi!']);
  t.same(result.applied, [APPEND]);
  t.same(result.cursor, { p: '', o: 'patch' });
  t.end();
});

t.test('nested lists keep the order of their operations', (t) => {
  const op = (v: string) => ({ p: '/message/content/parts/0', o: 'append', v });
  const delta = {
    o: 'patch',
    v: [op('1'), { o: 'patch', v: [op('2'), { o: 'patch', v: [op('3')] }, op('4')] }, op('5')],
  };
  const after = applyV1Delta(state(), delta, INITIAL_V1_CURSOR).state as ReturnType<typeof state>;
  t.same(after.message.content.parts, ['Hi12345']);
  t.end();
});

t.test('a reply stream carrying such a patch completes with its text', async (t) => {
  const reply = await collectReply(
    chunks(
      'event: delta_encoding\ndata: "v1"\n\n',
      `event: delta\ndata: ${JSON.stringify({ v: state(), c: 0 })}\n\n`,
      `event: delta\ndata: ${nestedText(DEPTH)}\n\n`,
      'data: [DONE]\n\n',
    ),
  );
  t.equal(reply.text, 'Hi!');
});
