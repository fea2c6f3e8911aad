/**
 * Parse time of the stream reader on long replies: the orchestrator fetches a reply's raw SSE
 * bytes from the emulator once, then times `collectReply` over those bytes (as they arrived, in
 * network chunks) several times in this quiet process.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { collectReply } from '../packages/core/src/stream/reply-reader.js';
import { median, round } from './lib/stats.js';

export interface ParseRow {
  encoding: 'legacy' | 'v1';
  /** How the emulator cut the text into events. */
  chunking: string;
  kib: number;
  events: number;
  inputBytes: number;
  /** Median time of one `collectReply` over the whole stream. */
  ms: number;
  /** Per byte of stream input. */
  nsPerInputByte: number;
  /** Per byte of reply text. */
  nsPerTextByte: number;
}

/** The raw stream of one reply, chunked as it came off the socket. */
export async function fetchStream(
  upstream: string,
  token: string,
  encoding: 'legacy' | 'v1',
): Promise<Uint8Array[]> {
  const response = await fetch(`${upstream}/conversation`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      action: 'next',
      model: 'auto',
      parent_message_id: randomUUID(),
      messages: [
        {
          id: randomUUID(),
          author: { role: 'user' },
          content: { content_type: 'text', parts: ['Write a long essay.'] },
        },
      ],
      ...(encoding === 'v1' ? { supported_encodings: ['v1'] } : {}),
    }),
  });
  if (response.body === null) throw new Error('no body');
  const chunks: Uint8Array[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return chunks;
}

/** The chunks again, as an async iterable (what `collectReply` reads from a socket). */
function replay(chunks: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]: () => {
      let index = 0;
      return {
        next: () => {
          const value = chunks[index++];
          return Promise.resolve(
            value === undefined ? { done: true, value: undefined } : { done: false, value },
          );
        },
      };
    },
  };
}

/** Warm-up runs before the timed ones (the first runs include compiling the reader). */
const WARMUP_RUNS = 5;

/** Times `collectReply` over `chunks` `runs` times (after warm-up runs) and checks the text. */
export async function timeParse(
  chunks: readonly Uint8Array[],
  expectedChars: number,
  runs: number,
): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < WARMUP_RUNS + runs; run++) {
    const start = performance.now();
    const reply = await collectReply(replay(chunks));
    const elapsed = performance.now() - start;
    if (reply.text.length !== expectedChars) {
      throw new Error(`reply had ${reply.text.length} characters, expected ${expectedChars}`);
    }
    if (run >= WARMUP_RUNS) times.push(elapsed);
  }
  return median(times);
}

/** Counts the SSE events (blank-line separated blocks) of a stream. */
export function countEvents(chunks: readonly Uint8Array[]): { events: number; bytes: number } {
  const text = Buffer.concat(chunks).toString('utf8');
  return {
    events: text.split('\n\n').filter((block) => block.trim() !== '').length,
    bytes: text.length,
  };
}

export function parseRow(
  encoding: 'legacy' | 'v1',
  chunking: string,
  kib: number,
  chunks: readonly Uint8Array[],
  ms: number,
): ParseRow {
  const { events, bytes } = countEvents(chunks);
  return {
    encoding,
    chunking,
    kib,
    events,
    inputBytes: bytes,
    ms: round(ms, 3),
    nsPerInputByte: round((ms * 1e6) / bytes, 2),
    nsPerTextByte: round((ms * 1e6) / (kib * 1024), 1),
  };
}

/** A long `v1` stream of one kind of patch, the pathological cases of issue 10 #17. */
export type PatchKind = 'object merges' | 'citation appends' | 'text appends';

export interface PatchRow {
  kind: PatchKind;
  patches: number;
  inputBytes: number;
  /** Median time of one `collectReply` over the whole stream. */
  ms: number;
  /** Per patch: flat when applying a patch costs the patch, growing when it costs the state. */
  nsPerPatch: number;
}

const PATCH_START =
  'event: delta_encoding\ndata: "v1"\n\n' +
  'data: {"v": {"message": {"id": "m1", "author": {"role": "assistant"}, "content": ' +
  '{"content_type": "text", "parts": [""]}, "status": "in_progress", "metadata": ' +
  '{"citations": []}, "recipient": "all"}, "conversation_id": "c1"}, "c": 0}\n\n';

const PATCH_EVENT: Record<PatchKind, (i: number) => string> = {
  'object merges': (i) => `{"p": "/message/metadata", "o": "append", "v": {"k${i}": ${i}}}`,
  'citation appends': (i) =>
    `{"p": "/message/metadata/citations", "o": "append", "v": [{"start_ix": ${i}}]}`,
  'text appends': () => '{"p": "/message/content/parts/0", "o": "append", "v": "w "}',
};

/** The stream of `patches` patches of one kind, in 16 KiB chunks as a socket would give them. */
export function patchStream(kind: PatchKind, patches: number): Uint8Array[] {
  const lines = [PATCH_START];
  for (let i = 0; i < patches; i++) lines.push(`data: ${PATCH_EVENT[kind](i)}\n\n`);
  lines.push('data: {"p": "/message/content/parts/0", "o": "append", "v": "end"}\n\n');
  lines.push('data: [DONE]\n\n');
  const all = new TextEncoder().encode(lines.join(''));
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < all.length; at += 16_384) chunks.push(all.subarray(at, at + 16_384));
  return chunks;
}

/** Times `collectReply` over streams of 10k, 40k and 100k patches of each kind (linear: flat ns/patch). */
export async function patchLinearity(runs = 3): Promise<PatchRow[]> {
  const rows: PatchRow[] = [];
  for (const kind of Object.keys(PATCH_EVENT) as PatchKind[]) {
    for (const patches of [10_000, 40_000, 100_000]) {
      const chunks = patchStream(kind, patches);
      const times: number[] = [];
      for (let run = 0; run < 1 + runs; run++) {
        const start = performance.now();
        await collectReply(replay(chunks));
        if (run > 0) times.push(performance.now() - start);
      }
      const ms = median(times);
      rows.push({
        kind,
        patches,
        inputBytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0),
        ms: round(ms, 1),
        nsPerPatch: round((ms * 1e6) / patches, 0),
      });
    }
  }
  return rows;
}

// `node --conditions=@chatgpt-rest/source --import tsx bench/parse-time.ts`: the patch rows alone.
if (
  process.argv[1] !== undefined &&
  import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))
) {
  console.table(await patchLinearity());
}
