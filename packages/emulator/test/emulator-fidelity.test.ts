import t from 'tap';
import { createBackendEmulator, keyPaths, streamShape, type StreamProfile } from '../src/index.js';
import { call } from './emulator-helpers.js';
import { fixtureText as read, messageBody } from '@chatgpt-rest/test-kit';

/** Complete v1 captures (SOURCES.md) and the profile that reproduces each. */
const CAPTURES: [string, StreamProfile, string][] = [
  ['v1-2026-01-famous-people-10-a.sse', '2026-01', 'give me a list of 10 famous people'],
  ['v1-2026-01-famous-people-10-b.sse', '2026-01', 'give me a list of 10 famous people'],
  [
    'v1-2026-01-famous-people-20.sse',
    '2026-01-titles-in-stream',
    'give me a list of 20 famous people',
  ],
  ['v1-2026-03-hi-team-plan-system-messages.sse', '2026-03-team', 'hi'],
  ['v1-2026-04-image-gen-async-polish.sse', '2026-04-image', 'make the text Polish'],
  ['v1-2025-03-gpt-4o-ping-comment.sse', '2025-03', 'is piracy theft?'],
  ['v1-2024-10-gpt-4o-chinese-bash-script.sse', '2024-10', '写一个 bash 脚本'],
];

t.test('SOURCES.md still lists every capture compared here as complete', (t) => {
  const sources = read('SOURCES.md');
  for (const [file] of CAPTURES) {
    const line = sources.split('\n').find((l) => l.includes(`\`${file}\``));
    t.match(line, /complete/, file);
    t.notMatch(line, /— partial/, file);
  }
  t.end();
});

for (const [file, profile, prompt] of CAPTURES) {
  t.test(`the ${profile} stream has the event kinds and field names of ${file}`, async (t) => {
    const emulator = await createBackendEmulator({ streamProfile: profile, replyWords: 60 });
    t.teardown(() => emulator.close());
    const reply = await call(emulator.url, 'POST', '/conversation', {
      body: messageBody(prompt, {
        supported_encodings: ['v1'],
        parent_message_id: 'client-created-root',
      }),
    });
    t.equal(reply.status, 200);
    const expected = streamShape(read(file));
    const actual = streamShape(reply.text);
    t.same(
      actual.map((s) => s.kind),
      expected.map((s) => s.kind),
      'same kinds in the same order',
    );
    expected.forEach((step, index) => {
      t.same(actual[index]?.fields, step.fields, `fields of step ${index} (${step.kind})`);
    });
  });
}

t.test('legacy events have the field names of the legacy captures', async (t) => {
  const emulator = await createBackendEmulator({ streamProfile: '2024-10' });
  t.teardown(() => emulator.close());
  const reply = await call(emulator.url, 'POST', '/conversation', { body: messageBody('你好') });
  // The capture is cut before the message finished: leave our finished snapshot out.
  const blocks = reply.text.split('\n\n');
  const actual = streamShape(blocks.filter((_, i) => i !== blocks.length - 3).join('\n\n'));
  const expected = streamShape(read('legacy-2024-10-gpt-4o-mini-chinese-truncated-partial.sse'));
  // The capture is cut before the end: compare its steps with the same steps of ours.
  t.same(
    actual.slice(0, 3).map((s) => s.kind),
    expected.slice(0, 3).map((s) => s.kind),
  );
  expected.slice(0, 3).forEach((step, index) => {
    t.same(actual[index]?.fields, step.fields, `fields of ${step.kind}`);
  });
  // Our final event holds every field of the 2023 final events (a superset: newer fields too).
  const final = JSON.parse(
    reply.text
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .at(-1)!
      .slice(6),
  );
  const ours = new Set(keyPaths(final));
  for (const name of [
    'conversation-post-2023-04-final-sse-event-a-partial.json',
    'conversation-post-2023-04-final-sse-event-b-partial.json',
  ]) {
    const missing = keyPaths(JSON.parse(read(name))).filter((p) => !ours.has(p));
    t.same(missing, [], name);
  }
  const selected = JSON.parse(
    read('conversation-post-2023-12-selected-sse-events-partial.json'),
  ) as unknown[];
  const missing = keyPaths(selected[2]).filter((p) => !ours.has(p));
  t.same(missing, [], '2023-12 finished snapshot');
  // The moderation event has the fields of the 2023-12 one.
  const moderated = await call(emulator.url, 'POST', '/conversation', {
    body: messageBody('x'),
    headers: { 'x-emulator-fault': '{"type":"moderation","flagged":false}' },
  });
  const moderation = JSON.parse(
    moderated.text
      .split('\n')
      .find((l) => l.includes('"moderation_response"'))!
      .slice(6),
  );
  t.same(
    keyPaths(selected[3]).filter((p) => !keyPaths(moderation).includes(p)),
    [],
    'moderation event',
  );
});

t.test('GET bodies have the field names of the detail and list captures', async (t) => {
  const emulator = await createBackendEmulator();
  t.teardown(() => emulator.close());
  const sent = await call(emulator.url, 'POST', '/conversation', { body: messageBody('你是谁?') });
  const conversationId = /"conversation_id": "([^"]+)"/.exec(sent.text)![1];
  const detail = (await call(emulator.url, 'GET', `/conversation/${conversationId}`)).json;
  const normalise = (paths: string[], mapping: Record<string, unknown>) => {
    const ids = Object.keys(mapping);
    return new Set(
      paths.map((p) => {
        let out = p;
        for (const id of ids) out = out.split(id).join('<id>');
        return out;
      }),
    );
  };
  const ours = normalise(keyPaths(detail), detail.mapping);
  for (const name of [
    'conversation-2023-12-detail-new-chat-one-turn.json',
    'conversation-2023-04-detail-whoami-one-turn.json',
    'conversation-2023-04-detail-intro-after-create.json',
  ]) {
    const fixture = JSON.parse(read(name));
    const theirs = normalise(keyPaths(fixture), fixture.mapping);
    t.same(
      [...theirs].filter((p) => !ours.has(p)),
      [],
      name,
    );
  }
  const list = (await call(emulator.url, 'GET', '/conversations?offset=0&limit=28&order=updated'))
    .json;
  const listPaths = new Set(keyPaths(list));
  for (const name of [
    'conversations-2023-12-list-5-items.json',
    'conversations-2023-04-list-2-items.json',
  ]) {
    t.same(
      keyPaths(JSON.parse(read(name))).filter((p) => !listPaths.has(p)),
      [],
      name,
    );
  }
});
