import t from 'tap';
import { RestError } from '../src/errors.js';
import { DEFAULT_MAX_BUFFER_SIZE, readSse, type SseItem } from '../src/stream/sse-reader.js';
import { byteByByte, bytes, chunks, drain, webStream } from './stream-helpers.js';

const STREAM =
  'event: delta\ndata: {"v": "a"}\n\n: ping - 2025-03-06\n\ndata: one\ndata: two\n\nid: 7\ndata: [DONE]\n\n';

const EXPECTED: SseItem[] = [
  { type: 'message', event: 'delta', id: undefined, data: '{"v": "a"}' },
  { type: 'comment', text: 'ping - 2025-03-06' },
  { type: 'message', event: undefined, id: undefined, data: 'one\ntwo' },
  { type: 'message', event: undefined, id: '7', data: '[DONE]' },
  { type: 'end' },
];

t.test('events, comments and multi-line data come out in order, then the end', async (t) => {
  t.same(await drain(readSse(chunks(STREAM))), EXPECTED);
});

t.test('LF, CRLF and CR line endings give the same events', async (t) => {
  t.same(await drain(readSse(chunks(STREAM.replaceAll('\n', '\r\n')))), EXPECTED);
  t.same(await drain(readSse(chunks(STREAM.replaceAll('\n', '\r')))), EXPECTED);
});

t.test(
  'the stream split at every character gives the same events, for every line ending',
  async (t) => {
    for (const ending of ['\n', '\r\n', '\r']) {
      const text = STREAM.replaceAll('\n', ending);
      for (let at = 0; at <= text.length; at++) {
        const items = await drain(readSse(chunks(text.slice(0, at), text.slice(at))));
        if (JSON.stringify(items) !== JSON.stringify(EXPECTED)) {
          t.fail(`split at ${at} with ${JSON.stringify(ending)} changed the events`);
          return;
        }
      }
      t.same(
        await drain(readSse(byteByByte(text))),
        EXPECTED,
        `byte by byte, ${JSON.stringify(ending)}`,
      );
    }
  },
);

t.test(
  'a CR at the end of one chunk and its LF at the start of the next are one line ending',
  async (t) => {
    const items = await drain(readSse(chunks('data: a\r', '\n\r', '\ndata: b\r\n\r\n')));
    t.same(
      items.filter((item) => item.type === 'message').map((item) => item.data),
      ['a', 'b'],
    );
  },
);

t.test('a multi-byte character split between chunks is decoded whole', async (t) => {
  const text = 'data: {"v": "€ 😀 好"}\n\n';
  const all = bytes(text);
  for (let at = 0; at <= all.length; at++) {
    const [first] = await drain(readSse(chunks(all.subarray(0, at), all.subarray(at))));
    if (first?.type !== 'message' || first.data !== '{"v": "€ 😀 好"}') {
      t.fail(`split at byte ${at} broke the text`);
      return;
    }
  }
  t.pass('every split keeps the characters');
});

t.test(
  'a last event without its blank line, or without any newline, is still delivered',
  async (t) => {
    for (const tail of ['data: [DONE]', 'data: [DONE]\n', 'data: [DONE]\r', 'data: [DONE]\r\n']) {
      const items = await drain(readSse(chunks('data: x\n\n', tail)));
      t.same(
        items.at(-2),
        { type: 'message', event: undefined, id: undefined, data: '[DONE]' },
        JSON.stringify(tail),
      );
      t.same(items.at(-1), { type: 'end' });
    }
  },
);

t.test('an empty stream yields only the end', async (t) => {
  t.same(await drain(readSse(chunks())), [{ type: 'end' }]);
});

t.test('a byte order mark and unknown field lines are ignored', async (t) => {
  const items = await drain(readSse(chunks('\uFEFFdata: a\n2023-02-21 07:00:21\nretry: soon\n\n')));
  t.same(items, [{ type: 'message', event: undefined, id: undefined, data: 'a' }, { type: 'end' }]);
});

t.test(
  'a byte order mark split between chunks is dropped once, and only at the start',
  async (t) => {
    const all = bytes('\uFEFFdata: \uFEFFa\n\n');
    for (const at of [1, 2]) {
      const items = await drain(readSse(chunks(all.subarray(0, at), all.subarray(at))));
      t.same(items[0], { type: 'message', event: undefined, id: undefined, data: '\uFEFFa' });
    }
  },
);

t.test('a byte order mark is dropped from the first text only, not from each chunk', async (t) => {
  const items = await drain(readSse(chunks('\uFEFF', '\uFEFFdata: a\n\n')));
  t.same(items, [{ type: 'end' }], 'the second mark makes an unknown field, as the standard says');
});

t.test('bad UTF-8 decodes as the web decoder does, split at every byte', async (t) => {
  const cases = [
    [0x61, 0xff, 0x62], // a byte that never starts a character
    [0x61, 0xe2, 0x82, 0x62], // a character cut short in the middle
    [0x61, 0xf0, 0x80, 0x41], // a lead byte with a continuation it does not take
    [0x61, 0xed, 0xa0, 0x80, 0x62], // a UTF-16 surrogate encoded as UTF-8
    [0x61, 0xe2, 0x82], // a character cut short by the end of the stream
  ];
  for (const text of cases) {
    const all = Uint8Array.from([...bytes('data: '), ...text]);
    const expected = new TextDecoder().decode(all.subarray(6));
    for (let at = 0; at <= all.length; at++) {
      const [first] = await drain(readSse(chunks(all.subarray(0, at), all.subarray(at))));
      if (first?.type !== 'message' || first.data !== expected) {
        t.fail(`${JSON.stringify(text)} split at byte ${at}: ${JSON.stringify(first)}`);
        return;
      }
    }
  }
  t.pass('every case at every split matches TextDecoder over the whole input');
});

t.test('a web stream that hands over ArrayBuffers is read like one of Uint8Arrays', async (t) => {
  const buffer = bytes('data: a\n\n').slice().buffer;
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(buffer);
      controller.close();
    },
  }) as unknown as ReadableStream<Uint8Array>;
  const [first] = await drain(readSse(body));
  t.same(first, { type: 'message', event: undefined, id: undefined, data: 'a' });
});

t.test('a line longer than maxBufferSize fails with upstream_error', async (t) => {
  const long = `data: ${'x'.repeat(200)}`;
  const error = await drain(
    readSse(chunks(long.slice(0, 100), long.slice(100)), { maxBufferSize: 64 }),
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof RestError);
  t.equal((error as RestError).code, 'upstream_error');
  t.match((error as RestError).message, /longer than the limit of 64 characters/);
});

t.test('lines under maxBufferSize pass, and the default limit is 4 MiB', async (t) => {
  t.equal(DEFAULT_MAX_BUFFER_SIZE, 4 * 1024 * 1024);
  const items = await drain(readSse(chunks(`data: ${'x'.repeat(50)}\n\n`), { maxBufferSize: 64 }));
  t.equal(items.length, 2);
  const big = await drain(readSse(chunks(`data: ${'y'.repeat(1_000_000)}\n\n`)));
  t.equal(big.length, 2);
});

t.test('a web ReadableStream is read to its end', async (t) => {
  const items = await drain(readSse(webStream(['data: a\n', '\ndata: b\n\n'])));
  t.same(
    items.map((item) => item.type),
    ['message', 'message', 'end'],
  );
});

t.test('a consumer that stops early cancels the web stream', async (t) => {
  let cancelled = false;
  const body = webStream(['data: a\n\n', 'data: b\n\n', 'data: c\n\n'], () => {
    cancelled = true;
  });
  for await (const item of readSse(body)) {
    t.equal(item.type, 'message');
    break;
  }
  t.ok(cancelled);
  t.notOk(body.locked, 'the lock is released');
});

t.test('an already aborted signal stops the read before it starts', async (t) => {
  const controller = new AbortController();
  controller.abort(new Error('client went away'));
  await t.rejects(drain(readSse(chunks('data: a\n\n'), { signal: controller.signal })), {
    message: 'client went away',
  });
});

t.test(
  'an abort while waiting for a chunk cancels the web stream and throws the reason',
  async (t) => {
    const controller = new AbortController();
    let cancelReason: unknown;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes('data: a\n\n'));
      },
      cancel(reason) {
        cancelReason = reason;
      },
    });
    const seen: SseItem[] = [];
    const reading = (async () => {
      for await (const item of readSse(body, { signal: controller.signal })) {
        seen.push(item);
        controller.abort(new Error('stop'));
      }
    })();
    await t.rejects(reading, { message: 'stop' });
    t.equal(seen.length, 1);
    t.match(cancelReason, { message: 'stop' });
  },
);

t.test('an abort between chunks of an async iterable stops the read', async (t) => {
  const controller = new AbortController();
  async function* source(): AsyncGenerator<Uint8Array> {
    await Promise.resolve();
    yield bytes('data: a\n\n');
    controller.abort(new Error('gone'));
    yield bytes('data: b\n\n');
  }
  await t.rejects(drain(readSse(source(), { signal: controller.signal })), { message: 'gone' });
});

t.test(
  'a source broken off by an abort fails the read with the abort, not the break',
  async (t) => {
    // The transport destroys the upstream request when the client leaves: the chunks then fail
    // with a broken connection, which must read as the client's leaving.
    const controller = new AbortController();
    async function* source(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield bytes('data: a\n\n');
      controller.abort(new Error('client left'));
      throw new Error('connection broke');
    }
    await t.rejects(drain(readSse(source(), { signal: controller.signal })), {
      message: 'client left',
    });
    await t.rejects(drain(readSse(source())), { message: 'connection broke' }, 'no signal: as is');
  },
);

t.test('a body the signal stopped before its first read is cancelled, not left open', async (t) => {
  // An unread upstream body holds its connection and a server-held token's message lease.
  const reason = new Error('gone');
  const controller = new AbortController();
  controller.abort(reason);
  let webCancelled: unknown;
  const web = new ReadableStream<Uint8Array>({
    cancel(why) {
      webCancelled = why;
    },
  });
  let chunksCancelled: unknown;
  const transport = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => Promise.resolve({ done: true as const, value: undefined }),
    cancel(why: unknown) {
      chunksCancelled = why;
    },
  };
  for (const body of [web, transport]) {
    const error = await drain(readSse(body, { signal: controller.signal })).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.equal(error, reason, 'the read throws the reason');
  }
  t.equal(webCancelled, reason, 'the web stream was cancelled with it');
  t.equal(chunksCancelled, reason, "the transport's chunks were cancelled with it");
});
