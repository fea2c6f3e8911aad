import t from 'tap';
import { ConversationCache } from '../src/conversation/conversation-cache.js';
import { newConversation } from '../src/conversation/message-tree.js';
import { resolveOptions } from '../src/options.js';

t.test('defaults are applied in one place', (t) => {
  const options = resolveOptions({}, {});
  t.equal(options.upstream, 'https://chatgpt.com/backend-api');
  t.equal(options.dialect, 'web', 'auto picks web for the default chatgpt.com upstream');
  t.equal(options.encoding, 'v1');
  t.equal(options.autocontinueLimit, 3);
  t.same(options.limits, { body: 1024 * 1024, prompt: 100_000, upstreamBody: 16 * 1024 * 1024 });
  t.equal(options.cors, undefined, 'CORS is off by default');
  t.equal(options.pingInterval, 15_000);
  t.same(options.auth, { mode: 'passthrough' });
  t.equal(resolveOptions({ dialect: 'web' }, {}).encoding, 'v1');
  t.end();
});

t.test('CHATGPT_BASE_URL is the upstream when no option names one', (t) => {
  t.equal(
    resolveOptions({}, { CHATGPT_BASE_URL: 'http://proxy.local/backend-api/' }).upstream,
    'http://proxy.local/backend-api',
  );
  t.equal(
    resolveOptions({ upstream: 'http://a/b' }, { CHATGPT_BASE_URL: 'http://c/d' }).upstream,
    'http://a/b',
  );
  t.end();
});

t.test('nonsense options fail at creation with a clear message', (t) => {
  t.throws(() => resolveOptions({ upstream: 'not a url' }, {}), /upstream/);
  t.throws(() => resolveOptions({ dialect: 'x' as 'web' }, {}), /dialect/);
  t.throws(() => resolveOptions({ timeouts: { idle: -1 } }, {}), /timeouts.idle/);
  // A Node timer waits at most 2^31 - 1 ms; a longer delay fires after 1 ms.
  t.throws(() => resolveOptions({ timeouts: { idle: 2 ** 31 } }, {}), /timeouts.idle.*at most/);
  t.throws(() => resolveOptions({ pingInterval: 1e12 }, {}), /pingInterval.*at most/);
  t.equal(resolveOptions({ timeouts: { idle: 2 ** 31 - 1 } }, {}).timeouts.idle, 2 ** 31 - 1);
  t.throws(() => resolveOptions({ autocontinueLimit: 1.5 }, {}), /autocontinueLimit/);
  t.throws(() => resolveOptions({ prefix: 'chat' }, {}), /prefix/);
  t.throws(
    () => resolveOptions({ auth: { mode: 'server', tokens: [], apiKeys: ['k'] } }, {}),
    /at least one token/,
  );
  t.end();
});

t.test('server-held tokens without API keys refuse to start unless open mode is explicit', (t) => {
  const tokens = [{ label: 'a', token: 'canary-token-xyz' }];
  t.throws(
    () => resolveOptions({ auth: { mode: 'server', tokens, apiKeys: [] } }, {}),
    /allowOpen/,
  );
  t.doesNotThrow(() =>
    resolveOptions({ auth: { mode: 'server', tokens, apiKeys: [], allowOpen: true } }, {}),
  );
  t.end();
});

t.test('the cache keys by (principal, id) and clears one principal only', (t) => {
  const cache = new ConversationCache({ max: 10, maxSize: 1_000_000, ttl: 60_000 });
  const entry = { conversation: newConversation('c1', 'r', 't'), complete: true };
  cache.set('p1', 'c1', entry);
  cache.set('p2', 'c1', entry);
  // A principal/id pair that would collide under naive concatenation.
  cache.set('p1:c', '1', entry);
  t.equal(cache.get('p1', 'c1'), entry);
  t.equal(cache.get('p3', 'c1'), undefined);
  cache.deletePrincipal('p1');
  t.equal(cache.get('p1', 'c1'), undefined);
  t.equal(cache.get('p2', 'c1'), entry);
  t.equal(cache.get('p1:c', '1'), entry);
  cache.delete('p2', 'c1');
  t.equal(cache.size, 1);
  t.end();
});

t.test('the cache is bounded by entries and by bytes', (t) => {
  const byCount = new ConversationCache({ max: 2, maxSize: 1_000_000, ttl: 60_000 });
  for (const id of ['a', 'b', 'c'])
    byCount.set('p', id, { conversation: newConversation(id, 'r', null), complete: true });
  t.equal(byCount.size, 2);
  t.equal(byCount.get('p', 'a'), undefined);
  const bySize = new ConversationCache({ max: 100, maxSize: 600, ttl: 60_000 });
  for (const id of ['a', 'b', 'c'])
    bySize.set('p', id, {
      conversation: newConversation(id, 'r', 'x'.repeat(150)),
      complete: true,
    });
  t.ok(bySize.size < 3);
  const off = new ConversationCache(false);
  off.set('p', 'a', { conversation: newConversation('a', 'r', null), complete: true });
  t.equal(off.get('p', 'a'), undefined);
  off.deletePrincipal('p');
  t.end();
});
