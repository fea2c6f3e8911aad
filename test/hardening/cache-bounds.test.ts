/**
 * Issue 10: the conversation cache under thousands of ids and principals stays within its entry
 * and byte bounds, never answers one principal with another's tree, and a delete-all clears one
 * principal only.
 */
import t from 'tap';
import { ConversationCache } from '../../packages/core/src/conversation/conversation-cache.js';
import { newConversation } from '../../packages/core/src/conversation/message-tree.js';

const tree = (id: string, padding = 0) => ({
  conversation: newConversation(id, `root-${id}`, 'x'.repeat(padding)),
  complete: true,
});

t.test('10,000 ids over 50 principals stay within max entries', (t) => {
  const cache = new ConversationCache({ max: 1000, maxSize: 50 * 1024 * 1024, ttl: 60_000 });
  for (let i = 0; i < 10_000; i++) cache.set(`principal-${i % 50}`, `id-${i}`, tree(`id-${i}`));
  t.equal(cache.size, 1000);
  t.equal(cache.get('principal-1', 'id-9999'), undefined, 'never another principal’s tree');
  t.ok(cache.get('principal-49', 'id-9999'), 'the owner finds it');
  cache.deletePrincipal('principal-49');
  t.equal(cache.get('principal-49', 'id-9999'), undefined);
  t.ok(cache.get('principal-48', 'id-9998'), 'other principals keep theirs');
  t.end();
});

t.test('large trees stay within maxSize', (t) => {
  const cache = new ConversationCache({ max: 100_000, maxSize: 1024 * 1024, ttl: 60_000 });
  for (let i = 0; i < 2000; i++) cache.set('p', `id-${i}`, tree(`id-${i}`, 10_000));
  t.ok(cache.size <= 105, `${cache.size} trees of ~10 kB in a 1 MiB cache`);
  cache.set('p', 'huge', tree('huge', 2 * 1024 * 1024));
  t.equal(cache.get('p', 'huge'), undefined, 'a tree larger than the cache is not kept');
  t.end();
});

t.test('ids that look like keys of other principals do not collide', (t) => {
  const cache = new ConversationCache({ max: 10, maxSize: 1024 * 1024, ttl: 60_000 });
  cache.set('a","b', 'c', tree('one'));
  t.equal(cache.get('a', 'b","c'), undefined);
  t.end();
});
