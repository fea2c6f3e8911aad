/**
 * Writes a run's files: `bench/results/latest.json`, `docs/benchmarks.md` (formatted as
 * `prettier --check` expects) and `docs/benchmarks-throughput.svg`. Run on its own
 * (`npm run bench:docs`), it renders the docs again from `latest.json` with the current targets
 * and texts, without measuring anything.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { renderChart, renderMarkdown } from './render.js';
import type { BenchResults } from './results.js';
import { checkTargets } from './targets.js';

const LATEST = new URL('results/latest.json', import.meta.url);

export async function writeResults(bench: BenchResults): Promise<void> {
  writeFileSync(LATEST, `${JSON.stringify(bench, null, 2)}\n`);
  await writeDocs(bench);
}

export async function writeDocs(bench: BenchResults): Promise<void> {
  const docsPath = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
  const prettierConfig = (await resolveConfig(docsPath)) ?? {};
  writeFileSync(
    docsPath,
    await format(renderMarkdown(bench), { ...prettierConfig, parser: 'markdown' }),
  );
  writeFileSync(new URL('../docs/benchmarks-throughput.svg', import.meta.url), renderChart(bench));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bench = JSON.parse(readFileSync(LATEST, 'utf8')) as BenchResults;
  bench.checks = checkTargets(bench);
  await writeDocs(bench);
  console.log('rendered docs/benchmarks.md and docs/benchmarks-throughput.svg from latest.json');
}
