/**
 * Fault: long `v1` streams of object merges or array appends. Applying a patch used to copy the
 * container it changed, so the cost grew with what was accumulated: 4,000 merges took 5 s and
 * 20,000 took 211 s. Now each patch costs its own size. Speed belongs in benchmarks, so these
 * bounds are deliberately generous: 100,000 patches take well under a second linearly and hours
 * quadratically, and the read gives up at the deadline instead of hanging.
 */
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { collectReply } from '../../packages/core/src/stream/reply-reader.js';

const PATCHES = 100_000;
/** Far above the linear time (about 0.5 s) and far below the quadratic one (hours). */
const DEADLINE_MS = 20_000;

const START =
  'event: delta_encoding\ndata: "v1"\n\n' +
  'data: {"v": {"message": {"id": "m1", "author": {"role": "assistant"}, "content": ' +
  '{"content_type": "text", "parts": [""]}, "status": "in_progress", "metadata": ' +
  '{"citations": []}, "recipient": "all"}, "conversation_id": "c1"}, "c": 0}\n\n';

const PATCH: Record<string, (i: number) => string> = {
  'object merges': (i) => `{"p": "/message/metadata", "o": "append", "v": {"k${i}": ${i}}}`,
  'citation appends': (i) =>
    `{"p": "/message/metadata/citations", "o": "append", "v": [{"start_ix": ${i}}]}`,
  'mixed patch lists': (i) =>
    `{"o": "patch", "v": [{"p": "/message/content/parts/0", "o": "append", "v": "w "}, ` +
    `{"p": "/message/metadata", "o": "append", "v": {"k${i}": ${i}}}]}`,
};

/** The stream in 64 KiB chunks; it throws once the deadline has passed, so a slow read ends. */
async function* stream(patch: (i: number) => string, deadline: number): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  let text = START;
  for (let i = 0; i < PATCHES; i++) {
    text += `data: ${patch(i)}\n\n`;
    if (text.length >= 65_536) {
      if (performance.now() > deadline) throw new Error(`not done in ${DEADLINE_MS} ms`);
      await Promise.resolve();
      yield encoder.encode(text);
      text = '';
    }
  }
  yield encoder.encode(
    `${text}data: {"p": "/message/content/parts/0", "o": "append", "v": "end"}\n\ndata: [DONE]\n\n`,
  );
}

for (const [name, patch] of Object.entries(PATCH)) {
  t.test(`${PATCHES} ${name} are read in linear time`, async (t) => {
    const started = performance.now();
    const reply = await collectReply(stream(patch, started + DEADLINE_MS));
    const ms = performance.now() - started;
    t.ok(ms < DEADLINE_MS, `read in ${ms.toFixed(0)} ms`);
    const metadata = reply.message.metadata as Record<string, unknown>;
    if (name === 'citation appends') t.equal((metadata.citations as unknown[]).length, PATCHES);
    else t.equal(metadata[`k${PATCHES - 1}`], PATCHES - 1);
    t.ok(reply.text.endsWith('end'));
    if (name === 'mixed patch lists') t.equal(reply.text.length, 2 * PATCHES + 3);
  });
}

/**
 * Fault: an insert (`add` at an index) or a removal moves every item after it, and each was
 * charged only its few characters of data: 2 million inserts at index 0 fit the reply's budget
 * and would have held the event loop for minutes (80,000 took 0.9 s, 160,000 4.6 s). Now a
 * stream's inserts and removals may move MAX_V1_SHIFTED items in all, then it fails.
 */
for (const [name, patch] of Object.entries({
  'inserts at the front of an array': (i: number) =>
    `{"p": "/message/metadata/citations/0", "o": "add", "v": ${i}}`,
  'removals from the front of an array': (i: number) =>
    i < PATCHES / 2
      ? `{"p": "/message/metadata/citations/-", "o": "add", "v": ${i}}`
      : `{"p": "/message/metadata/citations/0", "o": "remove"}`,
})) {
  t.test(`${name} fail the stream once they moved too many items`, async (t) => {
    const started = performance.now();
    const error = await collectReply(stream(patch, started + DEADLINE_MS)).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.match(error, { code: 'upstream_error', message: /array inserts and removals/ });
    t.ok(performance.now() - started < DEADLINE_MS, 'stopped, not left to the deadline');
  });
}
