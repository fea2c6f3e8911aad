/**
 * One decoder of streamed bytes (http/utf8-text.ts) for every reader: upstream reply streams,
 * whole upstream bodies, sniffed error bodies, the lease's conversation-id sniffer and request
 * bodies. Each decodes as `TextDecoder` does: a character split between chunks whole, one leading
 * byte order mark dropped, any view of bytes taken.
 *
 * Fault: the shared decoder of 2026-12-05 turned a chunk that is not bytes into
 * `new Uint8Array(chunk)`: a string read as nothing and a number as that many NUL bytes (an odd
 * injected stream's `1e9` would have allocated a gigabyte). It now throws a TypeError, as
 * `TextDecoder` did.
 */
import t from 'tap';
import { conversationIdSniffer } from '../src/auth/lease.js';
import { readBodyFields } from '../src/http/request-body.js';
import { Utf8Text } from '../src/http/utf8-text.js';
import { readCapped } from '../src/upstream/body-guards.js';
import { readLimited } from '../src/upstream/read-limited.js';

const encode = (text: string) => new TextEncoder().encode(text);

/** A web stream handing over `chunks` as they are, bytes or not. */
function stream(chunks: unknown[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk as Uint8Array);
      controller.close();
    },
  });
}

/** `text` as UTF-8 behind a BOM, cut inside its first multi-byte character, as three chunks. */
function awkwardChunks(text: string): unknown[] {
  const all = encode(`\uFEFF${text}`);
  const cut = all.findIndex((byte, at) => at > 3 && byte >= 0xc0) + 1;
  const middle = all.slice(2, cut);
  return [
    all.slice(0, 2).buffer, // an ArrayBuffer holding part of the mark
    new DataView(middle.buffer), // another view of bytes
    all.subarray(cut),
  ];
}

const JSON_TEXT = '{"title":"Grüße, 世界"}';

t.test('every reader decodes split characters, drops one BOM and takes any bytes', async (t) => {
  const response = () => new Response(stream(awkwardChunks(JSON_TEXT)));
  t.equal(await readCapped(response(), 1024, 1000), JSON_TEXT, 'readCapped');
  t.equal(await readLimited(response()), JSON_TEXT, 'readLimited');
  const request = new Request('http://127.0.0.1/x', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: stream(awkwardChunks(JSON_TEXT)),
    duplex: 'half',
  });
  t.same(await readBodyFields(request, 1024), { title: 'Grüße, 世界' }, 'request bodies');
  let found: string | undefined;
  const sniff = conversationIdSniffer((id) => (found = id));
  const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
  for (const chunk of awkwardChunks(`data: {"é":1,"conversation_id":"${id}"}`)) {
    sniff(chunk as Uint8Array);
  }
  t.equal(found, id, 'the lease sniffer');
});

t.test('a chunk that is not bytes throws a TypeError, never read as a length', async (t) => {
  for (const odd of [5, 'abc', { length: 3 }, null]) {
    t.throws(
      () => new Utf8Text().write(odd as unknown as Uint8Array),
      TypeError,
      JSON.stringify(odd),
    );
  }
  const error = await readCapped(new Response(stream([encode('a'), 1e9])), 1024, 1000).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, TypeError, 'a web stream yielding a number fails the read');
});
