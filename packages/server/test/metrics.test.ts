import { parseMetrics, readEvents, sampleTable, type Sample } from '@chatgpt-rest/test-kit';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { main } from '../src/cli.js';
import { raw, start, type Started } from './helpers.js';

const TOKEN = 'metrics-user-token';
const CANARY_TOKEN = 'canary-token-0b9e4d7a61c2';
const CANARY_KEY = 'canary-key-5c03e8f1a2d9';

/** The sidecar's `/metrics`, parsed. */
async function scrape(started: Started): Promise<Map<string, Sample[]>> {
  const base = started.sidecar.metrics?.url;
  if (base === undefined) throw new Error('no metrics endpoint');
  const response = await fetch(`${base}/metrics`);
  if (response.status !== 200) throw new Error(`metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** Starts a sidecar with metrics on a free port of their own. */
function startWithMetrics(t: Test, options: Parameters<typeof start>[1] = {}) {
  return start(t, { metrics: { port: 0 }, ...options });
}

t.test('/metrics is on its own port, not on the API port', async (t) => {
  const started = await startWithMetrics(t);
  const onApi = await raw(started.port, 'GET', '/metrics');
  t.equal(onApi.status, 404, 'the API port has no /metrics');
  const base = started.sidecar.metrics?.url ?? '';
  t.not(new URL(base).port, String(started.port));
  t.match(new URL(base).hostname, '127.0.0.1');
  const response = await fetch(`${base}/metrics`);
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  t.match(text, /^process_cpu_user_seconds_total /m, 'default process metrics');
  t.match(text, /^nodejs_eventloop_lag_seconds /m);
  t.match(text, /^# TYPE chatgpt_rest_requests_total counter$/m);
  t.equal((await fetch(`${base}/other`)).status, 404);
  t.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404);
});

t.test('a sidecar without the option serves no metrics and opens no second port', async (t) => {
  const started = await start(t);
  t.equal(started.sidecar.metrics, undefined);
  t.equal((await raw(started.port, 'GET', '/metrics')).status, 404);
});

t.test(
  'after a scripted mix of requests, /metrics holds the exact counts and label sets',
  async (t) => {
    const started = await startWithMetrics(t);
    const { url, emulator } = started;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const json = { ...auth, 'content-type': 'application/json' };
    // A success, a 404, an upstream 429.
    t.equal((await fetch(`${url}/conversations`, { headers: auth })).status, 200);
    t.equal((await fetch(`${url}/nowhere/at/all`, { headers: auth })).status, 404);
    emulator.inject({ match: { path: '/conversations' }, times: 1, fault: { type: 'model_cap' } });
    t.equal((await fetch(`${url}/conversations`, { headers: auth })).status, 429);
    // A stream read to its end.
    const created = await fetch(`${url}/conversations/new`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt: 'Hello', stream: true }),
    });
    t.equal(created.status, 200);
    let reply: { conversation_id: string; parent_id: string } | undefined;
    for await (const event of readEvents(created)) {
      if (event.event === 'reply') reply = event.data as typeof reply;
    }
    if (reply === undefined) throw new Error('no reply');
    const id = reply.conversation_id;
    // A cache hit: the tree the stream built.
    t.equal((await fetch(`${url}/conversations/${id}/messages`, { headers: auth })).status, 200);
    // A stream the client leaves after its first delta (the upstream stalls until then).
    emulator.inject({
      match: { method: 'POST', path: '/conversation' },
      times: 1,
      fault: { type: 'stall_mid_stream', afterEvents: 2 },
    });
    const controller = new AbortController();
    const asked = await fetch(`${url}/conversations/${id}/ask`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt: 'More', parent_id: reply.parent_id, stream: true }),
      signal: controller.signal,
    });
    t.equal(asked.status, 200);
    for await (const event of readEvents(asked)) if (event.event === 'delta') break;
    controller.abort();

    let samples = await scrape(started);
    for (let i = 0; i < 500; i++) {
      const ended = sampleTable(samples, 'chatgpt_rest_streams_total');
      if (ended['api=rest,outcome=aborted'] === 1) break;
      await new Promise((resolve) => setImmediate(resolve));
      samples = await scrape(started);
    }
    t.same(sampleTable(samples, 'chatgpt_rest_requests_total'), {
      'method=GET,route=/conversations,status=200': 1,
      'method=GET,route=(unmatched),status=404': 1,
      'method=GET,route=/conversations,status=429': 1,
      'method=POST,route=/conversations/new,status=200': 1,
      'method=GET,route=/conversations/:id/messages,status=200': 1,
      'method=POST,route=/conversations/:id/ask,status=200': 1,
    });
    t.same(sampleTable(samples, 'chatgpt_rest_request_duration_seconds_count'), {
      'route=/conversations': 2,
      'route=(unmatched)': 1,
      'route=/conversations/new': 1,
      'route=/conversations/:id/messages': 1,
      'route=/conversations/:id/ask': 1,
    });
    t.same(sampleTable(samples, 'chatgpt_rest_upstream_requests_total'), {
      'endpoint=list_conversations,status=200': 1,
      'endpoint=list_conversations,status=429': 1,
      'endpoint=send_message,status=200': 2,
      'endpoint=gen_title,status=200': 1,
    });
    t.same(sampleTable(samples, 'chatgpt_rest_upstream_first_byte_seconds_count'), {
      'endpoint=list_conversations': 2,
      'endpoint=send_message': 2,
      'endpoint=gen_title': 1,
    });
    t.same(sampleTable(samples, 'chatgpt_rest_upstream_request_duration_seconds_count'), {
      'endpoint=list_conversations': 1,
      'endpoint=gen_title': 1,
    });
    t.same(sampleTable(samples, 'chatgpt_rest_streams_total'), {
      'api=rest,outcome=done': 1,
      'api=rest,outcome=aborted': 1,
    });
    t.same(sampleTable(samples, 'chatgpt_rest_streams_open'), { 'api=rest': 0 });
    t.same(sampleTable(samples, 'chatgpt_rest_stream_duration_seconds_count'), { 'api=rest': 2 });
    t.ok((sampleTable(samples, 'chatgpt_rest_stream_sent_bytes_total')['api=rest'] ?? 0) > 0);
    t.same(sampleTable(samples, 'chatgpt_rest_first_delta_seconds_count'), { '': 2 });
    t.same(sampleTable(samples, 'chatgpt_rest_cache_hits_total'), { '': 1 });
    t.same(sampleTable(samples, 'chatgpt_rest_cache_misses_total'), { '': 0 });
    t.same(sampleTable(samples, 'chatgpt_rest_cache_entries'), { '': 1 });
    t.ok((sampleTable(samples, 'chatgpt_rest_cache_bytes')[''] ?? 0) > 0);
    t.same(sampleTable(samples, 'chatgpt_rest_autocontinue_rounds_total'), { '': 0 });
    t.same(sampleTable(samples, 'chatgpt_rest_proof_of_work_total'), {}, 'legacy: no proofs');
    t.same(sampleTable(samples, 'chatgpt_rest_token_state'), {}, 'passthrough: no held tokens');
  },
);

t.test(
  'no metric label or value holds a token, an API key or a conversation id (canaries)',
  async (t) => {
    const started = await startWithMetrics(t, {
      tokens: [
        { label: 'main', token: CANARY_TOKEN },
        { label: 'spare', token: `${CANARY_TOKEN}-2` },
      ],
      apiKeys: [CANARY_KEY],
    });
    const { url, emulator } = started;
    const headers = { authorization: `Bearer ${CANARY_KEY}`, 'content-type': 'application/json' };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await fetch(`${url}/conversations/new`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ prompt: `Hello ${i}` }),
      });
      const body = (await created.json()) as { response: { conversation_id: string } };
      ids.push(body.response.conversation_id);
    }
    for (const id of ids) {
      await fetch(`${url}/conversations/${id}`, { headers }).then((r) => r.text());
      await fetch(`${url}/conversations/${id}/ask?token=${CANARY_TOKEN}`, {
        method: 'POST',
        headers: { ...headers, 'x-api-key': CANARY_KEY },
        body: JSON.stringify({ prompt: 'again' }),
      }).then((r) => r.text());
    }
    await fetch(`${url}/conversations/not-a-uuid/messages`, { headers }).then((r) => r.text());
    await fetch(`${url}/${CANARY_TOKEN}`, { headers }).then((r) => r.text());
    emulator.tokens.expire(CANARY_TOKEN);
    emulator.tokens.expire(`${CANARY_TOKEN}-2`);
    await fetch(`${url}/conversations`, { headers }).then((r) => r.text());
    await fetch(`${url}/conversations`, { headers }).then((r) => r.text());
    const base = started.sidecar.metrics?.url ?? '';
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const secret of [CANARY_TOKEN, CANARY_KEY, ...ids]) {
      t.notOk(text.includes(secret), `the scrape never holds ${secret.slice(0, 12)}…`);
    }
    t.notOk(/canary/i.test(text), 'no part of a canary either');
    const samples = parseMetrics(text);
    t.same(sampleTable(samples, 'chatgpt_rest_token_evictions_total'), {
      'token_label=main': 1,
      'token_label=spare': 1,
    });
    t.same(sampleTable(samples, 'chatgpt_rest_token_state'), {
      'state=ok,token_label=main': 0,
      'state=capped,token_label=main': 0,
      'state=evicted,token_label=main': 1,
      'state=ok,token_label=spare': 0,
      'state=capped,token_label=spare': 0,
      'state=evicted,token_label=spare': 1,
    });
    t.same(sampleTable(samples, 'chatgpt_rest_token_in_flight'), {
      'token_label=main': 0,
      'token_label=spare': 0,
    });
    const routes = new Set(
      (samples.get('chatgpt_rest_requests_total') ?? []).map((s) => s.labels.route),
    );
    t.same([...routes].sort(), [
      '(unmatched)',
      '/conversations',
      '/conversations/:id',
      '/conversations/:id/ask',
      '/conversations/:id/messages',
      '/conversations/new',
    ]);
    // A second scrape counts no eviction twice.
    const again = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    t.same(sampleTable(again, 'chatgpt_rest_token_evictions_total'), {
      'token_label=main': 1,
      'token_label=spare': 1,
    });
  },
);

t.test('a capped held token shows when its cap clears', async (t) => {
  const started = await startWithMetrics(t, {
    tokens: [{ label: 'only', token: 'capped-token-1' }],
    apiKeys: ['key-1'],
  });
  started.emulator.inject({ times: 1, fault: { type: 'model_cap', clearsIn: 120 } });
  const before = Math.floor(Date.now() / 1000);
  const answer = await fetch(`${started.url}/conversations`, {
    headers: { authorization: 'Bearer key-1' },
  });
  t.equal(answer.status, 429);
  const samples = await scrape(started);
  const until = sampleTable(samples, 'chatgpt_rest_token_capped_until_timestamp_seconds');
  const value = until['token_label=only'] ?? 0;
  t.ok(value >= before + 119 && value <= before + 122, `cap clears in about 120 s (${value})`);
  t.equal(sampleTable(samples, 'chatgpt_rest_token_state')['state=capped,token_label=only'], 1);
});

t.test('chatgpt-rest --version and -v print the package version', async (t) => {
  const file = new URL('../package.json', import.meta.url);
  const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
  for (const flag of ['--version', '-v']) {
    const out: string[] = [];
    const code = await main(
      [flag],
      {},
      { out: (s) => out.push(s), err: () => undefined, log: () => undefined },
      new Promise(() => undefined),
    );
    t.equal(code, 0);
    t.same(out, [version], flag);
  }
  t.match(version, /^\d+\.\d+\.\d+/);
});
