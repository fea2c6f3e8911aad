/**
 * Issue 10 items 18 and 19 on every mount: a 401 sent as the bare body of a 200 event stream is
 * the 401 it is (`token_expired`), and an upstream that rewrites text it already streamed gives
 * a `rewrite` event, after which the client's text, the reply and `/messages` agree.
 */
import t from 'tap';
import { allEvents, type SseEvent as ClientEvent } from '@chatgpt-rest/test-kit';
import { MOUNTS, guardProcess, startOnEmulator } from './harness.js';

const SEND = /\/conversation$/;

/** The text a client shows: deltas appended, a rewrite replacing everything so far. */
function clientText(events: ClientEvent[]): string {
  let text = '';
  for (const event of events) {
    const data = event.data as { text?: string };
    if (event.event === 'delta') text += data.text ?? '';
    if (event.event === 'rewrite') text = data.text ?? '';
  }
  return text;
}

for (const mount of MOUNTS) {
  for (const dialect of ['legacy', 'web'] as const) {
    t.test(`${mount.name} (${dialect}): stream faults`, async (t) => {
      const guard = guardProcess(t);
      const { app, emulator } = await startOnEmulator(t, mount, {
        dialect,
        emulator: { replyWords: 30 },
      });
      const headers = {
        authorization: 'Bearer stream-faults-token',
        'content-type': 'application/json',
      };
      const post = (stream: boolean) =>
        fetch(`${app.url}/conversations/new`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ prompt: 'tell me a story', stream }),
        });

      emulator.inject({
        match: { method: 'POST', path: SEND },
        fault: { type: 'unauthorized_in_stream', format: 'raw' },
      });
      const plain = await post(false);
      t.equal(plain.status, 401, 'a bare 401 body in a 200 stream is a 401');
      t.equal(((await plain.json()) as { code: string }).code, 'token_expired');
      emulator.inject({
        match: { method: 'POST', path: SEND },
        fault: { type: 'unauthorized_in_stream', format: 'raw' },
      });
      const streamed = await post(true);
      const text = await streamed.text();
      t.match(text, /token_expired/, 'streaming: the error names token_expired');
      t.notMatch(text, /ended before/, 'not reported as a cut stream');

      emulator.inject({
        match: { method: 'POST', path: SEND },
        fault: { type: 'rewrite_text', afterEvents: 3, cut: 4 },
      });
      const events = await allEvents(await post(true));
      const reply = events.find((e) => e.event === 'reply')?.data as {
        message: string;
        conversation_id: string;
      };
      t.ok(
        events.some((e) => e.event === 'rewrite'),
        'a rewrite event was streamed',
      );
      t.equal(clientText(events), reply.message, 'deltas and rewrites give the reply');
      const messages = (await (
        await fetch(`${app.url}/conversations/${reply.conversation_id}/messages`, { headers })
      ).json()) as { message: string }[];
      t.equal(messages.at(-1)?.message, reply.message, '/messages shows the same text');
      t.same(guard.escaped, []);
    });
  }
}
