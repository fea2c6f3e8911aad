/** Helpers shared by the stream-*.test.ts files: byte sources cut at chosen places. */

const encoder = new TextEncoder();

/** The bytes of a string, or the bytes themselves. */
export function bytes(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? encoder.encode(input) : input;
}

/** An async iterable that yields each part as one chunk. */
export async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await Promise.resolve();
    yield bytes(part);
  }
}

/** The input cut into two chunks at byte `at`. */
export function splitAt(input: Uint8Array, at: number): AsyncGenerator<Uint8Array> {
  return chunks(input.subarray(0, at), input.subarray(at));
}

/** The input as one chunk per byte. */
export function byteByByte(input: string | Uint8Array): AsyncGenerator<Uint8Array> {
  const all = bytes(input);
  return chunks(...Array.from({ length: all.length }, (_, i) => all.subarray(i, i + 1)));
}

/** A web ReadableStream of the parts; `onCancel` sees a cancel from the reader. */
export function webStream(
  parts: (string | Uint8Array)[],
  onCancel?: (reason: unknown) => void,
): ReadableStream<Uint8Array> {
  const queue = parts.map(bytes);
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
    cancel(reason) {
      onCancel?.(reason);
    },
  });
}

/** Everything an async iterable yields. */
export async function drain<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}
