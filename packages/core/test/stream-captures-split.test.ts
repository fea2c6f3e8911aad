import { Worker } from 'node:worker_threads';
import t from 'tap';
import { COMPLETE, PARTIAL_WITH_DONE, sha256 } from './stream-captures-expected.js';
import type { SplitReport } from './stream-captures-split-worker.js';
import { fixtureBytes as capture } from '@chatgpt-rest/test-kit';

// About 100 000 full reads (one per byte boundary of every capture) take 25–30 s on a small
// runner, close to the per-file default; the parent is told to allow more for this file.
t.setTimeout(240_000);

/** Runs the every-boundary reads of one capture in a worker (see the worker for why). */
function splitInWorker(file: string): Promise<SplitReport> {
  return new Promise((resolve, reject) => {
    // Tap's loader hooks do not reach a worker, so the worker registers tsx itself before it
    // imports the TypeScript entry.
    const entry = new URL('./stream-captures-split-worker.ts', import.meta.url).href;
    const script = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
    const worker = new Worker(script, { eval: true, workerData: { file } });
    worker.once('message', (report: SplitReport) => resolve(report));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`the worker exited with ${code} before reporting`)),
    );
  });
}

for (const expected of [...COMPLETE, ...PARTIAL_WITH_DONE]) {
  t.test(
    `${expected.file} split at every byte boundary gives the same reply text and titles`,
    async (t) => {
      const report = await splitInWorker(expected.file);
      t.equal(sha256(report.text), expected.sha256, 'the whole capture reads as expected');
      t.same(report.titles, expected.titles, 'the whole capture has the expected titles');
      t.same(report.failures, [], 'no split changes the text, the deltas or the titles');
      t.equal(report.checked, capture(expected.file).length - 1, 'every boundary was read');
    },
  );
}
