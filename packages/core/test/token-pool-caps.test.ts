import t from 'tap';
import { MemoryStore } from '../src/store/memory-store.js';
import { TokenPool } from '../src/auth/token-pool.js';

const A = { label: 'a', token: 'token-a-0123456789' };
const cap = (clearsIn: string) =>
  `{"detail": {"code": "model_cap_exceeded", "clears_in": ${clearsIn}}}`;

t.test('a usage cap of Infinity (clears_in 1e999) does not park a held token for ever', (t) => {
  const pool = new TokenPool({ tokens: [A], store: new MemoryStore().tokens });
  pool.observe('a', 429, cap('1e999'));
  t.equal(pool.status()[0]?.state, 'ok', 'no wait announced: not parked');
  pool.observe('a', 429, cap('1e12'));
  t.match(pool.status()[0], { state: 'capped', retryAfter: 7 * 24 * 3600 }, 'a week at most');
  t.end();
});
