/**
 * Fault: the parsed-path cache of v1-patch.ts lives as long as the process and kept up to 256
 * paths of any length; a path may be as long as a line (4 MiB), so the upstream could make it
 * hold a gigabyte for good, across streams. Only short paths are cached now; long ones are
 * parsed each time, at the cost of their event.
 */
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { applyV1Operation } from '../src/stream/v1-patch.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after full collections. */
async function heapUsed(): Promise<number> {
  for (let round = 0; round < 3; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

const MiB = 1024 * 1024;

t.test('256 distinct paths of 256 KiB are not held once applied', async (t) => {
  // The paths go through a number, so the state takes none of them.
  const state = { message: 1 };
  const before = await heapUsed();
  for (let i = 0; i < 256; i++) {
    const path = `/message/${String(i).padStart(3, '0')}${'k'.repeat(256 * 1024)}`;
    applyV1Operation(state, { p: path, o: 'replace', v: 1 });
  }
  const grown = (await heapUsed()) - before;
  t.ok(grown < 16 * MiB, `the heap grew ${(grown / MiB).toFixed(1)} MiB (the paths: 64 MiB)`);
  t.same(state, { message: 1 });
});

t.test('a long path is still applied, each time', (t) => {
  const key = 'k'.repeat(1024);
  const state = { message: { metadata: {} } };
  for (let i = 0; i < 3; i++) {
    applyV1Operation(state, { p: `/message/metadata/${key}`, o: 'append', v: 'ab' });
  }
  t.same(state.message.metadata, { [key]: 'ababab' });
  t.end();
});
