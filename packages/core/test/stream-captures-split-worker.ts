/**
 * Worker of stream-captures-split.test.ts: reads one capture split at every byte boundary and
 * reports what differed from the whole read. Tap tracks every promise of a test (for error
 * reporting), which makes these ~100 000 full reads several times slower on the test's own thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { read } from './stream-captures-expected.js';
import { fixtureBytes as capture } from '@chatgpt-rest/test-kit';
import { chunks, splitAt } from './stream-helpers.js';

/** What the worker posts back. */
export interface SplitReport {
  text: string;
  titles: string[];
  checked: number;
  /** Byte offsets whose split changed the text, the deltas or the titles (at most 10). */
  failures: number[];
}

const { file } = workerData as { file: string };
const input = capture(file);
const whole = await read(chunks(input));
const titles = whole.titles.join('\n');
const report: SplitReport = { text: whole.text, titles: whole.titles, checked: 0, failures: [] };
for (let at = 1; at < input.length && report.failures.length < 10; at++) {
  const outcome = await read(splitAt(input, at));
  if (
    outcome.text !== whole.text ||
    outcome.deltas !== whole.text ||
    outcome.titles.join('\n') !== titles
  ) {
    report.failures.push(at);
  }
  report.checked += 1;
}
parentPort?.postMessage(report);
