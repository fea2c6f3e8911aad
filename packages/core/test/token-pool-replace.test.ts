import t from 'tap';
import { MemoryStore } from '../src/store/memory-store.js';
import { TokenPool } from '../src/auth/token-pool.js';
import { accountOf } from '../src/store/store.js';

const A = { label: 'a', token: 'token-a-0123456789' };
const B = { label: 'b', token: 'token-b-0123456789' };
const C = { label: 'c', token: 'token-c-0123456789' };
const CAP_BODY = JSON.stringify({ detail: { code: 'model_cap_exceeded', clears_in: 600 } });

t.test(
  'replaceTokens: kept tokens keep their state, removed ones leave with their last request',
  async (t) => {
    const store = new MemoryStore();
    const pool = new TokenPool({ tokens: [A, B], store: store.tokens });
    const running = await pool.lease('a', { message: true, token: A.token });
    pool.observe('b', 429, CAP_BODY);
    t.equal(pool.status().find((s) => s.label === 'b')?.state, 'capped');

    const changes = pool.replaceTokens([B, C]);
    t.same(changes, { added: ['c'], removed: ['a'], kept: ['b'] });
    t.same(
      pool.status().map((s) => [s.label, s.state]),
      [
        ['b', 'capped'],
        ['c', 'ok'],
      ],
      'b keeps its cap; a is out of rotation',
    );
    t.same(pool.heldTokens().sort(), [A.token, B.token, C.token].sort(), 'a is still redacted');
    t.equal((await pool.choose()).label, 'c', 'new requests go to c (b is capped, a gone)');
    t.equal(pool.labelOf(A.token), 'a', 'the running request still finds its token');
    running.release();
    t.same(pool.heldTokens().sort(), [B.token, C.token].sort(), 'a left with its last request');
    t.equal(pool.labelOf(A.token), undefined);
    // Its slot was freed, and the store forgot the account.
    const { states } = await store.tokens.view([accountOf(A.token)]);
    t.same(states[0], { cappedUntil: 0, evicted: undefined, busy: false });
  },
);

t.test('replaceTokens: a bad set changes nothing; a label given to a new token', async (t) => {
  const pool = new TokenPool({ tokens: [A, B] });
  t.throws(() => pool.replaceTokens([]), /needs a token/);
  t.throws(() => pool.replaceTokens([A, { label: 'a', token: 'other-token-000' }]), /used twice/);
  t.same(
    pool.status().map((s) => s.label),
    ['a', 'b'],
    'the old set stays',
  );

  const before = await pool.lease('a', { message: false, token: A.token });
  const renewed = { label: 'a', token: 'token-a-renewed-99' };
  t.same(pool.replaceTokens([renewed, B]), { added: ['a'], removed: ['a'], kept: ['b'] });
  // A 401 learnt by the old token's request must not evict the new token under its label.
  before.observe(401, JSON.stringify({ detail: { code: 'token_expired' } }));
  t.equal(pool.status().find((s) => s.label === 'a')?.state, 'ok', 'the renewed token is fine');
  before.release();
  t.same(pool.heldTokens().sort(), [renewed.token, B.token].sort());
});
