import t from 'tap';
import fc from 'fast-check';
import { LegacySnapshots } from '../src/stream/legacy-snapshots.js';
import { collectReply } from '../src/stream/reply-reader.js';
import { fixtureText } from '@chatgpt-rest/test-kit';
import { chunks } from './stream-helpers.js';

type Json = Record<string, unknown>;

function snapshot(text: string, status = 'in_progress', extra: Json = {}): Json {
  return {
    message: {
      id: 'm-1',
      author: { role: 'assistant', name: null, metadata: {} },
      content: { content_type: 'text', parts: [text] },
      status,
      metadata: { model_slug: 'gpt-4o', ...extra },
      recipient: 'all',
    },
    conversation_id: 'c-1',
    error: null,
  };
}

/** Python's `json.dumps` as the backend sends it: `", "` and `": "` separators, non-ASCII escaped. */
function pythonJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(
      /("(?:[^"\\]|\\.)*")|([,:])/g,
      (match, literal: string | undefined, sep: string) => literal ?? `${sep} `,
    );
}

function message(value: unknown): Json {
  return (value as { message: Json }).message;
}

t.test('a growing text reuses the previous parse and equals JSON.parse', (t) => {
  const snapshots = new LegacySnapshots();
  const texts = ['', 'He', 'He said "hi"', 'He said "hi"\n\\ done', 'He said "hi"\n\\ done 😀'];
  let previous: unknown;
  for (const encode of [JSON.stringify, pythonJson]) {
    for (const text of texts) {
      const raw = encode(snapshot(text));
      const value = snapshots.parse(raw);
      t.same(value, JSON.parse(raw), `${encode.name}: ${JSON.stringify(text)}`);
      if (previous !== undefined && text !== '') {
        // Shared, not re-parsed: what did not change is the previous event's own object.
        t.equal(message(value).metadata, message(previous).metadata, 'the metadata is reused');
        t.not(message(value), message(previous), 'the message is a new object');
      }
      previous = value;
    }
    previous = undefined;
  }
  t.end();
});

t.test('anything but an appended text is parsed in full', (t) => {
  const snapshots = new LegacySnapshots();
  const first = snapshots.parse(JSON.stringify(snapshot('Hello')));
  const cases: [string, string][] = [
    ['the status changes', JSON.stringify(snapshot('Hello world', 'finished_successfully'))],
    ['the text is cut', JSON.stringify(snapshot('Hell'))],
    ['the text is rewritten', JSON.stringify(snapshot('Jello world'))],
    ['metadata grows', JSON.stringify(snapshot('Hello', 'in_progress', { a: 1 }))],
  ];
  for (const [name, raw] of cases) {
    const value = snapshots.parse(raw);
    t.same(value, JSON.parse(raw), name);
    t.not(message(value).metadata, message(first).metadata, `${name}: parsed anew`);
  }
  t.end();
});

t.test('an insertion that would end the text literal is parsed in full', (t) => {
  const snapshots = new LegacySnapshots();
  snapshots.parse('{"message": {"content": {"parts": ["ab"]}, "x": 1}}');
  // `ab` + `", "c` would close the literal and open another part.
  const raw = '{"message": {"content": {"parts": ["ab", "c"]}, "x": 1}}';
  t.same(snapshots.parse(raw), JSON.parse(raw));
  t.throws(() => snapshots.parse('{"message": {"content": {"parts": ["ab\\"]}, "x": 1}}'));
  t.end();
});

t.test('a second "parts" key makes the literal ambiguous: no shortcut', (t) => {
  const snapshots = new LegacySnapshots();
  const one = snapshot('Hi', 'in_progress', { parts: ['Hi'] });
  const first = snapshots.parse(JSON.stringify(one));
  const raw = JSON.stringify(snapshot('Hi there', 'in_progress', { parts: ['Hi'] }));
  const value = snapshots.parse(raw);
  t.same(value, JSON.parse(raw));
  t.not(message(value).author, message(first).author, 'parsed anew');
  t.end();
});

t.test('property: any sequence of events parses as JSON.parse does', (t) => {
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const step = fc.record({
    append: text,
    cut: fc.boolean(),
    status: fc.constantFrom('in_progress', 'in_progress', 'finished_successfully'),
    python: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
      const snapshots = new LegacySnapshots();
      let current = '';
      for (const { append, cut, status, python } of steps) {
        current = cut ? current.slice(0, Math.floor(current.length / 2)) : current + append;
        const raw = (python ? pythonJson : JSON.stringify)(snapshot(current, status));
        const value = snapshots.parse(raw);
        if (JSON.stringify(value) !== JSON.stringify(JSON.parse(raw))) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass('300 random sequences');
  t.end();
});

t.test('a legacy reply read through the shortcut keeps its text and message', async (t) => {
  const words = Array.from({ length: 200 }, (_, i) => `w${i} "q" \\ é`);
  let text = '';
  let body = '';
  for (const word of words) {
    text += `${word} `;
    body += `data: ${pythonJson(snapshot(text))}\n\n`;
  }
  body += `data: ${pythonJson(snapshot(text, 'finished_successfully'))}\n\ndata: [DONE]\n\n`;
  // Cut every 97 characters: events arrive split across network chunks.
  const reply = await collectReply(chunks(...(body.match(/[\s\S]{1,97}/g) ?? [])));
  t.equal(reply.text, text);
  t.equal(reply.message.status, 'finished_successfully');
  t.same(reply.message.metadata, { model_slug: 'gpt-4o' });
  t.end();
});

t.test('the shortcut applies to a real legacy capture (Python escapes, padded events)', (t) => {
  const events = fixtureText('legacy-2024-10-gpt-4o-mini-chinese-truncated-partial.sse')
    .split('\n')
    .map((line) => line.replace(/^data: /, '').trim())
    .filter((line) => line.startsWith('{'));
  const snapshots = new LegacySnapshots();
  let reused = 0;
  let previous: unknown;
  for (const raw of events) {
    const value = snapshots.parse(raw);
    t.same(value, JSON.parse(raw));
    if (previous !== undefined && message(value).metadata === message(previous).metadata) reused++;
    previous = value;
  }
  // 44 events: the system and user messages, the assistant's first, its finish: parsed in full.
  t.ok(reused >= events.length - 4, `${reused} of ${events.length} events reused the parse`);
  t.end();
});
