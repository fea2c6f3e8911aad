/**
 * The `metrics` option on every mount, with the host's own prom-client registry: the host's
 * metrics and ours side by side in one scrape.
 */
import { createHandler } from '@chatgpt-rest/core';
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { parseMetrics, sampleTable } from '@chatgpt-rest/test-kit';
import { Counter, Registry } from 'prom-client';
import t from 'tap';
import { MOUNTS, startOnEmulator } from './hardening/harness.js';

const TOKEN = 'mount-metrics-token';

for (const mount of MOUNTS.filter((m) => m.name !== 'sidecar')) {
  t.test(`${mount.name}: the metrics go into the host's registry, beside its own`, async (t) => {
    const registry = new Registry();
    const own = new Counter({ name: 'host_app_logins_total', help: 'x', registers: [registry] });
    own.inc(3);
    const { app } = await startOnEmulator(t, mount, {
      options: { metrics: { registry } },
      prefix: '/chat',
    });
    const auth = { authorization: `Bearer ${TOKEN}` };
    t.equal((await fetch(`${app.url}/chat/conversations`, { headers: auth })).status, 200);
    const post = await fetch(`${app.url}/chat/conversations`, { method: 'POST', headers: auth });
    t.equal(post.status, 405);
    const samples = parseMetrics(await registry.metrics());
    t.same(sampleTable(samples, 'host_app_logins_total'), { '': 3 }, 'the host metric stays');
    t.same(sampleTable(samples, 'chatgpt_rest_requests_total'), {
      'method=GET,route=/conversations,status=200': 1,
      'method=POST,route=/conversations,status=405': 1,
    });
    t.same(sampleTable(samples, 'chatgpt_rest_upstream_requests_total'), {
      'endpoint=list_conversations,status=200': 1,
    });
    t.notOk((await registry.metrics()).includes(TOKEN));
  });
}

t.test('two handlers on one registry add to the same series', async (t) => {
  const registry = new Registry();
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  const first = createHandler({ upstream: emulator.url, metrics: { registry } });
  const second = createHandler({ upstream: emulator.url, metrics: { registry }, cache: false });
  for (const handler of [first, second]) {
    const reply = await handler(new Request('http://app/nowhere'));
    t.equal(reply.status, 404);
  }
  const samples = parseMetrics(await registry.metrics());
  t.same(sampleTable(samples, 'chatgpt_rest_requests_total'), {
    'method=GET,route=(unmatched),status=404': 2,
  });
});

t.test('a handler without the option records nothing and answers as before', async (t) => {
  const handler = createHandler({ upstream: 'http://127.0.0.1:9/backend-api' });
  t.equal(handler.options.metrics.enabled, false);
  t.equal((await handler(new Request('http://app/nowhere'))).status, 404);
});

t.test('a registry that is not one is refused when the handler is made', (t) => {
  t.throws(
    () => createHandler({ metrics: { registry: {} as unknown as Registry } }),
    /option metrics\.registry must be a prom-client Registry/,
  );
  t.end();
});
