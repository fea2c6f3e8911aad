import t from 'tap';
import fc from 'fast-check';
import type { BackendConversation, BackendMessage } from '../src/backend/types.js';
import {
  addMessage,
  currentBranch,
  isVisibleMessage,
  isoTime,
  newConversation,
  setTitle,
  threadMessages,
} from '../src/conversation/message-tree.js';
import { toReply } from '../src/conversation/reply.js';
import { fixtureJson } from '@chatgpt-rest/test-kit';

const detailFixtures = [
  'conversation-2023-04-detail-whoami-one-turn.json',
  'conversation-2023-04-detail-intro-after-create.json',
  'conversation-2023-12-detail-new-chat-one-turn.json',
];

for (const name of detailFixtures) {
  t.test(`the /messages list of ${name} holds the user and assistant turn only`, (t) => {
    const conversation = fixtureJson(name) as BackendConversation;
    const list = threadMessages(conversation, 'c6b0aeef-b322-4f47-a9f8-7e52ebca942a');
    t.same(
      list.map((m) => m.author.role),
      ['user', 'assistant'],
    );
    const [user, assistant] = list;
    t.equal(user?.model, null);
    t.equal(user?.finish_details, null);
    t.equal(user?.end_turn, null);
    t.equal(assistant?.finish_details, 'stop');
    t.equal(assistant?.parent_id, conversation.current_node);
    t.match(assistant?.create_time, /^\d{4}-\d\d-\d\dT/);
    t.ok((assistant?.message.length ?? 0) > 0);
    t.end();
  });
}

const base: BackendMessage = {
  id: 'a',
  author: { role: 'assistant' },
  content: { content_type: 'text', parts: ['hi'] },
  recipient: 'all',
};

t.test('hidden, tool, reasoning and empty messages are not visible', (t) => {
  t.ok(isVisibleMessage(base));
  t.notOk(isVisibleMessage({ ...base, author: { role: 'system' } }));
  t.notOk(isVisibleMessage({ ...base, author: { role: 'tool' } }));
  t.notOk(isVisibleMessage({ ...base, recipient: 'browser' }));
  t.notOk(isVisibleMessage({ ...base, channel: 'analysis' }));
  t.ok(isVisibleMessage({ ...base, channel: 'final' }));
  t.notOk(isVisibleMessage({ ...base, content: { content_type: 'text', parts: [' '] } }));
  t.notOk(isVisibleMessage({ ...base, metadata: { is_visually_hidden_from_conversation: true } }));
  t.end();
});

t.test('a message added to the tree becomes the current node under its parent', (t) => {
  const tree = newConversation('c', 'root', null);
  addMessage(tree, { ...base, id: 'u', author: { role: 'user' } }, 'root');
  addMessage(tree, base, 'u');
  t.equal(tree.current_node, 'a');
  t.same(tree.mapping.root?.children, ['u']);
  t.same(
    currentBranch(tree).map((n) => n.id),
    ['root', 'u', 'a'],
  );
  // A second answer to the same user message is a sibling branch.
  addMessage(tree, { ...base, id: 'b' }, 'u');
  t.same(tree.mapping.u?.children, ['a', 'b']);
  t.same(
    threadMessages(tree, 'c').map((m) => m.parent_id),
    ['u', 'b'],
  );
  // Replacing a node keeps its place.
  addMessage(tree, { ...base, id: 'b', content: { content_type: 'text', parts: ['x'] } }, 'zzz');
  t.equal(tree.mapping.b?.parent, 'u');
  t.same(tree.mapping.u?.children, ['a', 'b']);
  t.end();
});

t.test('addMessage returns by how much the JSON of the tree grew, in every case', (t) => {
  const measured = (tree: BackendConversation, change: () => number): void => {
    const before = JSON.stringify(tree).length;
    const grown = change();
    t.equal(grown, JSON.stringify(tree).length - before);
  };
  const tree = newConversation('c', 'root', null);
  measured(tree, () => addMessage(tree, { ...base, id: 'u', author: { role: 'user' } }, 'root'));
  measured(tree, () => addMessage(tree, base, 'u'));
  measured(tree, () => addMessage(tree, { ...base, id: 'b' }, 'u')); // a sibling
  measured(tree, () => addMessage(tree, { ...base, id: 'b', end_turn: true }, 'u')); // replaced
  measured(tree, () => addMessage(tree, { ...base, id: 'o' }, 'unknown parent'));
  measured(tree, () => addMessage(tree, { ...base, id: 'r' }, null)); // a second root
  measured(tree, () => addMessage(tree, { ...base, id: '__proto__' }, 'r'));
  t.equal(Object.getPrototypeOf(tree.mapping), Object.prototype);
  t.equal(tree.mapping['__proto__']?.parent, 'r');
  measured(tree, () => setTitle(tree, 'A "quoted" title é'));
  measured(tree, () => setTitle(tree, ''));
  // Without a title, an update time or any node: a bare tree as a broken upstream might send.
  const bare = { mapping: {}, current_node: 'gone', conversation_id: 'c' } as never;
  measured(bare, () => addMessage(bare, base, 'p'));
  measured(bare, () => setTitle(bare, 't'));
  t.end();
});

t.test('a cycle in a broken mapping does not hang the branch walk', (t) => {
  const tree: BackendConversation = {
    ...newConversation('c', 'r', null),
    mapping: {
      x: { id: 'x', parent: 'y', children: [] },
      y: { id: 'y', parent: 'x', children: [] },
    },
    current_node: 'x',
  };
  t.equal(currentBranch(tree).length, 2);
  t.end();
});

t.test('the reply object has the seed fields', (t) => {
  const reply = toReply(
    {
      ...base,
      end_turn: true,
      metadata: { model_slug: 'gpt-4o', finish_details: { type: 'stop' }, citations: [1] },
    },
    'conv',
  );
  t.same(Object.keys(reply).sort(), [
    'author',
    'citations',
    'conversation_id',
    'end_turn',
    'finish_details',
    'message',
    'model',
    'parent_id',
    'recipient',
  ]);
  t.same(reply.author, { role: 'assistant', name: null, metadata: {} });
  t.equal(reply.model, 'gpt-4o');
  t.same(reply.citations, [1]);
  t.end();
});

t.test('the earliest streams put role on the message instead of author', (t) => {
  const legacy = { ...base, author: {} as BackendMessage['author'], role: 'user' };
  t.equal(toReply(legacy, 'c').author.role, 'user');
  t.end();
});

t.test('isoTime gives what Date gives for every time string, by its shortcut or not', (t) => {
  const viaDate = (value: string): string => {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? value : new Date(parsed).toISOString();
  };
  const edges = [
    '2026-12-02T00:13:45.256000+00:00',
    '2026-12-02T00:13:45.256999+00:00',
    '2026-12-02T00:13:45.5+00:00',
    '2026-12-02T00:13:45+00:00',
    '2026-12-02T00:13:45Z',
    '2026-02-30T00:00:00+00:00',
    '2026-12-31T23:59:59.999999+00:00',
    '2026-12-02T24:00:00+00:00',
    '2026-12-02T00:13:45.256000+01:00',
    '2026-13-02T00:13:45+00:00',
    'yesterday',
  ];
  for (const value of edges) t.equal(isoTime(value), viaDate(value), value);
  fc.assert(
    fc.property(
      fc.date({ min: new Date('0100-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z') }),
      fc.integer({ min: 0, max: 999 }),
      fc.constantFrom('+00:00', 'Z'),
      (date, micros, zone) => {
        if (Number.isNaN(date.getTime())) return true;
        // Python's isoformat(): microseconds, and +00:00 for UTC.
        const python = `${date.toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}${zone}`;
        return isoTime(python) === viaDate(python);
      },
    ),
    { numRuns: 500 },
  );
  t.pass('500 random UTC times');
  t.end();
});

t.test('isoTime: epoch seconds past the range of Date are no time, not a throw', (t) => {
  // Fault: `create_time: 1e300` from the upstream threw a RangeError in toISOString, and the
  // list, conversation and /messages routes answered 500 for as long as the tree was cached.
  for (const value of [1e300, -1e300, 8.64e12 + 1, Infinity, NaN]) {
    t.equal(isoTime(value), null, String(value));
  }
  t.equal(isoTime(8.64e12), '+275760-09-13T00:00:00.000Z', 'the last time Date holds');
  t.equal(isoTime(1680782298.55), '2023-04-06T11:58:18.550Z');
  t.end();
});
