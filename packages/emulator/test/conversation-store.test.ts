/**
 * The emulator's conversation store forgets what a long-running user no longer needs: the bench
 * made ~100,000 conversations over a run and its emulator's major GCs stalled for seconds.
 */
import t from 'tap';
import { ConversationStore } from '../src/conversation-store.js';

t.test('retain forgets the conversations it is not told to keep, of every owner', (t) => {
  const store = new ConversationStore();
  const kept = store.create('alice', 'auto');
  store.create('alice', 'auto');
  const hidden = store.create('bob', 'auto');
  hidden.isVisible = false;
  store.create('carol', 'auto');
  const removed = store.retain((owner, conversation) => owner === 'alice' && conversation === kept);
  t.equal(removed, 3, 'three forgotten, the hidden one included');
  t.same(
    [...store.entries()].map(([owner, c]) => [owner, c.id]),
    [['alice', kept.id]],
  );
  t.equal(store.get('alice', kept.id), kept, 'the kept one is still found');
  t.same(store.list('carol'), [], 'an owner left with nothing lists nothing');
  t.equal(
    store.retain(() => true),
    0,
    'keeping all removes none',
  );
  t.end();
});
