/**
 * The web dialect's sentinel forgot no token: every requirements token (used ones included) and
 * every conduit never sent back stayed in its maps for the emulator's life, ~1 KB each, a
 * thousand a second under a load test. It now holds SENTINEL_TOKENS_HELD of each, oldest out.
 */
import t from 'tap';
import { SENTINEL_TOKENS_HELD, Sentinel } from '../src/sentinel.js';

const OPTIONS = {
  tokenTtlSeconds: 540,
  proofOfWork: { required: false, difficulty: '0fffff' },
  turnstile: { required: false, enforce: false },
  arkose: { required: false },
  forceLogin: false,
  persona: 'chatgpt-freeaccount',
};
const TARGET = { conversationId: null, parentMessageId: 'parent' };

function headers(requirements: string, conduit: string) {
  return { requirements, proof: undefined, turnstile: undefined, conduit };
}

t.test('the oldest requirements token is forgotten once the sentinel holds its cap', (t) => {
  const sentinel = new Sentinel(OPTIONS);
  const first = sentinel.issue('alice').token;
  const conduit = () => sentinel.prepare('alice', null, 'parent');
  for (let i = 1; i < SENTINEL_TOKENS_HELD; i++) sentinel.issue('alice');
  const held = sentinel.issue('alice').token;
  t.equal(sentinel.check('alice', headers(first, conduit()), TARGET), 'requirements_token_unknown');
  t.equal(sentinel.check('alice', headers(held, conduit()), TARGET), undefined, 'the newest works');
  t.equal(
    sentinel.check('alice', headers(held, conduit()), TARGET),
    'requirements_token_reused',
    'a used one is still known',
  );
  t.end();
});

t.test('the oldest unused conduit is forgotten once the sentinel holds its cap', (t) => {
  const sentinel = new Sentinel(OPTIONS);
  const first = sentinel.prepare('alice', null, 'parent');
  for (let i = 1; i < SENTINEL_TOKENS_HELD; i++) sentinel.prepare('alice', null, 'parent');
  const held = sentinel.prepare('alice', null, 'parent');
  const token = () => sentinel.issue('alice').token;
  t.equal(sentinel.check('alice', headers(token(), first), TARGET), 'conduit_mismatch');
  t.equal(sentinel.check('alice', headers(token(), held), TARGET), undefined, 'the newest works');
  t.end();
});
