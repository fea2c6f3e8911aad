import t from 'tap';
import { createRedisStore } from '@chatgpt-rest/redis-store';
import { REDIS_MISSING, startRedisServer } from '@chatgpt-rest/test-kit';
import { storeContract } from './contract.js';

const redis = await startRedisServer();
if (redis === undefined) {
  t.plan(0, REDIS_MISSING);
} else {
  t.teardown(() => redis.stop());
  let prefix = 0;
  storeContract(t, {
    // Two stores on one server (two instances), each test under a prefix of its own.
    pair: async (t) => {
      const options = { url: redis.url, prefix: `contract-${++prefix}:` };
      const stores = [createRedisStore(options), createRedisStore(options)] as const;
      t.teardown(() => Promise.all(stores.map((store) => store.close())));
      await Promise.all(stores.map((store) => store.ready()));
      return [stores[0], stores[1]];
    },
  });
}
