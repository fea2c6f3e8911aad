/**
 * The metrics the sidecar test does not reach: proofs of work (web dialect), autocontinue rounds,
 * cache evictions, OpenAI streams, the endpoint names of upstream calls.
 */
import { createBackendEmulator } from '@chatgpt-rest/emulator';
import { jsonRequest, parseMetrics, readReply, sampleTable } from '@chatgpt-rest/test-kit';
import { Registry } from 'prom-client';
import t from 'tap';
import { createHandler } from '../src/index.js';
import { endpointOf } from '../src/metrics/recorder.js';

const auth = { authorization: 'Bearer metrics-core-token' };

async function scrape(registry: Registry): Promise<ReturnType<typeof parseMetrics>> {
  return parseMetrics(await registry.metrics());
}

t.test('web dialect: each message solves one proof of work, counted with its time', async (t) => {
  const emulator = await createBackendEmulator({ dialect: 'web' });
  t.teardown(() => emulator.close());
  const registry = new Registry();
  const handler = createHandler({ upstream: emulator.url, dialect: 'web', metrics: { registry } });
  for (let i = 0; i < 2; i++) {
    const request = jsonRequest('http://x/conversations/new', 'POST', {
      headers: auth,
      body: { prompt: `Hi ${i}` },
    });
    t.equal((await readReply(await handler(request))).status, 201);
  }
  const samples = await scrape(registry);
  t.same(sampleTable(samples, 'chatgpt_rest_proof_of_work_total'), { 'outcome=solved': 2 });
  t.same(sampleTable(samples, 'chatgpt_rest_proof_of_work_duration_seconds_count'), { '': 2 });
  t.same(sampleTable(samples, 'chatgpt_rest_upstream_requests_total'), {
    'endpoint=chat_requirements,status=200': 2,
    'endpoint=conduit_prepare,status=200': 2,
    'endpoint=send_message,status=200': 2,
  });
  t.same(sampleTable(samples, 'chatgpt_rest_first_delta_seconds_count'), { '': 2 });
});

t.test('a proof too hard to try is counted as failed', async (t) => {
  const emulator = await createBackendEmulator({
    dialect: 'web',
    sentinel: { proofOfWork: { required: true, difficulty: '000001' } },
  });
  t.teardown(() => emulator.close());
  const registry = new Registry();
  const handler = createHandler({ upstream: emulator.url, dialect: 'web', metrics: { registry } });
  const request = jsonRequest('http://x/conversations/new', 'POST', {
    headers: auth,
    body: { prompt: 'Hi' },
  });
  t.equal((await readReply(await handler(request))).status, 502);
  const samples = await scrape(registry);
  t.same(sampleTable(samples, 'chatgpt_rest_proof_of_work_total'), { 'outcome=failed': 1 });
});

t.test('autocontinue rounds are counted, one per continue sent', async (t) => {
  const emulator = await createBackendEmulator({
    dialect: 'legacy',
    maxTokens: 3,
    reply: () => 'one two three four five six seven eight nine',
  });
  t.teardown(() => emulator.close());
  const registry = new Registry();
  const handler = createHandler({ upstream: emulator.url, metrics: { registry } });
  const request = jsonRequest('http://x/conversations/new', 'POST', {
    headers: auth,
    body: { prompt: 'count', autocontinue: true },
  });
  t.equal((await readReply(await handler(request))).status, 201);
  const samples = await scrape(registry);
  t.same(sampleTable(samples, 'chatgpt_rest_autocontinue_rounds_total'), { '': 2 });
  t.same(sampleTable(samples, 'chatgpt_rest_first_delta_seconds_count'), { '': 1 });
});

t.test('cache evictions for room are counted, with the entries and bytes left', async (t) => {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  const registry = new Registry();
  const handler = createHandler({
    upstream: emulator.url,
    cache: { max: 2 },
    metrics: { registry },
  });
  for (let i = 0; i < 5; i++) {
    const request = jsonRequest('http://x/conversations/new', 'POST', {
      headers: auth,
      body: { prompt: `Hi ${i}`, title: 'T' },
    });
    t.equal((await readReply(await handler(request))).status, 201);
  }
  const samples = await scrape(registry);
  t.same(sampleTable(samples, 'chatgpt_rest_cache_evictions_total'), {
    'reason=capacity': 3,
    'reason=expired': 0,
  });
  t.same(sampleTable(samples, 'chatgpt_rest_cache_entries'), { '': 2 });
  t.ok((sampleTable(samples, 'chatgpt_rest_cache_bytes')[''] ?? 0) > 0);
  const again = await scrape(registry);
  t.same(
    sampleTable(again, 'chatgpt_rest_cache_evictions_total')['reason=capacity'],
    3,
    'a second scrape counts nothing twice',
  );
});

t.test('an OpenAI stream is counted under api=openai, read to its end', async (t) => {
  const emulator = await createBackendEmulator({ dialect: 'legacy' });
  t.teardown(() => emulator.close());
  const registry = new Registry();
  const handler = createHandler({ upstream: emulator.url, metrics: { registry } });
  const request = jsonRequest('http://x/v1/chat/completions', 'POST', {
    headers: auth,
    body: { model: 'auto', messages: [{ role: 'user', content: 'Hi' }], stream: true },
  });
  const reply = await readReply(await handler(request));
  t.equal(reply.status, 200);
  const samples = await scrape(registry);
  t.same(sampleTable(samples, 'chatgpt_rest_streams_total'), { 'api=openai,outcome=done': 1 });
  t.equal(
    sampleTable(samples, 'chatgpt_rest_stream_sent_bytes_total')['api=openai'],
    Buffer.byteLength(reply.text),
    'the bytes are those the client read',
  );
  t.same(sampleTable(samples, 'chatgpt_rest_streams_open'), { 'api=openai': 0 });
});

t.test('upstream endpoints have fixed names, never the path', (t) => {
  const id = '6f1c7b1e-0d0e-4e43-9d6c-2b1b7d1c9a11';
  t.equal(endpointOf('GET', '/conversations?offset=0&limit=10'), 'list_conversations');
  t.equal(endpointOf('GET', `/conversation/${id}`), 'get_conversation');
  t.equal(endpointOf('PATCH', `/conversation/${id}`), 'patch_conversation');
  t.equal(endpointOf('PATCH', '/conversations'), 'patch_conversations');
  t.equal(endpointOf('POST', '/conversation'), 'send_message');
  t.equal(endpointOf('POST', '/f/conversation'), 'send_message');
  t.equal(endpointOf('POST', `/conversation/gen_title/${id}`), 'gen_title');
  t.equal(endpointOf('POST', '/sentinel/chat-requirements'), 'chat_requirements');
  t.equal(endpointOf('POST', '/f/conversation/prepare'), 'conduit_prepare');
  t.equal(endpointOf('GET', `/files/${id}`), 'other');
  t.equal(endpointOf('DELETE', '/conversations'), 'other');
  t.end();
});
