/**
 * Issue 15: a turn's cost does not grow with the conversation. The cache changes the tree it
 * owns in place and tracks its size by what each turn adds, instead of copying the mapping and
 * serialising the whole tree on every update; it stays bounded by `maxSize` all the same. And
 * `POST /conversations/new` with a title renames once instead of asking for a generated title.
 */
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { createBackendEmulator, type BackendEmulator } from '@chatgpt-rest/emulator';
import type { BackendConversation, BackendMessage } from '../src/backend/types.js';
import { ConversationCache } from '../src/conversation/conversation-cache.js';
import { currentBranch, threadMessages } from '../src/conversation/message-tree.js';
import type { Reply } from '../src/conversation/reply.js';
import {
  newMessageId,
  runTurn,
  type TurnDeps,
  type TurnRequest,
} from '../src/conversation/turn.js';
import { createHandler } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { UpstreamClient } from '../src/upstream/upstream-client.js';

const TOKEN = 'growth-test-token';
const PRINCIPAL = 'growth-principal';
const MiB = 1024 * 1024;

async function setup(
  t: Test,
  bounds = { max: 100, maxSize: 50 * MiB, ttl: 60_000 },
): Promise<{
  emulator: BackendEmulator;
  deps: Omit<TurnDeps, 'cache'> & { cache: ConversationCache };
}> {
  const emulator = await createBackendEmulator({ dialect: 'legacy', oneAtATime: false });
  t.teardown(() => emulator.close());
  const options = resolveOptions({ upstream: emulator.url, dialect: 'legacy' }, {});
  const deps = {
    options,
    upstream: new UpstreamClient(options),
    cache: new ConversationCache(bounds),
  };
  return { emulator, deps };
}

/** Runs a turn to its end; resolves with its reply. */
async function turn(
  deps: TurnDeps,
  request: Partial<TurnRequest> & { parentId: string },
): Promise<Reply> {
  const caller = { token: TOKEN, principal: PRINCIPAL, signal: new AbortController().signal };
  const full: TurnRequest = {
    action: 'next',
    userMessage: { id: newMessageId(), text: 'Tell me more.' },
    model: 'auto',
    autocontinue: false,
    ...request,
  };
  let reply: Reply | undefined;
  for await (const event of runTurn(deps, caller, full))
    if (event.type === 'reply') reply = event.reply;
  if (reply === undefined) throw new Error('no reply');
  return reply;
}

/** Starts a conversation; resolves with its id and current node. */
async function started(deps: TurnDeps): Promise<{ id: string; leaf: string }> {
  const reply = await turn(deps, { parentId: deps.upstream.newConversationParent() });
  return { id: reply.conversation_id, leaf: reply.parent_id };
}

/** Gives the emulator's copy of a conversation `count` more nodes, user and assistant in turn. */
function grow(emulator: BackendEmulator, id: string, count: number): void {
  const stored = emulator.conversations.get(TOKEN, id);
  if (stored === undefined) throw new Error('unknown conversation');
  let parent = stored.currentNode;
  for (let i = 0; i < count; i++) {
    const nodeId = randomUUID();
    const role = i % 2 === 0 ? 'user' : 'assistant';
    const message: BackendMessage = {
      id: nodeId,
      author: { role, name: null, metadata: {} },
      create_time: 1_700_000_000 + i,
      update_time: null,
      content: { content_type: 'text', parts: [`Message ${i} of a long conversation. `.repeat(8)] },
      status: 'finished_successfully',
      end_turn: role === 'assistant',
      weight: 1,
      metadata: role === 'assistant' ? { model_slug: 'gpt-5-2' } : {},
      recipient: 'all',
      channel: null,
    };
    stored.mapping[parent]?.children.push(nodeId);
    stored.mapping[nodeId] = { id: nodeId, message, parent, children: [] };
    parent = nodeId;
  }
  stored.currentNode = parent;
}

/** Calls `body` with `JSON.stringify` counted: how many calls, and the longest text one made. */
async function countingStringify<T>(
  body: () => Promise<T>,
): Promise<{ result: T; calls: number; longest: number }> {
  const original = JSON.stringify;
  let calls = 0;
  let longest = 0;
  const counting = (...args: unknown[]): string | undefined => {
    const text = (original as (...a: unknown[]) => string | undefined)(...args);
    calls++;
    longest = Math.max(longest, text?.length ?? 0);
    return text;
  };
  JSON.stringify = counting as typeof JSON.stringify;
  try {
    return { result: await body(), calls, longest };
  } finally {
    JSON.stringify = original;
  }
}

t.test(
  'a turn in a 2,000-node conversation only does the work of its new nodes: the cached mapping is neither copied nor serialised, and the tracked size stays exact',
  async (t) => {
    const { emulator, deps } = await setup(t);
    const { cache, upstream } = deps;
    const { id } = await started(deps);
    grow(emulator, id, 2000);
    // As a route reads an uncached conversation: one GET, then the tree is cached, measured once.
    const fetched = await upstream.getConversation(
      { token: TOKEN },
      id,
      new AbortController().signal,
    );
    cache.set(PRINCIPAL, id, { conversation: fetched, complete: true });
    const nodes = Object.keys(fetched.mapping).length;
    t.ok(nodes > 2000, `${nodes} nodes cached`);
    const tree = cache.get(PRINCIPAL, id)?.conversation as BackendConversation;
    const mapping = tree.mapping;
    const wholeSize = JSON.stringify(tree).length;
    t.equal(cache.sizeOf(PRINCIPAL, id), wholeSize, 'measured once when stored');

    const { result: reply, longest } = await countingStringify(() =>
      turn(deps, { conversationId: id, parentId: tree.current_node }),
    );

    const after = cache.get(PRINCIPAL, id);
    t.equal(after?.conversation, tree, 'the same tree object is kept');
    t.equal(after?.conversation.mapping, mapping, 'the mapping was not copied');
    t.equal(Object.keys(mapping).length, nodes + 2, 'the user message and the answer were added');
    t.equal(tree.current_node, reply.parent_id, 'the answer is the current node');
    t.ok(
      longest < wholeSize / 20,
      `no JSON.stringify of the tree during the turn (longest ${longest} chars, tree ${wholeSize})`,
    );
    const size = cache.sizeOf(PRINCIPAL, id) ?? 0;
    t.ok(size > wholeSize, 'the size grew by the new nodes');
    t.equal(size, JSON.stringify(tree).length, 'the tracked size is the exact JSON length');
    t.equal(cache.bytes, size, 'and is what the LRU counts');
  },
);

t.test('/messages of a long conversation reads the current branch, not the whole tree', (t) => {
  const mapping: BackendConversation['mapping'] = {};
  const side = (i: number): string => `side-${i}`;
  for (let i = 0; i < 2000; i++) mapping[side(i)] = { id: side(i), parent: null, children: [] };
  const message = (id: string, role: 'user' | 'assistant'): BackendMessage => ({
    id,
    author: { role },
    content: { content_type: 'text', parts: [id] },
    recipient: 'all',
  });
  mapping.u = { id: 'u', message: message('u', 'user'), parent: null, children: ['a'] };
  mapping.a = { id: 'a', message: message('a', 'assistant'), parent: 'u', children: [] };
  let reads = 0;
  const counted = new Proxy(mapping, {
    get(target, key: string) {
      reads++;
      return target[key];
    },
  });
  const tree = { mapping: counted, current_node: 'a' } as unknown as BackendConversation;
  t.same(
    threadMessages(tree, 'c').map((m) => m.message),
    ['u', 'a'],
  );
  t.ok(reads <= 3, `${reads} nodes read for a branch of 2 in a mapping of 2,002`);
  t.equal(currentBranch(tree).length, 2);
  t.end();
});

t.test(
  'the cache stays within maxSize over many turns, its count exact, a tree grown past it dropped',
  async (t) => {
    const maxSize = 40_000;
    const { deps } = await setup(t, { max: 100, maxSize, ttl: 60_000 });
    const { cache } = deps;
    const conversations = [await started(deps), await started(deps), await started(deps)];
    const cachedBytes = (): number =>
      conversations
        .map(({ id }) => cache.get(PRINCIPAL, id)?.conversation)
        .reduce((sum, tree) => sum + (tree === undefined ? 0 : JSON.stringify(tree).length), 0);
    let evicted = false;
    for (let round = 0; round < 12; round++) {
      for (const conversation of conversations) {
        const reply = await turn(deps, {
          conversationId: conversation.id,
          parentId: conversation.leaf,
        });
        conversation.leaf = reply.parent_id;
        t.ok(cache.bytes <= maxSize, `${cache.bytes} bytes cached, at most ${maxSize}`);
        t.equal(cache.bytes, cachedBytes(), 'the counted size is the JSON length of the trees');
        evicted ||= cache.size < conversations.length;
      }
    }
    t.ok(evicted, 'older trees were evicted to stay within maxSize');
    // One conversation alone, turn after turn, until its tree no longer fits in the cache.
    const [last] = conversations.slice(-1) as [{ id: string; leaf: string }];
    let turns = 0;
    while (cache.get(PRINCIPAL, last.id) !== undefined && turns++ < 100) {
      const reply = await turn(deps, { conversationId: last.id, parentId: last.leaf });
      last.leaf = reply.parent_id;
      t.ok(cache.bytes <= maxSize);
    }
    t.equal(cache.get(PRINCIPAL, last.id), undefined, 'a tree grown past maxSize is dropped');
    t.equal(cache.bytes, cachedBytes());
  },
);

t.test(
  'two turns at once in one conversation, and a turn racing a delete, leave the cache consistent',
  async (t) => {
    const { deps } = await setup(t);
    const { cache } = deps;
    const { id, leaf } = await started(deps);
    const [one, two] = await Promise.all([
      turn(deps, { conversationId: id, parentId: leaf }),
      turn(deps, { conversationId: id, parentId: leaf }),
    ]);
    const tree = cache.get(PRINCIPAL, id)?.conversation as BackendConversation;
    t.ok(tree.mapping[one.parent_id] !== undefined && tree.mapping[two.parent_id] !== undefined);
    t.equal(tree.mapping[leaf]?.children.length, 2, 'two sibling user messages under the leaf');
    t.equal(cache.sizeOf(PRINCIPAL, id), JSON.stringify(tree).length);

    // A delete (or a rename, which forgets the tree too) while the turn streams: the turn does
    // not bring back a tree it cannot know whole.
    const racing = turn(deps, { conversationId: id, parentId: one.parent_id });
    cache.delete(PRINCIPAL, id);
    await racing;
    t.equal(cache.get(PRINCIPAL, id), undefined);
    t.equal(cache.bytes, 0);
  },
);

t.test(
  'POST /conversations/new with a title renames once and asks for no generated title',
  async (t) => {
    const emulator = await createBackendEmulator({ dialect: 'legacy' });
    t.teardown(() => emulator.close());
    const handler = createHandler({ upstream: emulator.url });
    const create = async (body: object): Promise<Reply> => {
      const response = await handler(
        new Request('http://api.local/conversations/new', {
          method: 'POST',
          headers: { authorization: TOKEN, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      );
      t.equal(response.status, 201);
      return ((await response.json()) as { response: Reply }).response;
    };

    const titled = await create({ prompt: 'Hi', title: 'My title' });
    t.equal(titled.title, 'My title');
    const calls = emulator.requests.map((r) => `${r.method} ${r.path}`);
    t.same(calls, [
      'POST /backend-api/conversation',
      `PATCH /backend-api/conversation/${titled.conversation_id}`,
    ]);
    t.same(emulator.requests[1]?.body, { title: 'My title' });

    // Without a title, the generated one is asked for as before.
    emulator.requests.length = 0;
    const untitled = await create({ prompt: 'Hi' });
    t.same(
      emulator.requests.map((r) => `${r.method} ${r.path}`),
      [
        'POST /backend-api/conversation',
        `POST /backend-api/conversation/gen_title/${untitled.conversation_id}`,
      ],
    );
    t.type(untitled.title, 'string');
  },
);
