/**
 * The store contract: what the core needs of a SharedStore, run against every store (the
 * in-memory one and Redis on a real redis-server). `pair()` gives two stores that stand for two
 * instances: the same in-memory store twice, or two Redis stores on one server.
 */
import type { Test } from 'tap';
import type { BackendConversation, BackendMessage, SharedStore } from '@chatgpt-rest/core';
import { reservationContract } from './reservation.js';

/** How the suite gets stores. */
export interface StoreMaker {
  /** Two stores sharing one state; both closed at the test's end. */
  pair(t: Test): Promise<[SharedStore, SharedStore]>;
}

const BOUNDS = { max: 100, maxSize: 1_000_000, ttl: 60_000 };
const SLOT = { queueSize: 8, waitMs: 2000 };

function tree(id: string, title = 'a title'): BackendConversation {
  return {
    title,
    create_time: 1,
    update_time: 1,
    mapping: { root: { id: 'root', parent: null, children: [] } },
    current_node: 'root',
    conversation_id: id,
  };
}

function message(id: string, text: string): BackendMessage {
  return {
    id,
    author: { role: 'user' },
    content: { content_type: 'text', parts: [text] },
  };
}

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function slotContract(t: Test, maker: StoreMaker): void {
  t.test('one message at a time per account, the waiters first come first served', async (t) => {
    const [a, b] = await maker.pair(t);
    const order: string[] = [];
    const first = await a.tokens.acquireSlot('acct-1', SLOT);
    const waiting = ['w1', 'w2', 'w3'].map(async (name, index) => {
      await tick(index * 30);
      const store = index % 2 === 0 ? b : a;
      const release = await store.tokens.acquireSlot('acct-1', SLOT);
      order.push(name);
      await tick(10);
      release();
    });
    await tick(150);
    t.same(order, [], 'nobody gets the slot while it is held');
    const other = await b.tokens.acquireSlot('acct-2', SLOT);
    t.pass('another account is free meanwhile');
    other();
    first();
    first();
    await Promise.all(waiting);
    t.same(order, ['w1', 'w2', 'w3'], 'in arrival order, across instances');
  });

  t.test('a full queue and a long wait are conversation_busy; an abort rejects', async (t) => {
    const [a, b] = await maker.pair(t);
    const held = await a.tokens.acquireSlot('acct-q', SLOT);
    await t.rejects(b.tokens.acquireSlot('acct-q', { queueSize: 0, waitMs: 1000 }), {
      code: 'conversation_busy',
    });
    const started = Date.now();
    await t.rejects(b.tokens.acquireSlot('acct-q', { queueSize: 4, waitMs: 300 }), {
      code: 'conversation_busy',
    });
    t.ok(Date.now() - started >= 280, 'after the bounded wait');
    const controller = new AbortController();
    const aborted = b.tokens.acquireSlot('acct-q', { ...SLOT, signal: controller.signal });
    await tick(50);
    controller.abort(new Error('client left'));
    await t.rejects(aborted, { message: 'client left' });
    held();
    const again = await b.tokens.acquireSlot('acct-q', SLOT);
    t.pass('the queue is empty again: the slot is free for the next');
    again();
    await t.rejects(a.tokens.acquireSlot('acct-q', { ...SLOT, signal: AbortSignal.abort() }));
  });
}

function stateContract(t: Test, maker: StoreMaker): void {
  t.test('caps, evictions, busy accounts and sticky conversations are seen by all', async (t) => {
    const [a, b] = await maker.pair(t);
    const until = Date.now() + 60_000;
    await a.tokens.markCapped('acct-c', until);
    await a.tokens.markEvicted('acct-e', 'token_expired');
    await b.tokens.markEvicted('acct-e', 'invalid_token');
    await a.tokens.remember('conv-1', 'acct-c');
    const release = await a.tokens.acquireSlot('acct-b', SLOT);
    const view = await b.tokens.view(['acct-c', 'acct-e', 'acct-b', 'acct-none'], 'conv-1');
    t.same(view.sticky, 'acct-c');
    t.same(
      view.states.map((state) => [state.cappedUntil > Date.now(), state.evicted, state.busy]),
      [
        [true, undefined, false],
        [false, 'token_expired', false],
        [false, undefined, true],
        [false, undefined, false],
      ],
      'the first eviction reason is kept',
    );
    t.equal((await b.tokens.view([], 'conv-unknown')).sticky, undefined);
    release();
    await tick(20);
    t.equal((await a.tokens.view(['acct-b'])).states[0]?.busy, false, 'free once released');
  });
}

function cacheContract(t: Test, maker: StoreMaker): void {
  t.test('the conversation cache is one cache for every instance', async (t) => {
    const [a, b] = await maker.pair(t);
    const ca = a.conversations(BOUNDS);
    const cb = b.conversations(BOUNDS);
    t.equal(await ca.get('p1', 'c1'), undefined);
    t.equal(
      await ca.addMessages('p1', 'c1', [{ message: message('m0', 'x'), parentId: 'root' }]),
      false,
    );
    await ca.set('p1', 'c1', { conversation: tree('c1'), complete: true });
    await ca.set('p2', 'c1', { conversation: tree('c1', 'other'), complete: false });
    t.equal((await cb.get('p1', 'c1'))?.conversation.title, 'a title');
    t.equal((await cb.get('p2', 'c1'))?.complete, false);
    const placed = [{ message: message('m1', 'hello'), parentId: 'root' }];
    t.equal(await ca.addMessages('p1', 'c1', placed, 'renamed'), true);
    const seen = await cb.get('p1', 'c1');
    t.equal(seen?.conversation.current_node, 'm1', 'a turn through A is seen through B');
    t.equal(seen?.conversation.title, 'renamed');
    t.same(seen?.conversation.mapping.root?.children, ['m1']);
    t.equal(
      await cb.addMessages('p1', 'c1', [{ message: message('m2', 'again'), parentId: 'm1' }]),
      true,
    );
    t.equal((await ca.get('p1', 'c1'))?.conversation.current_node, 'm2', 'and back');
    await cb.delete('p1', 'c1');
    t.equal(await ca.get('p1', 'c1'), undefined, 'a delete through B is seen through A');
    t.equal(
      (await ca.get('p2', 'c1'))?.conversation.title,
      'other',
      'other principals keep theirs',
    );
    await ca.set('p2', 'c2', { conversation: tree('c2'), complete: true });
    await ca.set('p3', 'c3', { conversation: tree('c3'), complete: true });
    await cb.deletePrincipal('p2');
    t.equal(await ca.get('p2', 'c1'), undefined);
    t.equal(await ca.get('p2', 'c2'), undefined, 'delete-all drops every conversation of p2');
    t.ok(await ca.get('p3', 'c3'), 'and only those');
  });

  t.test('many turns through two instances keep one tree', async (t) => {
    const [a, b] = await maker.pair(t);
    const ca = a.conversations(BOUNDS);
    const cb = b.conversations(BOUNDS);
    await ca.set('p', 'long', { conversation: tree('long'), complete: true });
    let parent = 'root';
    for (let turn = 0; turn < 70; turn++) {
      const store = turn % 3 === 0 ? cb : ca;
      const id = `n${turn}`;
      t.equal(
        await store.addMessages('p', 'long', [
          { message: message(id, `t${turn}`), parentId: parent },
        ]),
        true,
      );
      parent = id;
      if (turn % 10 === 0) await (turn % 20 === 0 ? ca : cb).get('p', 'long');
    }
    for (const store of [ca, cb]) {
      const got = await store.get('p', 'long');
      t.equal(Object.keys(got?.conversation.mapping ?? {}).length, 71, 'every node, once');
      t.equal(got?.conversation.current_node, 'n69');
      t.same(got?.conversation.mapping.n68?.children, ['n69']);
    }
  });

  t.test('a tree larger than the cache is not kept; no cache when switched off', async (t) => {
    const [a] = await maker.pair(t);
    const small = a.conversations({ max: 10, maxSize: 200, ttl: 60_000 });
    const big = tree('big', 'x'.repeat(500));
    await small.set('p', 'big', { conversation: big, complete: true });
    t.equal(await small.get('p', 'big'), undefined);
  });
}

/** Runs the whole contract against one kind of store. */
/** Forgetting accounts a reload removed: a held slot and its waiters are never disturbed. */
function forgetContract(t: Test, maker: StoreMaker): void {
  t.test(
    'forget: implemented, and harmless to a held slot, its waiters and other accounts',
    async (t) => {
      const [a, b] = await maker.pair(t);
      t.ok('forget' in a.tokens, 'every store implements it');
      const held = await a.tokens.acquireSlot('acct-f', SLOT);
      const waiter = b.tokens.acquireSlot('acct-f', SLOT);
      await a.tokens.markCapped('acct-kept', Date.now() + 60_000);
      await a.tokens.forget?.(['acct-f', 'acct-never-seen']);
      await b.tokens.forget?.(['acct-f']);
      const during = await b.tokens.view(['acct-f', 'acct-kept']);
      t.equal(during.states[0]?.busy, true, 'the held slot is still held');
      t.ok((during.states[1]?.cappedUntil ?? 0) > Date.now(), 'another account keeps its cap');
      held();
      const next = await waiter;
      t.pass('the waiter got the slot once it was freed');
      next();
    },
  );
}

export function storeContract(t: Test, maker: StoreMaker): void {
  slotContract(t, maker);
  stateContract(t, maker);
  cacheContract(t, maker);
  forgetContract(t, maker);
  reservationContract(t, maker);
}
