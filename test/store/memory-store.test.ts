import t from 'tap';
import { MemoryStore } from '@chatgpt-rest/core';
import { storeContract } from './contract.js';

// Two "instances" of the in-memory store are one store shared in one process.
storeContract(t, {
  pair: async () => {
    const store = new MemoryStore();
    return Promise.resolve([store, store]);
  },
});

t.test('forget drops what the in-memory store kept of accounts no token names', async (t) => {
  const store = new MemoryStore();
  store.tokens.markCapped('gone', Date.now() + 60_000);
  store.tokens.markEvicted('gone', 'token_expired');
  const release = await store.tokens.acquireSlot('gone', { queueSize: 1, waitMs: 1000 });
  release();
  await store.tokens.forget?.(['gone']);
  const { states } = await store.tokens.view(['gone']);
  t.same(states[0], { cappedUntil: 0, evicted: undefined, busy: false }, 'a clean slate');
});
