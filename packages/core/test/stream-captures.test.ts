import t from 'tap';
import { RestError } from '../src/errors.js';
import { readReply } from '../src/stream/reply-reader.js';
import { COMPLETE, PARTIAL_WITH_DONE, read, sha256 } from './stream-captures-expected.js';
import { fixtureBytes as capture, fixtureText as captureText } from '@chatgpt-rest/test-kit';
import { byteByByte, bytes, chunks, drain, splitAt } from './stream-helpers.js';

for (const expected of [...COMPLETE, ...PARTIAL_WITH_DONE]) {
  const { titles } = expected;

  t.test(
    `${expected.file} read whole gives the reply text, title and ids of the capture`,
    async (t) => {
      const outcome = await read(chunks(capture(expected.file)));
      t.equal(outcome.text.length, expected.length, 'length');
      t.equal(sha256(outcome.text), expected.sha256, 'sha256');
      t.ok(outcome.text.startsWith(expected.start), 'start');
      t.ok(outcome.text.endsWith(expected.end), 'end');
      t.equal(outcome.deltas, outcome.text, 'the deltas add up to the text');
      t.same(outcome.titles, titles, 'every title is reported');
      t.equal(outcome.complete.title, titles.at(-1), 'the last title wins');
      t.equal(outcome.complete.conversationId, expected.conversationId);
      t.equal(outcome.complete.message.id, expected.messageId);
      t.equal(outcome.complete.skippedLines, 0, 'every line of a real capture is understood');
    },
  );

  t.test(`${expected.file} fed one byte per chunk reads the same`, async (t) => {
    const outcome = await read(byteByByte(capture(expected.file)));
    t.equal(sha256(outcome.text), expected.sha256);
    t.equal(outcome.deltas, outcome.text);
    t.same(outcome.titles, titles);
  });

  t.test(`${expected.file} with CRLF or CR line endings reads the same`, async (t) => {
    const text = captureText(expected.file);
    for (const ending of ['\r\n', '\r']) {
      const variant = bytes(text.replaceAll('\n', ending));
      const whole = await read(chunks(variant));
      t.equal(sha256(whole.text), expected.sha256, `${JSON.stringify(ending)} whole`);
      t.same(whole.titles, titles);
      const tiny = await read(byteByByte(variant));
      t.equal(tiny.text, whole.text, `${JSON.stringify(ending)} one byte per chunk`);
    }
  });
}

t.test(
  'the heartbeat-only capture has no [DONE] and is an upstream_error at every split',
  async (t) => {
    const input = capture('legacy-2023-02-heartbeat-line-partial.sse');
    for (let at = 0; at <= input.length; at++) {
      const error = await drain(readReply(splitAt(input, at))).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(error instanceof RestError) || error.code !== 'upstream_error') {
        t.fail(`split at ${at} did not fail with upstream_error`);
        return;
      }
    }
    t.pass('every split fails with upstream_error');
  },
);

t.test('a capture cut before its [DONE] is an upstream_error', async (t) => {
  const text = captureText('v1-2026-01-famous-people-10-a.sse');
  const cut = text.slice(0, text.indexOf('data: [DONE]'));
  await t.rejects(drain(readReply(chunks(cut))), {
    code: 'upstream_error',
    message: 'The upstream stream ended before [DONE].',
  });
  const midLine = text.slice(0, text.indexOf('Frida'));
  await t.rejects(drain(readReply(chunks(midLine))), { code: 'upstream_error' });
});

t.test('the 2026-01 capture echoes the user message with its id', async (t) => {
  const { events } = await read(chunks(capture('v1-2026-01-famous-people-10-a.sse')));
  const echoes = events.flatMap((e) => (e.type === 'user_message' ? [e.message] : []));
  t.equal(echoes.length, 1);
  t.equal(echoes[0]?.id, 'b274ffa4-16a9-45d5-be0f-1374c0abb419');
  t.same(echoes[0]?.content.parts, ['give me a list of 10 famous people']);
  const { complete } = await read(chunks(capture('v1-2026-01-famous-people-10-a.sse')));
  t.equal(complete.encoding, 'v1');
  t.equal(complete.message.status, 'finished_successfully');
  t.equal(complete.message.end_turn, true);
  t.same(complete.message.metadata?.finish_details, { type: 'stop', stop_tokens: [200002] });
  t.equal(complete.message.metadata?.model_slug, 'gpt-5-2');
});

t.test(
  'the 2026-03 team capture keeps only the final-channel reply and its patched metadata',
  async (t) => {
    const { complete, events } = await read(
      chunks(capture('v1-2026-03-hi-team-plan-system-messages.sse')),
    );
    t.equal(complete.text, 'Hi. What do you need help with?');
    t.equal(complete.message.channel, 'final');
    t.equal(complete.message.status, 'finished_successfully');
    t.equal(complete.message.metadata?.token_count, 13);
    t.equal(complete.message.metadata?.can_save, true);
    t.notOk(complete.message.metadata?.finish_details, 'this capture sends no finish_details');
    t.same(
      events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])),
      ['Hi.', ' What do', ' you need help with?'],
    );
    const echoes = events.flatMap((e) => (e.type === 'user_message' ? [e.message.id] : []));
    t.same(
      echoes,
      ['f7c8f879-646f-4eec-a26e-f03e920940b7'],
      'the profile context and developer message are not echoed',
    );
  },
);

t.test('the 2026-04 image capture is an empty reply ending on the tool message', async (t) => {
  const { complete, events } = await read(chunks(capture('v1-2026-04-image-gen-async-polish.sse')));
  t.equal(complete.text, '');
  t.equal(events.filter((e) => e.type === 'delta').length, 0);
  t.equal(complete.message.author.role, 'tool');
  t.equal(complete.title, 'Text Change Request');
});

t.test('the 2024-10 capture takes finish_details from the separate metadata append', async (t) => {
  const { complete } = await read(chunks(capture('v1-2024-10-gpt-4o-chinese-bash-script.sse')));
  t.same(complete.message.metadata?.finish_details, { type: 'stop', stop_tokens: [200002] });
  t.equal(complete.message.metadata?.is_complete, true);
  t.equal(complete.message.end_turn, true);
});

t.test('the 2025-03 capture surfaces its mid-stream ping comment', async (t) => {
  const { events } = await read(chunks(capture('v1-2025-03-gpt-4o-ping-comment.sse')));
  const comments = events.flatMap((e) => (e.type === 'comment' ? [e.text] : []));
  t.same(comments, ['ping - 2025-03-06 19:22:41.128196+00:00']);
});

t.test(
  'the legacy captures report the legacy encoding and the earliest author shape',
  async (t) => {
    const old = await read(chunks(capture('legacy-2023-02-single-event-911-partial.sse')));
    t.equal(old.complete.encoding, 'legacy');
    t.equal(old.complete.message.author.role, 'assistant');
    const truncated = await read(
      chunks(capture('legacy-2024-10-gpt-4o-mini-chinese-truncated-partial.sse')),
    );
    t.equal(truncated.complete.message.status, 'in_progress');
    t.equal(truncated.events.filter((e) => e.type === 'user_message').length, 1);
  },
);
