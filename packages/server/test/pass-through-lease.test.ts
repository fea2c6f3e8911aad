/**
 * The pass-through's lease names the token it sends, as the core's calls do: a reload that gave
 * the label to a new token between the token's pick and the lease charged the new token's
 * message slot for a message the old one sent (the old one could then run two at once, which
 * the upstream refuses, and the new one waited for a message it never sent).
 */
import { TokenPool } from '@chatgpt-rest/core';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import t from 'tap';
import { leaseFor } from '../src/pass-through-rules.js';

const OLD = { label: 'a', token: 'token-old-0123456789' };
const NEW = { label: 'a', token: 'token-new-0123456789' };

/** What leaseFor reads of a response: a client still there. */
function openResponse(): ServerResponse {
  return Object.assign(new EventEmitter(), { destroyed: false, closed: false }) as never;
}

t.test('a message leased after a reload waits for the slot of the token it sends', async (t) => {
  const pool = new TokenPool({ tokens: [OLD], queueWaitMs: 500 });
  // The old token is answering a message: it stays, leaving, until that ends.
  const running = await pool.lease('a', { message: true, token: OLD.token });
  pool.replaceTokens([NEW]);
  let settled = false;
  const second = leaseFor(pool, OLD, true, openResponse()).finally(() => (settled = true));
  const fresh = await pool.lease('a', { message: true, token: NEW.token });
  t.pass("the new token's slot was not taken by the old token's message");
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(settled, false, "the old token's message waits for the old token's slot");
  running.release();
  (await second).release();
  fresh.release();
});

t.test(
  'a reload that swapped two labels: the message takes the slot of the token it sends',
  async (t) => {
    const A = { label: 'a', token: 'token-aaaa-0123456789' };
    const B = { label: 'b', token: 'token-bbbb-0123456789' };
    const pool = new TokenPool({ tokens: [A, B], queueWaitMs: 500 });
    pool.replaceTokens([
      { label: 'b', token: A.token },
      { label: 'a', token: B.token },
    ]);
    // Picked as A under its old label 'a' before the reload.
    const sent = await leaseFor(pool, A, true, openResponse());
    const other = await pool.lease('a', { message: true, token: B.token });
    t.pass("token B's slot was free: A's message did not take it");
    let settled = false;
    const again = pool
      .lease('b', { message: true, token: A.token })
      .finally(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(settled, false, "a second message on token A waits for A's slot");
    sent.release();
    (await again).release();
    other.release();
  },
);
