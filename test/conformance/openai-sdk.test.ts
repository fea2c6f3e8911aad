/**
 * The OpenAI-compatible routes through the official `openai` SDK, pointed at every mount with
 * `baseURL`, in both dialects, against the emulator: a completion, the same completion streamed,
 * a multi-turn call that continues the upstream conversation instead of re-sending the history,
 * the model list, the SDK's error classes, and a stream the client leaves aborting the upstream.
 */
import OpenAI from 'openai';
import t, { type Test } from 'tap';
import { createOpenApiValidator } from '@chatgpt-rest/test-kit';
import { openapiDocument } from '../../packages/core/src/http/openapi.js';
import { MOUNTS, guardProcess, startOnEmulator } from '../hardening/harness.js';

const SEND = /\/conversation$/;
const validator = createOpenApiValidator(openapiDocument('/api'));

/** The SDK's `fetch`: each answer checked against the OpenAPI document (streams chunk by chunk). */
function validatingFetch(t: Test): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const response = await fetch(request);
    const path = new URL(request.url).pathname;
    return validator.watch(request.method, path, response, (problem) => {
      t.fail(`OpenAPI: ${problem}`);
    });
  };
}

/** Asserts that `promise` rejects with an instance of `type` (the SDK's error classes). */
async function rejectsWith(
  t: Test,
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  label: string,
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  t.ok(error instanceof type, `${label}: ${type.name}`);
}

for (const mount of MOUNTS) {
  for (const dialect of ['legacy', 'web'] as const) {
    t.test(`openai SDK on ${mount.name} (${dialect})`, async (t) => {
      const guard = guardProcess(t);
      const { app, emulator } = await startOnEmulator(t, mount, {
        dialect,
        emulator: { replyWords: 24, pacingMs: 5 },
        prefix: '/api',
      });
      const client = (apiKey: string, maxRetries = 0) =>
        new OpenAI({ apiKey, baseURL: `${app.url}/api/v1`, maxRetries, fetch: validatingFetch(t) });
      const openai = client(`sdk-token-${mount.name.replace(/\W+/g, '-')}-${dialect}`);
      const messages = [
        { role: 'system' as const, content: 'Be brief.' },
        { role: 'user' as const, content: 'Tell me about rivers.' },
      ];

      const completion = await openai.chat.completions.create({ model: 'auto', messages });
      const text = completion.choices[0]?.message.content ?? '';
      t.equal(completion.object, 'chat.completion');
      t.ok(text.length > 0, 'a reply');
      t.equal(completion.choices[0]?.finish_reason, 'stop');
      t.ok((completion.usage?.total_tokens ?? 0) > 0, 'estimated usage');
      const first = emulator.requests
        .filter((r) => r.method === 'POST' && SEND.test(r.path))
        .at(-1);
      const sent = first?.body as { messages: unknown[]; history_and_training_disabled: boolean };
      t.equal(sent.messages.length, 2, 'the system message went in the same turn');
      t.equal(sent.history_and_training_disabled, true, 'a temporary chat by default');

      const stream = await openai.chat.completions.create({
        model: 'auto',
        messages: [{ role: 'user', content: 'Tell me about rivers.' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let streamed = '';
      let finish: string | null = null;
      let usage = 0;
      for await (const chunk of stream) {
        streamed += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        usage = chunk.usage?.total_tokens ?? usage;
      }
      t.equal(streamed, text, 'the streamed text equals the reply for the same prompt and seed');
      t.equal(finish, 'stop');
      t.ok(usage > 0, 'the usage chunk came');

      const before = emulator.requests.length;
      const next = await openai.chat.completions.create({
        model: 'auto',
        messages: [
          ...messages,
          { role: 'assistant', content: text },
          { role: 'user', content: 'More?' },
        ],
      });
      t.ok((next.choices[0]?.message.content ?? '').length > 0);
      const reused = emulator.requests
        .slice(before)
        .filter((r) => r.method === 'POST' && SEND.test(r.path))
        .at(-1)?.body as { messages: unknown[]; conversation_id?: string };
      t.equal(reused.messages.length, 1, 'only the new message was sent');
      t.type(reused.conversation_id, 'string', 'the upstream conversation was continued');

      const models = await openai.models.list();
      t.ok(models.data.some((model) => model.id === 'auto'));
      t.equal((await openai.models.retrieve('gpt-4o')).id, 'gpt-4o');
      await rejectsWith(t, openai.models.retrieve('no-such-model'), OpenAI.NotFoundError, 'model');
      await rejectsWith(
        t,
        openai.chat.completions.create({ model: 'not-offered-here', messages }),
        OpenAI.NotFoundError,
        'a model this deployment does not offer',
      );
      await rejectsWith(
        t,
        openai.chat.completions.create({ model: 'free text\nhere', messages }),
        OpenAI.BadRequestError,
        'a model that is no model name',
      );

      await rejectsWith(
        t,
        openai.chat.completions.create({ model: 'auto', messages: [] }),
        OpenAI.BadRequestError,
        'no messages',
      );
      // Each message goes upstream with its own ids: a count cap keeps a 1 MiB body from
      // turning into a 10 MB upstream request. (61 KB here: under express.json()'s 100 KB.)
      const tooMany = await openai.chat.completions
        .create({
          model: 'auto',
          messages: Array.from({ length: 2049 }, () => ({ role: 'user' as const, content: '' })),
        })
        .catch((error: unknown) => error);
      t.ok(tooMany instanceof OpenAI.BadRequestError, 'more than 2,048 messages is a 400');
      t.equal((tooMany as { param?: string }).param, 'messages');
      const imageError = await openai.chat.completions
        .create({
          model: 'auto',
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
        })
        .catch((error: unknown) => error);
      t.ok(imageError instanceof OpenAI.BadRequestError, 'an image part is a 400');
      t.equal((imageError as { param?: string }).param, 'messages[0].content[0]');
      emulator.tokens.invalidate('sdk-rejected-token');
      await rejectsWith(
        t,
        client('sdk-rejected-token').chat.completions.create({ model: 'auto', messages }),
        OpenAI.AuthenticationError,
        'AuthenticationError',
      );
      const capped = `sdk-capped-${dialect}`;
      emulator.inject({
        match: { token: capped },
        times: 2,
        fault: { type: 'model_cap', clearsIn: 0 },
      });
      const retried = await client(capped, 2).chat.completions.create({ model: 'auto', messages });
      t.ok(
        (retried.choices[0]?.message.content ?? '').length > 0,
        'the SDK retried a 429 and got through',
      );
      emulator.inject({
        match: { token: capped },
        times: 5,
        fault: { type: 'model_cap', clearsIn: 0 },
      });
      await rejectsWith(
        t,
        client(capped, 0).chat.completions.create({ model: 'auto', messages }),
        OpenAI.RateLimitError,
        'RateLimitError',
      );
      t.notOk(
        emulator.requests.some((r) => r.path.includes('/gen_title/')),
        'a temporary chat is never titled (no second upstream call)',
      );
      t.same(guard.escaped, []);
    });
  }
}

t.test('an SDK stream the client leaves aborts the upstream within 100 ms', async (t) => {
  const { app, emulator } = await startOnEmulator(t, MOUNTS[0]!, {
    emulator: { replyWords: 200, pacingMs: 30 },
    bodyParser: false,
  });
  const openai = new OpenAI({
    apiKey: 'sdk-leaving-token',
    baseURL: `${app.url}/v1`,
    maxRetries: 0,
  });
  const delays: number[] = [];
  while (delays.length < 3 && !delays.some((ms) => ms < 100)) {
    const mark = emulator.requests.length;
    const stream = await openai.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'Go on for a while.' }],
      stream: true,
    });
    for await (const chunk of stream) {
      if ((chunk.choices[0]?.delta.content ?? '') !== '') break;
    }
    const left = Date.now();
    stream.controller.abort();
    const upstream = emulator.requests.slice(mark).find((r) => r.method === 'POST');
    const closure = await upstream?.closed;
    t.equal(closure?.aborted, true, 'the emulator saw the request aborted');
    delays.push((closure?.at ?? Infinity) - left);
  }
  t.ok(Math.min(...delays) < 100, `upstream closed ${delays.join(', ')} ms after the client left`);
});
