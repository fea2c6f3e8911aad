/**
 * Issue 12, tests that bite: autocontinue with the default `autocontinueLimit` (3). The emulator
 * cuts each message at `maxTokens` (3 words here), so a reply of 3·k words needs k - 1 continues.
 * A reply needing 2 or 3 continues comes back whole with `finish_details: stop` after exactly that
 * many `continue` requests; one needing 4 stops at the limit, still cut. Stopping after the first
 * continuation, or one continuation too many or too few, fails here (JSON and streaming).
 */
import t, { type Test } from 'tap';
import { createHandler } from '@chatgpt-rest/core';
import { createBackendEmulator, type BackendEmulator } from '@chatgpt-rest/emulator';
import { allEvents } from '@chatgpt-rest/test-kit';

const WORDS_PER_MESSAGE = 3;

/** A reply of `count` numbered words: `w1 w2 … wN`. */
function words(count: number): string {
  return Array.from({ length: count }, (_, i) => `w${i + 1}`).join(' ');
}

interface Reply {
  message: string;
  finish_details: string | null;
  conversation_id: string;
}

async function setup(t: Test): Promise<{
  emulator: BackendEmulator;
  ask: (wordCount: number, stream: boolean) => Promise<Response>;
}> {
  const emulator = await createBackendEmulator({
    dialect: 'legacy',
    maxTokens: WORDS_PER_MESSAGE,
    // The prompt says how long the reply is.
    reply: (prompt) => words(Number(prompt)),
  });
  t.teardown(() => emulator.close());
  // No autocontinueLimit: the default (3) is what is pinned.
  const handler = createHandler({ upstream: emulator.url, dialect: 'legacy' });
  const ask = (wordCount: number, stream: boolean): Promise<Response> =>
    handler(
      new Request('http://api.local/conversations/new', {
        method: 'POST',
        headers: { authorization: 'Bearer autocontinue-token', 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: String(wordCount), autocontinue: true, stream }),
      }),
    );
  return { emulator, ask };
}

/** The `continue` requests the upstream received since request index `mark`. */
function continuesSince(emulator: BackendEmulator, mark: number): unknown[] {
  return emulator.requests
    .slice(mark)
    .filter((r) => (r.body as { action?: unknown } | undefined)?.action === 'continue');
}

const CASES = [
  { wordCount: 9, continues: 2, finish: 'stop', text: words(9) },
  { wordCount: 12, continues: 3, finish: 'stop', text: words(12) },
  // Needs 4 continues: the default limit allows 3, the reply stays cut after 12 words.
  { wordCount: 15, continues: 3, finish: 'max_tokens', text: words(12) },
] as const;

for (const { wordCount, continues, finish, text } of CASES) {
  t.test(`JSON: a ${wordCount}-word reply takes ${continues} continues, ${finish}`, async (t) => {
    const { emulator, ask } = await setup(t);
    const mark = emulator.requests.length;
    const response = await ask(wordCount, false);
    t.equal(response.status, 201);
    const { response: reply } = (await response.json()) as { response: Reply };
    t.equal(continuesSince(emulator, mark).length, continues, 'continue requests upstream');
    t.equal(reply.finish_details, finish);
    t.equal(reply.message, text, 'the whole text, joined');
  });

  t.test(`stream: a ${wordCount}-word reply takes ${continues} continues, ${finish}`, async (t) => {
    const { emulator, ask } = await setup(t);
    const mark = emulator.requests.length;
    const response = await ask(wordCount, true);
    t.equal(response.status, 200);
    const events = await allEvents(response);
    const deltas = events
      .filter((e) => e.event === 'delta')
      .map((e) => (e.data as { text: string }).text)
      .join('');
    const replies = events.filter((e) => e.event === 'reply');
    t.equal(replies.length, 1, 'one reply event');
    const reply = replies[0]?.data as Reply;
    t.equal(continuesSince(emulator, mark).length, continues, 'continue requests upstream');
    t.equal(reply.finish_details, finish);
    t.equal(reply.message, text, 'the reply holds the whole text');
    t.equal(deltas, text, 'the deltas add up to the whole text');
    t.equal(events.at(-1)?.event, 'done');
  });
}
