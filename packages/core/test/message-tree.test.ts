import t from 'tap';
import type { BackendConversation, BackendMessage } from '../src/backend/types.js';
import {
  currentBranch,
  isVisibleMessage,
  newConversation,
  threadMessages,
  withMessage,
} from '../src/conversation/message-tree.js';
import { toReply } from '../src/conversation/reply.js';
import { fixtureJson } from './fixtures.js';

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
  let tree = newConversation('c', 'root', null);
  tree = withMessage(tree, { ...base, id: 'u', author: { role: 'user' } }, 'root');
  tree = withMessage(tree, base, 'u');
  t.equal(tree.current_node, 'a');
  t.same(tree.mapping.root?.children, ['u']);
  t.same(
    currentBranch(tree).map((n) => n.id),
    ['root', 'u', 'a'],
  );
  // A second answer to the same user message is a sibling branch.
  const variant = withMessage(tree, { ...base, id: 'b' }, 'u');
  t.same(variant.mapping.u?.children, ['a', 'b']);
  t.same(
    threadMessages(variant, 'c').map((m) => m.parent_id),
    ['u', 'b'],
  );
  // Replacing a node keeps its place.
  const replaced = withMessage(
    variant,
    { ...base, id: 'b', content: { content_type: 'text', parts: ['x'] } },
    'zzz',
  );
  t.equal(replaced.mapping.b?.parent, 'u');
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
