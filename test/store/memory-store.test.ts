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
